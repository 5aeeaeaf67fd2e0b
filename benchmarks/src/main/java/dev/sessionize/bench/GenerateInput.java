package dev.sessionize.bench;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/**
 * Writes the benchmark input once: {@link ClickstreamGenerator}'s stream (fixed seed, sessions of
 * about 9 events on average, 1% duplicates, 0.1% malformed records) as JSON lines in {@code
 * --shards} files {@code part-NNNNN.jsonl} of {@code --output}, records dealt round-robin so each
 * file keeps delivery order. The stream is built in memory, so the suite generates a big input in a
 * JVM of its own (this main) and a small one in the suite's JVM ({@link #write}); it reports the
 * cost apart from the runners'.
 *
 * <pre>--events=N --users=N --seed=N --shards=N --output=DIR</pre>
 */
public final class GenerateInput {
  private GenerateInput() {}

  /** GenerateInput's command line. */
  public interface Options extends PipelineOptions {
    @Description("Number of events.")
    @Validation.Required
    Integer getEvents();

    void setEvents(Integer value);

    @Description("Number of users.")
    @Validation.Required
    Integer getUsers();

    void setUsers(Integer value);

    @Description("Seed of the generator.")
    @Default.Long(42)
    long getSeed();

    void setSeed(long value);

    @Description("Number of files.")
    @Default.Integer(4)
    int getShards();

    void setShards(int value);

    @Description("Folder the files go to.")
    @Validation.Required
    String getOutput();

    void setOutput(String value);
  }

  public static void main(String[] args) throws IOException {
    Options a = BenchOptions.parseOrExit("bench generate", args, Options.class);
    String summary =
        write(a.getEvents(), a.getUsers(), a.getSeed(), a.getShards(), Path.of(a.getOutput()));
    System.out.println(summary);
    System.exit(0);
  }

  /** Writes the input into {@code dir}; returns a line saying what was written. */
  static String write(int events, int users, long seed, int shards, Path dir) throws IOException {
    List<ClickstreamGenerator.Record> records =
        new ClickstreamGenerator()
            .seed(seed)
            .events(events)
            .users(users)
            .duplicateRate(0.01)
            .malformedRate(0.001)
            .generate();
    Files.createDirectories(dir);
    OutputStream[] out = new OutputStream[shards];
    for (int s = 0; s < shards; s++) {
      out[s] =
          new BufferedOutputStream(
              Files.newOutputStream(dir.resolve(String.format("part-%05d.jsonl", s))), 1 << 16);
    }
    long bytes = 0;
    for (int i = 0; i < records.size(); i++) {
      byte[] payload = records.get(i).payload;
      out[i % shards].write(payload);
      out[i % shards].write('\n');
      bytes += payload.length + 1;
    }
    for (OutputStream o : out) {
      o.close();
    }
    // Written last: its presence says the input is complete.
    Files.writeString(
        dir.resolve("DONE"),
        "records=" + records.size() + "\nbytes=" + bytes + "\nevents=" + events + "\n");
    return "generated " + records.size() + " records (" + bytes + " bytes) in " + dir;
  }
}
