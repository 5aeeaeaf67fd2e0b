package dev.sessionize.runners.flink;

import dev.sessionize.pipeline.SessionizationPipeline;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.transforms.options.OptionsParser;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.runners.flink.FlinkPipelineOptions;

/**
 * The production deployment of the job on the FlinkRunner: the seed's settings as defaults, each
 * one still an option the user can override on the command line. Kafka in, Iceberg sessions, Redis
 * dashboard; parallelism 30; a checkpoint every 60 s, exactly-once, at least 30 s apart, 10 min
 * timeout, one at a time, retained when the job is cancelled; RocksDB state with checkpoints under
 * {@code --stateBackendStoragePath} (a local folder by default, or any file system URI Flink
 * supports: {@code hdfs://}, {@code s3://} with its plugin); no copy between chained operators
 * ({@code --fasterCopy}); an exponential-delay restart strategy ({@link #RESTART_STRATEGY}). In
 * local mode the embedded cluster serves Flink's web UI and Prometheus metrics (the URLs are
 * printed).
 *
 * <pre>{@code
 * ./sessionize run-production --bootstrapServers=kafka:9092 --warehouse=s3://bucket/warehouse \
 *     --redisHost=redis [--parallelism=30] [--checkpointingInterval=60000] [--flinkMaster=host:8081]
 * ./sessionize submit [OPTIONS]   # the bundled jar, detached, to a cluster
 * }</pre>
 */
public final class FlinkProduction {
  private FlinkProduction() {}

  /** The preset, in the order it is appended; a key the user gave is left out. */
  static Map<String, String> preset() {
    Map<String, String> preset = new LinkedHashMap<>();
    preset.put("runner", "FlinkRunner");
    preset.put("streaming", "true");
    preset.put("parallelism", "30");
    preset.put("checkpointingInterval", "60000");
    preset.put("checkpointingMode", "EXACTLY_ONCE");
    preset.put("minPauseBetweenCheckpoints", "30000");
    preset.put("checkpointTimeoutMillis", "600000");
    preset.put("numConcurrentCheckpoints", "1");
    preset.put("retainExternalizedCheckpointsOnCancellation", "true");
    preset.put("stateBackend", "rocksdb");
    preset.put(
        "stateBackendStoragePath", new File("checkpoints").getAbsoluteFile().toURI().toString());
    // KafkaIO's splittable-DoFn read is slow on this runner (see the README).
    preset.put("experiments", "use_deprecated_read");
    // No deep copy (encode + decode) of every element between chained operators: ~12 % less CPU
    // (README, Benchmarks). Safe because no DoFn of the job changes an element it received or
    // emitted; the DirectRunner's immutability checks hold every test to that.
    preset.put("fasterCopy", "true");
    // A bundle still open at a checkpoint is finished before the barrier, so what it emits goes
    // downstream ahead of the watermark it held. Without this the FlinkRunner (2.62) finishes it
    // while snapshotting, buffers its output and sends the held watermark first: the dashboard's
    // per-bundle partials then arrive behind a watermark up to a bundle's worth of event time
    // ahead and their minute drops them as late (ReplayIT: whole minutes missing when read fast).
    preset.put("finishBundleBeforeCheckpointing", "true");
    preset.put("source", "kafka");
    preset.put("sessionsSink", "iceberg");
    preset.put("dashboardSink", "redis");
    // Dead letters in Kafka transactions committed with the checkpoints: none repeated on restart.
    preset.put("deadLetterExactlyOnce", "true");
    return preset;
  }

  /** The user's arguments followed by every preset option they did not give. */
  static String[] withPreset(String[] args) {
    List<String> all = new ArrayList<>(List.of(args));
    for (Map.Entry<String, String> p : preset().entrySet()) {
      String flag = "--" + p.getKey();
      boolean given = all.stream().anyMatch(a -> a.equals(flag) || a.startsWith(flag + "="));
      if (!given) {
        all.add(flag + "=" + p.getValue());
      }
    }
    return all.toArray(String[]::new);
  }

