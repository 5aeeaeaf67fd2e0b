package dev.sessionize.bench;

import dev.sessionize.pipeline.files.ReadJsonLines;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionImpl;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.Read;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PDone;

/**
 * One benchmark configuration in this JVM (the suite starts one JVM per configuration): the whole
 * pipeline (file source, parse, dedup, sessions, dashboard aggregation) with the three sinks
 * replaced by counting sinks, on one runner; writes what it measured to {@code --result=FILE} as
 * properties.
 *
 * <p>Streaming rows read through {@link EventTimeFileSource}, whose watermark follows event time as
 * the Kafka source's does (sessions close while the files are read, state stays bounded); {@code
 * --source=bounded} reads the files as a bounded source instead (the watermark stays at the start
 * until every file is read). Each row reports how many session emissions its sinks received before
 * the input was read to its end: zero means the watermark never moved.
 *
 * <pre>
 * --runner=direct|flink|spark --input=FILEPATTERN --result=FILE [--parallelism=N]
 * [--streaming=true] [--checkpointing=MILLIS] [--stateBackend=heap|rocksdb] [--work=DIR]
 * [--source=auto|bounded|eventtime] [--sessionImpl=state|windows] [--extra=--beamOption=value,...]
 * [--flink.KEY=VALUE ...]   (Flink configuration for the FlinkRunner's embedded cluster, written
 *                            to a flink-conf.yaml given as --flinkConfDir, e.g.
 *                            --flink.state.backend.rocksdb.timer-service.factory=HEAP)
 * </pre>
 */
public final class BenchRun {
  static final String NAMESPACE = "bench";

  private BenchRun() {}

  /** BenchRun's command line. */
  public interface Options extends BenchOptions.RunOptions, StreamingOptions {
    @Description("Beam options for the runner, comma-separated (e.g. --fasterCopy=true).")
    @Default.String("")
    String getExtra();

    void setExtra(String value);

    @Description("How sessions are made: state or windows.")
    @Default.String("state")
    String getSessionImpl();

    void setSessionImpl(String value);

    @Description(
        "Source: auto (event-time file source when streaming on Flink, else bounded), bounded or"
            + " eventtime.")
    @Default.String("auto")
    String getSource();

    void setSource(String value);

    @Description("full: the whole pipeline; read: only read the input.")
    @Default.String("full")
    String getStage();

    void setStage(String value);
  }

  /**
   * {@code --runner=direct|flink|spark}: Beam's own option (it takes a runner's short name), as the
   * short name.
   */
  static String runner(PipelineOptions options) {
    return options.getRunner().getSimpleName().replaceFirst("Runner$", "").toLowerCase(Locale.ROOT);
  }

