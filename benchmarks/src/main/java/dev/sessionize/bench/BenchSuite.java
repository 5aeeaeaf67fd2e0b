package dev.sessionize.bench;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * The benchmark suite: generates the input once, runs every runner configuration in a JVM of its
 * own ({@link BenchRun}), the native Flink yardstick beside the Beam rows on the same input ({@link
 * NativeRun}), the dashboard freshness and Kafka-to-Iceberg+Redis run ({@link Freshness}), the
 * state sizes ({@link StateSize}) and the JMH microbenchmark of the accumulator, then writes {@code
 * report.md}, CSV files and PNG charts to {@code --out}.
 *
 * <pre>--root=REPO [--quick] [--out=DIR] [--only=SECTION,...]
 *   sections: runners, compare, scaling, freshness, state, jmh (all of them by default), and
 *   rocksdb (only when named: the A/B pairs of RocksDB settings)
 * [--sessionImpls=state,windows]  the Beam rows of the comparison, once per sessions step
 * [--compareEvents=N --compareUsers=N]  the comparison's input (default: the mid input)
 * [--pairs=N] [--abSettings=NAME,...]  rocksdb section: A/B pairs per setting (after one warm-up
 *   pair), and which settings (default: all of {@link #ROCKSDB_SETTINGS})
 * [--abEvents=N --abUsers=N]  the rocksdb section's input (default: the mid input)</pre>
 */
public final class BenchSuite {
  private final Path root;
  private final Path out;
  private final Path work;
  private final boolean quick;
  private final List<String> only;
  private final Report report;
  private final List<String> sessionImpls;
  private final Options args;

  /** The suite's command line. */
  public interface Options extends PipelineOptions {
    @Description("The repository's root folder.")
    @Default.String(".")
    String getRoot();

    void setRoot(String value);

    @Description("Folder of the results, under --root; default benchmarks/results.")
    String getOut();

    void setOut(String value);

    @Description("Small inputs and fewer rows: a check that everything runs, not figures.")
    @Default.Boolean(false)
    boolean getQuick();

    void setQuick(boolean value);

    @Description("Sections to run, comma-separated; all = every section but rocksdb.")
    @Default.String("all")
    String getOnly();

    void setOnly(String value);

    @Description("How sessions are made in the runner comparison: state, windows or both.")
    @Default.String("state,windows")
    String getSessionImpls();

    void setSessionImpls(String value);

    @Description("Events of the runner comparison (default 100000; 20000 with --quick).")
    Integer getCompareEvents();

    void setCompareEvents(Integer value);

    @Description("Users of the runner comparison (default 10000; 2000 with --quick).")
    Integer getCompareUsers();

    void setCompareUsers(Integer value);

    @Description("A/B pairs of the rocksdb section (default 3; 1 with --quick).")
    Integer getPairs();

    void setPairs(Integer value);

    @Description("Events of the rocksdb A/B runs (default 100000; 20000 with --quick).")
    Integer getAbEvents();

    void setAbEvents(Integer value);

    @Description("Users of the rocksdb A/B runs (default 10000; 2000 with --quick).")
    Integer getAbUsers();

    void setAbUsers(Integer value);

    @Description("RocksDB settings of the A/B runs, comma-separated (default: all of them).")
    String getAbSettings();

    void setAbSettings(String value);
  }

  private BenchSuite(Options a) {
    this.root = Path.of(a.getRoot()).toAbsolutePath().normalize();
    this.out = root.resolve(BenchOptions.orElse(a.getOut(), "benchmarks/results"));
    this.work = root.resolve("benchmarks/target/bench-work");
    this.quick = a.getQuick();
    this.only = Arrays.asList(a.getOnly().split(","));
    this.report = new Report(quick);
    this.sessionImpls = Arrays.asList(a.getSessionImpls().split(","));
    this.args = a;
  }

  public static void main(String[] args) throws Exception {
    System.setProperty("java.awt.headless", "true");
    BenchSuite suite =
        new BenchSuite(BenchOptions.parseOrExit("sessionize bench", args, Options.class));
    int code = suite.run();
    System.exit(code);
  }

  private boolean wants(String section) {
    // The RocksDB A/B pairs take long and are taken on a quiet machine: only when named.
    return (only.contains("all") && !section.equals("rocksdb")) || only.contains(section);
  }

  private static int orElse(Integer value, int fallback) {
    return value == null ? fallback : value;
  }

  /**
   * One row of the cost table: a runner ({@code direct}, {@code flink}, {@code spark}, or {@code
   * native} for the native Flink yardstick), its settings, Beam options ({@code extra}) and more
   * arguments of {@link BenchRun} or {@link NativeRun} ({@code args}, e.g. {@code --flink.*}).
   */
  record Config(
      String label,
      String runner,
      int parallelism,
      boolean streaming,
      long checkpointing,
      String backend,
      String extra,
      List<String> args) {
    static Config of(String runner, int parallelism) {
      return new Config(
          runner + " p" + parallelism, runner, parallelism, false, 0, "-", "", List.of());
    }

    static Config flink(int parallelism, boolean streaming, long checkpointing, String backend) {
      return flinkLike("flink", parallelism, streaming, checkpointing, backend);
    }

    /** The native Flink yardstick ({@link NativeRun}) in the same configuration. */
    static Config nativeFlink(
        int parallelism, boolean streaming, long checkpointing, String backend) {
      return flinkLike("native", parallelism, streaming, checkpointing, backend);
    }

    private static Config flinkLike(
        String runner, int parallelism, boolean streaming, long checkpointing, String backend) {
      String label =
          streaming
              ? String.format(
                  "%s streaming p%d %s %s",
                  runner, parallelism, backend, checkpointing > 0 ? "ckpt" : "no-ckpt")
              : runner + " batch p" + parallelism;
      return new Config(
          label,
          runner,
          parallelism,
          streaming,
          checkpointing,
          streaming ? backend : "-",
          "",
          List.of());
    }

    Config withExtra(String label, String extra) {
      return new Config(label, runner, parallelism, streaming, checkpointing, backend, extra, args);
    }

    Config withArgs(String label, List<String> more) {
      List<String> all = new ArrayList<>(args);
      all.addAll(more);
      return new Config(
          label, runner, parallelism, streaming, checkpointing, backend, extra, List.copyOf(all));
    }

    boolean isNative() {
      return runner.equals("native");
    }

    /** The same job settings, whether Beam or native (for pairing rows). */
    String setting() {
      return parallelism + "/" + streaming + "/" + checkpointing + "/" + backend;
    }
  }

  int run() throws Exception {
    long t0 = System.nanoTime();
    report.loadAtStart = loadavg();
    report.startedAt = Instant.now();
    report.machine =
        Runtime.getRuntime().availableProcessors()
            + " cores, "
            + System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.version");
    Files.createDirectories(out);
    Files.createDirectories(work);

    // The cost table, sized so the whole suite takes under 20 minutes on 2 cores (under 3 with
    // --quick): Flink batch and Spark on the big input (5 M events), the FlinkRunner's streaming
    // configurations on a smaller one (streaming costs ~5 times more per event here: Beam's
    // merging-window state on the FlinkRunner; a checkpointed 1 M-event run alone took 200 s),
    // and the DirectRunner on a tiny one.
    int events = quick ? 20_000 : 5_000_000;
    int users = quick ? 2_000 : 100_000;
    int midEvents = quick ? 20_000 : 100_000;
    int midUsers = quick ? 2_000 : 10_000;
    if (wants("runners") || wants("scaling")) {
      report.input = describe(input(events, users));
    }

    if (wants("runners")) {
      long checkpoint = 5_000;
      // The DirectRunner fires timers a bundle at a time (DedupEvents keeps one per user, the
      // windows one per session): it manages a few hundred records per second, so it gets a
      // smaller input of its own.
      int directEvents = quick ? 300 : 2_000;
      Input directInput = input(directEvents, Math.max(10, directEvents / 10));
      report.runs.add(runConfig(Config.of("direct", 2), directInput, "runners"));

      Input in = input(events, users);
      for (Config c : List.of(Config.flink(2, false, 0, "-"), Config.of("spark", 2))) {
        report.runs.add(runConfig(c, in, "runners"));
      }
      List<Config> mid = new ArrayList<>();
      if (!quick || !wants("compare")) {
        // The production configuration before --fasterCopy joined the preset (with --quick the
        // comparison below runs it with --fasterCopy instead).
        mid.add(Config.flink(2, true, checkpoint, "rocksdb"));
      }
      if (!quick) {
        mid.add(Config.flink(1, false, 0, "-"));
        mid.add(Config.flink(2, false, 0, "-"));
        mid.add(Config.flink(1, true, 0, "heap"));
        mid.add(Config.flink(2, true, 0, "heap"));
        mid.add(Config.flink(2, true, checkpoint, "heap"));
        mid.add(Config.flink(1, true, checkpoint, "rocksdb"));
        mid.add(Config.of("spark", 1));
        // A/B of the FlinkRunner's fasterCopy (no deep copy of each element between chained
        // operators; our DoFns never mutate their input or output after emitting it).
        Config ab = Config.flink(2, true, checkpoint, "rocksdb");
        mid.add(ab.withExtra(ab.label() + " +fasterCopy", "--fasterCopy=true"));
      }
      Input midInput = input(midEvents, midUsers);
      for (Config c : mid) {
        report.runs.add(runConfig(c, midInput, "runners"));
      }
    }
    if (wants("compare")) {
      compare();
    }
    if (wants("scaling")) {
      scaling();
    }
    if (wants("state")) {
      report.stateSizes = StateSize.measure();
    }
    if (wants("jmh")) {
      jmh();
    }
    if (wants("freshness")) {
      freshness();
    }
    if (wants("rocksdb")) {
      rocksdbPairs();
    }
    report.loadAtEnd = loadavg();
    report.elapsedSeconds = (System.nanoTime() - t0) / 1e9;
    report.write(out);
    System.out.println(Files.readString(out.resolve("report.md")));
    System.out.printf("bench: report in %s (%.0f s)%n", out, report.elapsedSeconds);
    return 0;
  }

  /**
   * The Beam job against the native Flink yardstick ({@link NativeRun}) on the same input, in the
   * same configurations: streaming p1 heap without checkpoints, streaming p2 RocksDB with a
   * checkpoint every 5 s (with {@code --quick} only this pair), and batch p2. The streaming Beam
   * rows run as production does ({@code --fasterCopy=true}), once per {@code --sessionImpls}; a row
   * the runners section already ran on the same input is not run again. The report prints the ratio
   * of records per CPU-second, Beam / native.
   */
  private void compare() throws Exception {
    long checkpoint = 5_000;
    Input in =
        input(
            orElse(args.getCompareEvents(), quick ? 20_000 : 100_000),
            orElse(args.getCompareUsers(), quick ? 2_000 : 10_000));
    if (report.input == null) {
      report.input = describe(in);
    }
    List<Config[]> settings = new ArrayList<>(); // {native, beam}
    if (!quick) {
      settings.add(
          new Config[] {Config.nativeFlink(1, true, 0, "heap"), Config.flink(1, true, 0, "heap")});
    }
    settings.add(
        new Config[] {
          Config.nativeFlink(2, true, checkpoint, "rocksdb"),
          Config.flink(2, true, checkpoint, "rocksdb")
        });
    if (!quick) {
      settings.add(
          new Config[] {Config.nativeFlink(2, false, 0, "-"), Config.flink(2, false, 0, "-")});
    }
    for (Config[] pair : settings) {
      report.compared.add(runConfig(pair[0], in, "compare"));
      for (String impl : sessionImpls) {
        Config beam = pair[1];
        if (beam.streaming()) {
          beam = beam.withExtra(beam.label() + " +fasterCopy", "--fasterCopy=true");
        }
        beam = beam.withArgs(beam.label() + " " + impl, List.of("--sessionImpl=" + impl));
        Result done = findRun(beam, in.events(), in.users());
        report.compared.add(done != null ? done : runConfig(beam, in, "compare"));
      }
    }
  }

  /**
   * RocksDB settings the A/B pairs measure, each on its own against the same baseline: name, then
   * the Flink configuration it adds ({@code --flink.KEY=VALUE} of {@link BenchRun}).
   */
  static final Map<String, List<String>> ROCKSDB_SETTINGS =
      Map.of(
          "timers-on-heap",
          List.of("--flink.state.backend.rocksdb.timer-service.factory=HEAP"),
          "bloom-filter",
          List.of("--flink.state.backend.rocksdb.use-bloom-filter=true"),
          "incremental-checkpoints",
          List.of("--flink.state.backend.incremental=true"),
          "write-buffer-ratio-0.8",
          List.of("--flink.state.backend.rocksdb.memory.write-buffer-ratio=0.8"));

  /**
   * A/B pairs of RocksDB settings on the Beam job (streaming p2, RocksDB, a checkpoint every 5 s,
   * {@code --fasterCopy=true}, the first of {@code --sessionImpls}): for each setting, one warm-up
   * pair then {@code --pairs} pairs, A (baseline) and B (baseline + the setting) in turn, so both
   * see the same machine. Figures are only comparable on a quiet machine; the report says the load.
   */
  private void rocksdbPairs() throws Exception {
    int pairs = orElse(args.getPairs(), quick ? 1 : 3);
    Input in =
        input(
            orElse(args.getAbEvents(), quick ? 20_000 : 100_000),
            orElse(args.getAbUsers(), quick ? 2_000 : 10_000));
    if (report.input == null) {
      report.input = describe(in);
    }
    List<String> names =
        args.getAbSettings() != null
            ? Arrays.asList(args.getAbSettings().split(","))
            : new ArrayList<>(new java.util.TreeSet<>(ROCKSDB_SETTINGS.keySet()));
    String impl = sessionImpls.get(0);
    Config base =
        Config.flink(2, true, 5_000, "rocksdb")
            .withExtra("rocksdb A", "--fasterCopy=true")
            .withArgs("rocksdb A", List.of("--sessionImpl=" + impl));
    for (String name : names) {
      List<String> setting = ROCKSDB_SETTINGS.get(name);
      if (setting == null) {
        throw new IllegalArgumentException(
            "--abSettings: unknown setting " + name + "; known: " + ROCKSDB_SETTINGS.keySet());
      }
      Config a = base.withArgs("rocksdb A (for " + name + ")", List.of());
      Config b = base.withArgs("rocksdb B " + name, setting);
      for (int i = 0; i <= pairs; i++) {
        String round = i == 0 ? "warm-up" : "pair " + i;
        Result ra = runConfig(a.withArgs(a.label() + " " + round, List.of()), in, "rocksdb");
        Result rb = runConfig(b.withArgs(b.label() + " " + round, List.of()), in, "rocksdb");
        if (i > 0) {
          report.abPairs.add(new Report.AbPair(name, i, ra, rb));
        }
      }
    }
  }

  /**
   * Events sweep (cost vs event count) and users sweep (10 k to 1 M users at 1 M events: state
   * grows with the users whose sessions are open at once), both on Flink batch p2; and Flink batch
   * p1 on the 1 M input (1 core against 2).
   */
  private void scaling() throws Exception {
    Config batch = Config.flink(2, false, 0, "-");
    int[] counts = quick ? new int[] {5_000, 20_000} : new int[] {100_000, 1_000_000, 5_000_000};
    for (int n : counts) {
      int u = quick ? 2_000 : n == 100_000 ? 10_000 : 100_000;
      Result r = findRun(batch, n, u);
      report.scaling.add(r != null ? r : runConfig(batch, input(n, u), "events"));
    }
    int fixed = quick ? 20_000 : 1_000_000;
    int[] userCounts = quick ? new int[] {2_000, 20_000} : new int[] {10_000, 100_000, 1_000_000};
    for (int u : userCounts) {
      Result r = findRun(batch, fixed, u);
      report.usersScaling.add(r != null ? r : runConfig(batch, input(fixed, u), "users"));
    }
    if (!quick) {
      // 1 core against 2: Flink batch p1 on the 1 M input of the events sweep.
      Config p1 = Config.flink(1, false, 0, "-");
      report.scaling.add(runConfig(p1, input(1_000_000, 100_000), "cores"));
    }
  }

  private Result findRun(Config c, int events, int users) {
    for (List<Result> list : List.of(report.runs, report.scaling, report.usersScaling)) {
      for (Result r : list) {
        if (r.config.equals(c) && r.events == events && r.users == users) {
          return r;
        }
      }
    }
    return null;
  }

  /** The generated input of {@code events} events of {@code users} users; made once, kept. */
  /** A generated input: its folder and what it was generated with. */
  private record Input(Path dir, int events, int users) {}

  private Input input(int events, int users) throws Exception {
    Path dir = root.resolve("benchmarks/target/bench-input/e" + events + "-u" + users + "-s42");
    if (!Files.exists(dir.resolve("DONE"))) {
      System.out.printf("bench: generating %,d events of %,d users into %s%n", events, users, dir);
      String label = "generate e" + events + " u" + users;
      if (events <= IN_PROCESS_EVENTS) {
        // Small enough for this JVM's heap: no JVM start (a second or two) per input.
        long started = System.nanoTime();
        GenerateInput.write(events, users, 42, 4, dir);
        report.generation.add(
            String.format(
                "%s: %.1f s wall (in the suite's JVM)",
                label, (System.nanoTime() - started) / 1e9));
      } else {
        long heapMb = Math.max(512, events / 1000 * 2); // about 2 KB per record in memory
        Result gen =
            launch(
                label,
                List.of("-Xmx" + heapMb + "m"),
                GenerateInput.class,
                List.of(
                    "--events=" + events,
                    "--users=" + users,
                    "--seed=42",
                    "--shards=4",
                    "--output=" + dir),
                null,
                30);
        report.generation.add(gen.label + ": " + gen.wallSeconds() + " s wall");
      }
    }
    return new Input(dir, events, users);
  }

  /** Inputs up to this many events are generated in the suite's own JVM. */
  private static final int IN_PROCESS_EVENTS = 100_000;

  private String describe(Input input) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(input.dir().resolve("DONE"))) {
      p.load(r);
    }
    return String.format(
        "%,d events of %,d users (ClickstreamGenerator, seed 42, 1%% duplicates, 0.1%% malformed):"
            + " %,d records, %.0f MB of JSON lines in 4 files",
        input.events(),
        input.users(),
        Long.parseLong(p.getProperty("records")),
        Long.parseLong(p.getProperty("bytes")) / 1e6);
  }

  private Result runConfig(Config c, Input input, String section) throws Exception {
    List<String> args = new ArrayList<>();
    if (!c.isNative()) {
      args.add("--runner=" + c.runner());
    }
    args.add("--parallelism=" + c.parallelism());
    args.add("--streaming=" + c.streaming());
    args.add("--checkpointing=" + c.checkpointing());
    args.add("--stateBackend=" + c.backend());
    args.add("--input=" + input.dir() + "/part-*.jsonl");
    args.add("--work=" + work.resolve("runs"));
    if (!c.extra().isEmpty()) {
      args.add("--extra=" + c.extra());
    }
    args.addAll(c.args());
    System.out.printf("bench: [%s] %s on %s%n", section, c.label(), input.dir().getFileName());
    Result r =
        launch(
                c.label(),
                c.runner().equals("spark") ? SPARK_JVM : List.of(HEAP),
                c.isNative() ? NativeRun.class : BenchRun.class,
                args,
                c,
                timeoutMinutes(c, input))
            .with(input.events(), input.users());
    System.out.println("bench:   " + r.summary());
    return r;
  }

  /** The heap of every runner's JVM (the machine has 24 GB; Spark at 5 M events needs > 3 GB). */
  private static final String HEAP = "-Xmx6g";

  /**
   * Spark 3.2 on Java 17 needs these on top of sessionize.jvm.opens (what Spark's scripts pass).
   */
  private static final List<String> SPARK_JVM =
      List.of(
          HEAP,
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
          "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
          "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED");

  private int timeoutMinutes(Config c, Input input) {
    if (c.runner().equals("direct")) {
      return quick ? 2 : 6;
    }
    // Streaming on the FlinkRunner: ~3 000 records per CPU-second; a 1 M-event input, 6 minutes.
    return Math.max(quick ? 4 : 10, input.events() / 25_000);
  }

  private void jmh() throws Exception {
    Path csv = work.resolve("jmh.csv");
    List<String> args =
        new ArrayList<>(
            List.of(
                "AccumulatorBenchmark|LineSplitBenchmark",
                "-f",
                // --quick checks that the benchmarks run; no fork per benchmark (a JVM start each)
                quick ? "0" : "1",
                "-wi",
                "1",
                "-i",
                quick ? "1" : "2",
                "-p",
                quick ? "shape=10:5" : "shape=10:5,500:200",
                "-w",
                quick ? "500ms" : "1s",
                "-r",
                quick ? "500ms" : "1s",
                "-rf",
                "csv",
                "-rff",
                csv.toString()));
    System.out.println("bench: JMH AccumulatorBenchmark");
    launchMain("jmh", List.of("-Xmx1g"), "org.openjdk.jmh.Main", args, 10);
    if (Files.exists(csv)) {
      report.jmhCsv = Files.readAllLines(csv);
    }
  }

  private void freshness() throws Exception {
    Path result = work.resolve("freshness.properties");
    Files.deleteIfExists(result);
    List<String> args =
        List.of(
            "--rates=" + (quick ? "1000" : "1000,4000,8000"),
            "--seconds=" + (quick ? 9 : 20),
            "--settleSeconds=" + (quick ? 4 : 20),
            "--e2eEvents=" + (quick ? 5_000 : 200_000),
            "--work=" + work.resolve("freshness"),
            "--result=" + result);
    System.out.println(
        "bench: dashboard freshness and Kafka -> Iceberg + Redis on the FlinkRunner");
    launchMain(
        "freshness",
        List.of("-Xmx3g", "-cp", withoutSpark(System.getProperty("java.class.path"))),
        Freshness.class.getName(),
        args,
        quick ? 4 : 8);
    if (Files.exists(result)) {
      report.freshness = load(result);
    }
  }

  private Result launch(
      String label,
      List<String> jvm,
      Class<?> main,
      List<String> args,
      Config config,
      int timeoutMinutes)
      throws Exception {
    Path result = work.resolve("results/" + label.replaceAll("[^A-Za-z0-9]+", "-") + ".properties");
    Files.deleteIfExists(result);
    List<String> all = new ArrayList<>(args);
    all.add("--result=" + result);
    long started = System.nanoTime();
    int exit = launchMain(label, jvm, main.getName(), all, timeoutMinutes);
    double wall = (System.nanoTime() - started) / 1e9;
    Properties p = Files.exists(result) ? load(result) : new Properties();
    return new Result(label, config, exit, wall, p);
  }

  /** Runs {@code main} in a new JVM with this JVM's class path; its output goes to a log file. */
  private int launchMain(
      String label, List<String> jvm, String main, List<String> args, int timeoutMinutes)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    String opens = System.getProperty("sessionize.jvm.opens", "");
    for (String o : opens.trim().split("\\s+")) {
      if (!o.isEmpty()) {
        cmd.add(o);
      }
    }
    cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    cmd.add("-Dorg.slf4j.simpleLogger.log.org.apache.beam.sdk.metrics.MetricsEnvironment=off");
    if (!jvm.contains("-cp")) {
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
    }
    cmd.add(main);
    cmd.addAll(args);
    Path log = work.resolve("logs/" + label.replaceAll("[^A-Za-z0-9]+", "-") + ".log");
    Files.createDirectories(log.getParent());
    Process process =
        new ProcessBuilder(cmd)
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!process.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      System.out.printf(
          "bench:   %s timed out after %d min (log: %s)%n", label, timeoutMinutes, log);
      return -1;
    }
    if (process.exitValue() != 0) {
      System.out.printf("bench:   %s exited with %d (log: %s)%n", label, process.exitValue(), log);
      report.failures.add(label + ": exit " + process.exitValue() + ", " + lastLines(log));
    }
    return process.exitValue();
  }

  private static String lastLines(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      for (int i = lines.size() - 1; i >= 0; i--) {
        String l = lines.get(i);
        if (l.contains("Exception") || l.contains("Error")) {
          return l.trim();
        }
      }
      return lines.isEmpty() ? "no output" : lines.get(lines.size() - 1).trim();
    } catch (IOException e) {
      return "no log";
    }
  }

  static Properties load(Path file) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    return p;
  }

  static String loadavg() {
    try {
      return Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  /**
   * The class path without Spark and its Scala 2.12 jars, with Scala 2.13 (the Kafka broker's):
   * Maven keeps one scala-library for the module, Spark's 2.12, on which the broker fails.
   */
  static String withoutSpark(String classPath) {
    List<String> kept = new ArrayList<>();
    for (String entry : classPath.split(File.pathSeparator)) {
      if (entry.contains("/org/apache/spark/")
          || entry.contains("_2.12")
          || entry.contains("beam-runners-spark")) {
        continue;
      }
      if (entry.contains("/org/scala-lang/scala-library/2.12")
          || entry.contains("/org/scala-lang/scala-reflect/2.12")) {
        String name = entry.contains("scala-library") ? "scala-library" : "scala-reflect";
        Path jar =
            Path.of(entry)
                .getParent()
                .getParent()
                .resolve("2.13.12")
                .resolve(name + "-2.13.12.jar");
        if (Files.exists(jar)) {
          kept.add(jar.toString());
        }
        continue;
      }
      kept.add(entry);
    }
    return String.join(File.pathSeparator, kept);
  }

  static String classPath() {
    return System.getProperty("java.class.path").replace(File.pathSeparator, "\n");
  }
}