  /**
   * The production job's options: the job's own and the FlinkRunner's, one set of values ({@code
   * --help} lists them all).
   */
  public interface Options extends SessionizationPipeline.Options, FlinkPipelineOptions {}

  /**
   * Parses the user's {@code args} with the preset's defaults ({@link #withPreset}) by the
   * project's {@link OptionsParser}; an unknown option or a value of the wrong type throws {@link
   * IllegalArgumentException} whose first line names it.
   */
  static Options parse(String[] args) {
    return OptionsParser.parse(withPreset(args), Options.class);
  }

  /**
   * The one-line problems of the user's {@code args} with the preset: the parser's, or else {@link
   * #validate}'s; empty when they are fine.
   */
  static List<String> problems(String[] args) {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      return List.of(OptionsParser.firstLine(e.getMessage()));
    }
    return validate(options);
  }

  /**
   * One line per bad Flink option of the preset, on the parsed values (every one of them set, by
   * the user or the preset); empty when they are fine.
   */
  static List<String> validate(Options o) {
    List<String> problems = new ArrayList<>();
    OptionChecks.atLeast(problems, "parallelism", o.getParallelism(), 1);
    OptionChecks.atLeast(problems, "checkpointingInterval", o.getCheckpointingInterval(), 0);
    OptionChecks.atLeast(
        problems, "minPauseBetweenCheckpoints", o.getMinPauseBetweenCheckpoints(), 0);
    OptionChecks.atLeast(problems, "checkpointTimeoutMillis", o.getCheckpointTimeoutMillis(), 0);
    OptionChecks.atLeast(problems, "numConcurrentCheckpoints", o.getNumConcurrentCheckpoints(), 1);
    String mode = o.getCheckpointingMode();
    if (!List.of("EXACTLY_ONCE", "AT_LEAST_ONCE").contains(mode)) {
      problems.add(
          "--checkpointingMode="
              + mode
              + " is not supported: allowed values are EXACTLY_ONCE, AT_LEAST_ONCE");
    }
    String backend = o.getStateBackend();
    if (backend != null && !List.of("rocksdb", "filesystem").contains(backend)) {
      problems.add(
          "--stateBackend="
              + backend
              + " is not supported: allowed values are rocksdb, filesystem");
    }
    String storage = o.getStateBackendStoragePath();
    if (storage != null
        && !storage.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.*")
        && !storage.startsWith("file:/")) {
      problems.add(
          "--stateBackendStoragePath="
              + storage
              + " is not valid: use a URI such as file:///var/lib/sessionize/checkpoints or"
              + " hdfs://namenode/checkpoints");
    }
    Long interval = o.getCheckpointingInterval();
    boolean checkpoints = interval != null && interval > 0;
    if (o.getDeadLetterExactlyOnce() && !checkpoints) {
      problems.add(
          "--deadLetterExactlyOnce=true needs checkpoints: give --checkpointingInterval > 0 or"
              + " --deadLetterExactlyOnce=false");
    }
    if (!o.getFinishBundleBeforeCheckpointing() && checkpoints) {
      problems.add(
          "--finishBundleBeforeCheckpointing=false loses dashboard events at checkpoints (a bundle"
              + " finished while snapshotting sends its output after the watermark it held): use"
              + " --finishBundleBeforeCheckpointing=true or no checkpoints");
    }
    return problems;
  }

  /**
   * How a failed job restarts, in the job's configuration (and in {@code cluster.sh}'s for the
   * whole cluster): from its last checkpoint, after 1 s, 2 s, 4 s, ... up to 2 min between
   * attempts, 10 % jitter, never giving up; after 10 min without a failure the wait starts at 1 s
   * again. A dead TaskManager, a broker or a warehouse that is down for minutes are then waited out
   * without anyone restarting the job, and a dependency that stays down is not hammered.
   */
  static final String RESTART_STRATEGY =
      "restart-strategy.type: exponential-delay\n"
          + "restart-strategy.exponential-delay.initial-backoff: 1 s\n"
          + "restart-strategy.exponential-delay.max-backoff: 2 min\n"
          + "restart-strategy.exponential-delay.backoff-multiplier: 2.0\n"
          + "restart-strategy.exponential-delay.reset-backoff-threshold: 10 min\n"
          + "restart-strategy.exponential-delay.jitter-factor: 0.1\n";

  /** The web UI's port in local mode when it is free (Flink's default); else any free port. */
  static final int LOCAL_WEB_UI_PORT = 8081;

  /** The Prometheus reporter's port in local mode when it is free (Flink's default). */
  static final int LOCAL_METRICS_PORT = 9249;

  /**
   * The Flink configuration the job needs beyond its pipeline options, written to a {@code
   * flink-conf.yaml} that {@code options}' {@code --flinkConfDir} is then set to (the FlinkRunner
   * loads it; the user's own file, if any, is copied first and each of its settings wins):
   *
   * <ul>
   *   <li>always: the restart strategy ({@link #RESTART_STRATEGY}), which the job then carries to
   *       whatever cluster runs it.
   * </ul>
   *
   * In local mode ({@code --flinkMaster=[local]}, {@code [auto]} or none), for the embedded
   * cluster:
   *
   * <ul>
   *   <li>network memory for the parallelism: the default 64 MB runs out of buffers (each
   *       all-to-all exchange needs about 2 x parallelism buffers per subtask; parallelism 30
   *       failed with "Insufficient number of network buffers"), unless the user's file sets it;
   *   <li>{@code execution.savepoint.path}: Beam's FlinkRunner applies {@code --savepointPath} only
   *       when it submits to a cluster, so resuming from a savepoint or a retained checkpoint in
   *       local mode needs it in the configuration;
   *   <li>the web UI on loopback, port 8081 or a free one ({@code rest.port}), and the Prometheus
   *       reporter on port 9249 or a free one: {@link #localEndpoints} says where.
   * </ul>
   */
  static void localClusterConf(FlinkPipelineOptions options) throws IOException {
    boolean local = isLocal(options);
    String userConf = options.getFlinkConfDir();
    String userYaml = "";
    if (userConf != null && Files.exists(Paths.get(userConf, "flink-conf.yaml"))) {
      userYaml = Files.readString(Paths.get(userConf, "flink-conf.yaml")) + "\n";
    }
    StringBuilder yaml = new StringBuilder(userYaml);
    if (!userYaml.contains("restart-strategy")) {
      yaml.append(RESTART_STRATEGY);
    }
    if (local) {
      Integer parallelism = options.getParallelism();
      if (parallelism != null
          && parallelism >= 0
          && parallelism <= 9999
          && !userYaml.contains("taskmanager.memory.network.")) {
        long networkMb = networkMemoryMb(parallelism);
        if (networkMb > 64) {
          yaml.append("taskmanager.memory.network.min: ").append(networkMb).append("mb\n");
          yaml.append("taskmanager.memory.network.max: ").append(networkMb).append("mb\n");
        }
      }
      String savepoint = options.getSavepointPath();
      if (savepoint != null) {
        yaml.append("execution.savepoint.path: ").append(savepoint).append('\n');
        if (Boolean.TRUE.equals(options.getAllowNonRestoredState())) {
          yaml.append("execution.savepoint.ignore-unclaimed-state: true\n");
        }
      }
      if (!userYaml.contains("rest.port") && !userYaml.contains("rest.bind-port")) {
        int port = portOrFree(LOCAL_WEB_UI_PORT);
        yaml.append("rest.address: localhost\nrest.bind-address: localhost\n");
        yaml.append("rest.port: ").append(port).append("\nrest.bind-port: ").append(port);
        yaml.append('\n');
      }
      if (!userYaml.contains("metrics.reporter.")) {
        yaml.append("metrics.reporter.prom.factory.class: ")
            .append("org.apache.flink.metrics.prometheus.PrometheusReporterFactory\n");
        yaml.append("metrics.reporter.prom.port: ").append(portOrFree(LOCAL_METRICS_PORT));
        yaml.append('\n');
      }
    }
    if (yaml.toString().equals(userYaml)) {
      return;
    }
    Path conf = Files.createTempDirectory("sessionize-flink-conf");
    Files.writeString(conf.resolve("flink-conf.yaml"), yaml);
    options.setFlinkConfDir(conf.toString());
  }

  /**
   * Where the embedded cluster of these options (after {@link #localClusterConf}) serves its web UI
   * and its Prometheus metrics, as lines to print; empty for a remote cluster or when the
   * configuration does not say.
   */
  public static List<String> localEndpoints(FlinkPipelineOptions options) throws IOException {
    String conf = options.getFlinkConfDir();
    List<String> lines = new ArrayList<>();
    if (!isLocal(options) || conf == null || !Files.exists(Paths.get(conf, "flink-conf.yaml"))) {
      return lines;
    }
    Map<String, String> settings = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Paths.get(conf, "flink-conf.yaml"))) {
      String[] kv = line.split(":", 2);
      if (kv.length == 2 && !line.startsWith("#")) {
        settings.put(kv[0].trim(), kv[1].trim());
      }
    }
    String port = settings.getOrDefault("rest.port", settings.get("rest.bind-port"));
    if (port != null && port.matches("[0-9]+")) {
      lines.add("Flink web UI: http://localhost:" + port + "/");
    }
    String metrics = settings.get("metrics.reporter.prom.port");
    if (metrics != null && metrics.matches("[0-9]+")) {
      lines.add("Prometheus metrics: http://localhost:" + metrics + "/metrics");
    }
    return lines;
  }

  /** Whether the job runs on an embedded cluster: {@code --flinkMaster=[local]}, [auto] or none. */
  private static boolean isLocal(FlinkPipelineOptions options) {
    String master = options.getFlinkMaster();
    return master == null || "[local]".equals(master) || "[auto]".equals(master);
  }

  /** {@code port} when nothing listens on it on loopback, else a free port. */
  static int portOrFree(int port) throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return port;
    } catch (IOException busy) {
      try (ServerSocket socket = new ServerSocket(0)) {
        return socket.getLocalPort();
      }
    }
  }

  /**
   * Network memory of an embedded cluster running every operator at this parallelism in one
   * TaskManager: 32 KB buffers, about (2 x parallelism + 8) per subtask for a dozen exchanges.
   */
  static long networkMemoryMb(int parallelism) {
    return Math.max(64, 12L * parallelism * (2L * parallelism + 8) * 32 / 1024);
  }

  public static void main(String[] args) throws IOException {
    if (List.of(args).contains("--help")) {
      System.out.println("sessionize run-production: the production preset, each an option:");
      preset().forEach((name, value) -> System.out.println("  --" + name + "=" + value));
      System.out.println(
          "and every option of the job and the FlinkRunner, each with its default without the preset:");
    }
    Options options = OptionsParser.parseOrExit("sessionize", withPreset(args), Options.class);
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      problems.forEach(p -> System.err.println("sessionize: " + p));
      System.exit(2);
    }
    localClusterConf(options);
    for (String line : localEndpoints(options)) {
      System.out.println("sessionize: " + line);
    }
    SessionizationPipeline.Launched job = SessionizationPipeline.launch(options);
    if (!options.getAttachedMode()) {
      // Detached: the job runs on the cluster; this client has nothing more to wait for.
      System.out.println(
          "sessionize: submitted to "
              + options.getFlinkMaster()
              + " (detached); follow it in Flink's web UI or REST API");
      System.exit(0);
    }
    job.result().waitUntilFinish();
    System.out.println(SessionizationPipeline.summary(job.result(), job.options()));
  }
}
