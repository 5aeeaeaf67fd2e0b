package dev.sessionize.bench;

import dev.sessionize.bench.nativejob.NativeSessionJob;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The native Flink yardstick ({@link NativeSessionJob}) in this JVM, measured as a {@link BenchRun}
 * row is (the same CPU, RSS and heap accounting, the same result properties): an embedded Flink
 * 1.19 cluster, as the FlinkRunner's {@code [local]} master starts, with the same managed memory
 * (40 % of the free heap, as Beam's FlinkRunner sets it) so RocksDB gets what it gets under Beam.
 *
 * <pre>
 * --input=FILEPATTERN --result=FILE [--parallelism=N] [--streaming=true|false]
 * [--checkpointing=MILLIS] [--stateBackend=heap|rocksdb] [--work=DIR] [--dashboard=true|false]
 * [--flink.KEY=VALUE ...]   (Flink configuration, e.g. --flink.state.backend.incremental=true)
 * </pre>
 */
public final class NativeRun {
  private NativeRun() {}

  /** NativeRun's command line. */
  public interface Options extends BenchOptions.RunOptions, StreamingOptions {
    @Description("Also compute the dashboard's per-minute aggregates: true or false.")
    @Default.Boolean(true)
    boolean getDashboard();

    void setDashboard(boolean value);
  }

  public static void main(String[] args) throws Exception {
    ProcStats stats = ProcStats.start();
    long cpuAtStart = ProcStats.cpuNanos();
    Options a = BenchOptions.parseOrExit("bench native", args, Options.class);
    int parallelism = BenchOptions.parallelism(a);
    // Beam's StreamingOptions declare --streaming with false by default; the native job's is true.
    boolean streaming = streaming(a, args);
    long checkpointing = a.getCheckpointing();
    String backend = BenchOptions.stateBackend(a);
    boolean dashboard = a.getDashboard();
    Path work = Path.of(BenchOptions.orElse(a.getWork(), "target/bench-work")).toAbsolutePath();
    Files.createDirectories(work);
    List<String> files = match(a.getInput());
    InputProgress.expect(streaming ? files.size() : Integer.MAX_VALUE);

    Configuration conf = new Configuration();
    Map<String, String> flinkConf = BenchOptions.flinkConf(args);
    flinkConf.forEach(conf::setString);
    if (!conf.containsKey(TaskManagerOptions.MANAGED_MEMORY_SIZE.key())) {
      // What FlinkExecutionEnvironments does for [local]: RocksDB lives in managed memory.
      long managed =
          (long)
              (EnvironmentInformation.getSizeOfFreeHeapMemoryWithDefrag()
                  * conf.get(TaskManagerOptions.MANAGED_MEMORY_FRACTION));
      conf.setString(TaskManagerOptions.MANAGED_MEMORY_SIZE.key(), String.valueOf(managed));
    }
    conf.setString("pipeline.generic-types", "false"); // no Kryo anywhere, or the job fails
    if (streaming) {
      conf.setString("state.backend.type", "rocksdb".equals(backend) ? "rocksdb" : "hashmap");
      conf.setString(
          "state.checkpoints.dir", work.resolve("native-checkpoints").toUri().toString());
      if (checkpointing > 0) {
        conf.setString("execution.checkpointing.interval", checkpointing + " ms");
      }
    }
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
    env.setRuntimeMode(streaming ? RuntimeExecutionMode.STREAMING : RuntimeExecutionMode.BATCH);
    NativeSessionJob.build(env, files, streaming, dashboard);

    long cpuBeforeRun = ProcStats.cpuNanos();
    long started = System.nanoTime();
    String state = "DONE";
    JobExecutionResult result = null;
    try {
      result = env.execute("native sessions");
    } catch (Exception e) {
      e.printStackTrace();
      state = "FAILED";
    }
    long wallNanos = System.nanoTime() - started;
    long cpuAfterRun = ProcStats.cpuNanos();

    Map<String, Object> r = new LinkedHashMap<>();
    r.put("state", state);
    long records = count(result, "records");
    long invalid = count(result, "invalid");
    long tooLate = count(result, "tooLate");
    r.put("records", records);
    r.put("accepted", records - invalid - tooLate);
    r.put("duplicates", 0);
    r.put("sessionEmissions", count(result, "sessions"));
    r.put(
        "sessionEmissionsBeforeInputEnd", streaming ? count(result, "sessionsBeforeInputEnd") : -1);
    r.put("dashboardDocs", count(result, "dashboard"));
    r.put("deadLetters", invalid + tooLate);
    r.put("tooLate", tooLate);
    r.put("wallNanos", wallNanos);
    r.put("cpuNanos", cpuAfterRun - cpuBeforeRun);
    r.put("setupCpuNanos", cpuBeforeRun - cpuAtStart);
    r.put("peakRssBytes", ProcStats.peakRssBytes());
    r.put("peakHeapBytes", stats.peakHeapBytes());
    r.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
    r.put(
        "jobArgs",
        String.format(
            "native parallelism=%d source parallelism=%d streaming=%s backend=%s checkpointing=%d"
                + " dashboard=%s %s",
            parallelism,
            streaming ? files.size() : parallelism,
            streaming,
            backend,
            checkpointing,
            dashboard,
            flinkConf));
    BenchRun.write(r, Path.of(a.getResult()));
    System.out.println("bench: " + r);
    System.exit(0); // the embedded cluster leaves non-daemon threads behind
  }

  private static long count(JobExecutionResult result, String name) {
    if (result == null) {
      return -1;
    }
    Object v = result.getAllAccumulatorResults().get(name);
    return v == null ? 0 : ((Number) v).longValue();
  }

  /** {@code --streaming}, true when not given. */
  static boolean streaming(Options options, String[] args) {
    return !BenchOptions.given(args, "streaming") || options.isStreaming();
  }

  /** The files matching a local glob such as {@code /data/part-*.jsonl}, sorted. */
  static List<String> match(String filepattern) throws IOException {
    Path pattern = Path.of(filepattern).toAbsolutePath();
    List<String> files = new ArrayList<>();
    try (DirectoryStream<Path> dir =
        Files.newDirectoryStream(pattern.getParent(), pattern.getFileName().toString())) {
      for (Path p : dir) {
        files.add(p.toString());
      }
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException("--input matches no file: " + filepattern);
    }
    files.sort(null);
    return files;
  }
}