  public static void main(String[] args) throws IOException {
    ProcStats stats = ProcStats.start();
    long cpuAtStart = ProcStats.cpuNanos();
    Options a = BenchOptions.parseOrExit("bench run", args, Options.class);
    String runner = runner(a);
    int parallelism = BenchOptions.parallelism(a);
    boolean streaming = a.isStreaming();
    long checkpointing = a.getCheckpointing();
    String backend = BenchOptions.stateBackend(a);
    Path work = Path.of(BenchOptions.orElse(a.getWork(), "target/bench-work")).toAbsolutePath();
    Files.createDirectories(work);
    String sessionImpl = a.getSessionImpl();
    if (!List.of("state", "windows").contains(sessionImpl)) {
      throw new IllegalArgumentException(
          "--sessionImpl=" + sessionImpl + " is not supported: allowed values are state, windows");
    }
    String source = a.getSource();
    if (!List.of("auto", "bounded", "eventtime").contains(source)) {
      throw new IllegalArgumentException("--source must be auto, bounded or eventtime: " + source);
    }
    boolean eventTimeSource =
        "eventtime".equals(source)
            || ("auto".equals(source) && streaming && "flink".equals(runner));
    Map<String, String> flinkConf = BenchOptions.flinkConf(args);

    List<String> beamArgs = new ArrayList<>();
    switch (runner) {
      case "direct":
        beamArgs.add("--runner=DirectRunner");
        beamArgs.add("--targetParallelism=" + Math.max(parallelism, 1));
        // The DirectRunner's test-only checks (they copy and encode every element) are off: with
        // them on it measures the checks, not the pipeline.
        beamArgs.add("--enforceImmutability=false");
        beamArgs.add("--enforceEncodability=false");
        beamArgs.add("--blockOnRun=true");
        break;
      case "flink":
        beamArgs.add("--runner=FlinkRunner");
        beamArgs.add("--flinkMaster=[local]");
        beamArgs.add("--parallelism=" + parallelism);
        beamArgs.add("--streaming=" + streaming);
        if (checkpointing > 0) {
          beamArgs.add("--checkpointingInterval=" + checkpointing);
          // With checkpoints on, the runner keeps finished sources running (so checkpoints go on)
          // and a bounded job never ends; Flink 1.19 checkpoints after tasks finish anyway.
          beamArgs.add("--shutdownSourcesAfterIdleMs=0");
          // As in production (FlinkProduction): else a bundle's dashboard partials can reach their
          // minute behind the watermark at a checkpoint and be dropped as late.
          beamArgs.add("--finishBundleBeforeCheckpointing=true");
        }
        if (streaming) {
          beamArgs.add("--stateBackend=" + ("rocksdb".equals(backend) ? "rocksdb" : "filesystem"));
          beamArgs.add("--stateBackendStoragePath=" + work.resolve("checkpoints").toUri());
        }
        if (!flinkConf.isEmpty()) {
          beamArgs.add("--flinkConfDir=" + writeFlinkConf(flinkConf, work));
        }
        break;
      case "spark":
        beamArgs.add("--runner=SparkRunner");
        beamArgs.add("--sparkMaster=local[" + parallelism + "]");
        beamArgs.add("--enableSparkMetricSinks=false");
        // Spark's default, MEMORY_ONLY, drops cached partitions under memory pressure and computes
        // them again from the file source: at 1 M events the source was read twice (records_read
        // 2 021 952) and CPU was 95 s against 75 s with this. Outputs are the same either way.
        beamArgs.add("--storageLevel=MEMORY_AND_DISK_SER");
        break;
      default:
        throw new IllegalArgumentException("--runner must be direct, flink or spark: " + runner);
    }
    String extra = a.getExtra();
    for (String option : extra.split(",")) {
      if (!option.isBlank()) {
        beamArgs.add(option.trim());
      }
    }
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(beamArgs.toArray(new String[0])).create();

    if (!flinkConf.isEmpty() && !"flink".equals(runner)) {
      throw new IllegalArgumentException("--flink.* settings need --runner=flink");
    }
    Pipeline pipeline = Pipeline.create(options);
    PCollection<RawRecord> records;
    if (eventTimeSource) {
      EventTimeFileSource files =
          EventTimeFileSource.of(a.getInput(), SessionizeConfig.defaults().maxOutOfOrderness());
      InputProgress.expect(files.parts().size());
      records = pipeline.apply("ReadRecords", Read.from(files));
    } else {
      InputProgress.expect(Integer.MAX_VALUE); // a bounded read: the end is not observed
      records = pipeline.apply("ReadRecords", ReadJsonLines.from(a.getInput()));
    }
    if ("read".equals(a.getStage())) {
      // Only the file source (for A/B runs of it): records counted as sessions.
      records.apply("CountRecords", new CountingSink<>("records"));
    } else {
      PCollectionTuple out =
          records.apply(
              "SessionizeClickstream",
              SessionizeClickstream.of(SessionizeConfig.defaults(), ParseEvents.create())
                  .withSessionImpl(SessionImpl.valueOf(sessionImpl.toUpperCase(Locale.ROOT))));
      out.get(SessionizeClickstream.SESSIONS)
          .apply("CountSessions", new CountingSink<>("sessions"));
      out.get(SessionizeClickstream.DASHBOARD)
          .apply("CountDashboard", new CountingSink<>("dashboard"));
      out.get(SessionizeClickstream.DEAD_LETTERS)
          .apply("CountDeadLetters", new CountingSink<>("dead_letters"));
    }

    long cpuBeforeRun = ProcStats.cpuNanos();
    long started = System.nanoTime();
    PipelineResult result = pipeline.run();
    PipelineResult.State state = result.waitUntilFinish();
    long wallNanos = System.nanoTime() - started;
    long cpuAfterRun = ProcStats.cpuNanos();

    Map<String, Object> r = new LinkedHashMap<>();
    r.put("state", state);
    long read = SessionizeMetrics.read(result, "records_read");
    r.put("records", read > 0 ? read : SessionizeMetrics.read(result, NAMESPACE, "records"));
    r.put("accepted", SessionizeMetrics.read(result, "accepted"));
    r.put("duplicates", SessionizeMetrics.read(result, "duplicates"));
    r.put("sessionEmissions", SessionizeMetrics.read(result, NAMESPACE, "sessions"));
    r.put(
        "sessionEmissionsBeforeInputEnd",
        eventTimeSource
            ? SessionizeMetrics.read(result, NAMESPACE, "sessions_before_input_end")
            : -1);
    r.put("dashboardDocs", SessionizeMetrics.read(result, NAMESPACE, "dashboard"));
    r.put("deadLetters", SessionizeMetrics.read(result, NAMESPACE, "dead_letters"));
    r.put("tooLate", SessionizeMetrics.read(result, "dead_letter_TOO_LATE"));
    r.put("wallNanos", wallNanos);
    r.put("cpuNanos", cpuAfterRun - cpuBeforeRun);
    r.put("setupCpuNanos", cpuBeforeRun - cpuAtStart);
    r.put("peakRssBytes", ProcStats.peakRssBytes());
    r.put("peakHeapBytes", stats.peakHeapBytes());
    r.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
    r.put(
        "jobArgs",
        String.join(" ", beamArgs)
            + " source="
            + (eventTimeSource ? "eventtime" : "bounded")
            + " sessionImpl="
            + sessionImpl
            + (flinkConf.isEmpty() ? "" : " " + flinkConf));
    write(r, Path.of(a.getResult()));
    System.out.println("bench: " + r);
    System.exit(0); // the runners leave non-daemon threads behind
  }

  /** A folder with a {@code flink-conf.yaml} of these settings, for {@code --flinkConfDir}. */
  static Path writeFlinkConf(Map<String, String> conf, Path work) throws IOException {
    StringBuilder yaml = new StringBuilder();
    conf.forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
    Path dir = work.resolve("flink-conf-" + Integer.toHexString(yaml.toString().hashCode()));
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("flink-conf.yaml"), yaml);
    return dir;
  }

  static void write(Map<String, Object> values, Path file) throws IOException {
    Properties p = new Properties();
    values.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
    Files.createDirectories(file.toAbsolutePath().getParent());
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      p.store(w, null);
    }
  }

  /** A sink that only counts its elements (counter {@code bench/<name>}). */
  static final class CountingSink<T> extends PTransform<PCollection<T>, PDone> {
    private final String name;

    CountingSink(String name) {
      this.name = name;
    }

    @Override
    public PDone expand(PCollection<T> input) {
      input.apply("Count", ParDo.of(new CountFn<T>(name)));
      return PDone.in(input.getPipeline());
    }
  }

  /**
   * Counts into {@code bench/<name>}, and into {@code bench/<name>_before_input_end} while the
   * input is still being read ({@link InputProgress}).
   */
  static final class CountFn<T> extends DoFn<T, Void> {
    private final Counter counter;
    private final Counter beforeEnd;

    CountFn(String name) {
      this.counter = Metrics.counter(NAMESPACE, name);
      this.beforeEnd = Metrics.counter(NAMESPACE, name + "_before_input_end");
    }

    @ProcessElement
    public void process(@Element T element) {
      counter.inc();
      if (!InputProgress.ended()) {
        beforeEnd.inc();
      }
    }
  }
}
