package dev.sessionize.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The suite's output: {@code report.md}, CSV files and PNG charts. */
final class Report {
  static final String COSTS_HEADER =
      "config,runner,parallelism,mode,checkpointing_ms,state_backend,events,users,records,"
          + "wall_s,records_per_s,cpu_s,records_per_cpu_s,cpu_s_per_million,peak_heap_mb,"
          + "peak_rss_mb,setup_cpu_s,ok,impl,session_impl,sessions_before_input_end,"
          + "ratio_to_native";

  final boolean quick;
  Instant startedAt;
  String loadAtStart;
  String loadAtEnd;
  String machine;
  String input;
  double elapsedSeconds;
  final List<Result> runs = new ArrayList<>();

  /** The Beam job beside the native Flink yardstick, on the same input. */
  final List<Result> compared = new ArrayList<>();

  /** A/B pairs of RocksDB settings. */
  final List<AbPair> abPairs = new ArrayList<>();

  /** One A/B pair: the baseline and the baseline with one setting, run one after the other. */
  record AbPair(String setting, int pair, Result a, Result b) {
    /** CPU-s of B over CPU-s of A: below 1 means the setting saves CPU. */
    double cpuRatio() {
      return b.cpuSeconds() / a.cpuSeconds();
    }
  }

  /** Events sweep (and the cores row): plotted as CPU-s over events. */
  final List<Result> scaling = new ArrayList<>();

  /** Users sweep at a fixed event count: plotted as records per CPU-s over users. */
  final List<Result> usersScaling = new ArrayList<>();

  final List<String> generation = new ArrayList<>();
  final List<String> failures = new ArrayList<>();
  List<StateSize.Row> stateSizes = List.of();
  List<String> jmhCsv = List.of();
  Properties freshness;

  Report(boolean quick) {
    this.quick = quick;
  }

  void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Result> costs = new ArrayList<>(runs);
    for (Result r : compared) {
      if (!costs.contains(r)) { // a row of the runners section reused by the comparison
        costs.add(r);
      }
    }
    Files.write(dir.resolve("costs.csv"), csv(costs));
    if (!abPairs.isEmpty()) {
      Files.write(dir.resolve("rocksdb-ab.csv"), abCsv());
    }
    Files.write(dir.resolve("scaling.csv"), csv(allScaling()));
    if (!stateSizes.isEmpty()) {
      List<String> lines = new ArrayList<>();
      lines.add("session,events,distinct_pages,encoded_bytes");
      for (StateSize.Row r : stateSizes) {
        lines.add(r.name() + "," + r.events() + "," + r.pages() + "," + r.bytes());
      }
      Files.write(dir.resolve("state-size.csv"), lines);
    }
    if (!jmhCsv.isEmpty()) {
      Files.write(dir.resolve("jmh-accumulator.csv"), jmhCsv);
    }
    charts(dir);
    Files.writeString(dir.resolve("report.md"), markdown());
  }

  private List<Result> allScaling() {
    List<Result> all = new ArrayList<>(scaling);
    all.addAll(usersScaling);
    return all;
  }

  /**
   * Records per CPU-second of {@code r} over those of the native yardstick in the same setting on
   * the same input, among {@code all}; NaN when there is none (or {@code r} is not a FlinkRunner
   * row).
   */
  static double ratioToNative(Result r, List<Result> all) {
    if (!r.config.runner().equals("flink") || !r.ok()) {
      return Double.NaN;
    }
    for (Result n : all) {
      if (n.config.isNative()
          && n.ok()
          && n.config.setting().equals(r.config.setting())
          && n.events == r.events
          && n.users == r.users) {
        return r.recordsPerCpuSecond() / n.recordsPerCpuSecond();
      }
    }
    return Double.NaN;
  }

  static List<String> csv(List<Result> results) {
    List<String> lines = new ArrayList<>();
    lines.add(COSTS_HEADER);
    for (Result r : results) {
      BenchSuite.Config c = r.config;
      lines.add(
          String.join(
              ",",
              quote(r.label),
              c.isNative() ? "flink-native" : c.runner(),
              String.valueOf(c.parallelism()),
              c.runner().equals("flink") || c.isNative()
                  ? (c.streaming() ? "streaming" : "batch")
                  : "batch",
              String.valueOf(c.checkpointing()),
              c.backend(),
              String.valueOf(r.events),
              String.valueOf(r.users),
              String.valueOf(r.records()),
              f(r.wallSeconds()),
              f(r.recordsPerSecond()),
              f(r.cpuSeconds()),
              f(r.recordsPerCpuSecond()),
              f(r.cpuSecondsPerMillion()),
              f(r.peakHeapMb()),
              f(r.peakRssMb()),
              f(r.setupCpuSeconds()),
              String.valueOf(r.ok()),
              c.isNative() ? "native" : "beam",
              r.sessionImpl(),
              r.sessionsBeforeInputEnd() >= 0 ? String.valueOf(r.sessionsBeforeInputEnd()) : "",
              f(ratioToNative(r, results))));
    }
    return lines;
  }

  private List<String> abCsv() {
    List<String> lines = new ArrayList<>();
    lines.add(
        "setting,pair,a_cpu_s,b_cpu_s,b_over_a,a_records_per_cpu_s,b_records_per_cpu_s,"
            + "a_peak_rss_mb,b_peak_rss_mb,a_wall_s,b_wall_s,ok");
    for (AbPair p : abPairs) {
      lines.add(
          String.join(
              ",",
              p.setting(),
              String.valueOf(p.pair()),
              f(p.a().cpuSeconds()),
              f(p.b().cpuSeconds()),
              f(p.cpuRatio()),
              f(p.a().recordsPerCpuSecond()),
              f(p.b().recordsPerCpuSecond()),
              f(p.a().peakRssMb()),
              f(p.b().peakRssMb()),
              f(p.a().wallSeconds()),
              f(p.b().wallSeconds()),
              String.valueOf(p.a().ok() && p.b().ok())));
    }
    return lines;
  }

  private static String quote(String s) {
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  private static String f(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return "";
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# sessionize benchmark report").append(quick ? " (--quick)" : "").append("\n\n");
    md.append("- started: ").append(startedAt).append(", took ");
    md.append(String.format(Locale.ROOT, "%.0f s%n", elapsedSeconds));
    md.append("- machine: ").append(machine).append("\n");
    md.append("- load (/proc/loadavg) at start: `").append(loadAtStart).append("`, at end: `");
    md.append(loadAtEnd).append("`\n");
    md.append("- input: ").append(input).append("\n");
    for (String g : generation) {
      md.append("- input generation (not counted below): ").append(g).append("\n");
    }
    md.append(
        "\nEvery row is one JVM (`BenchRun`, -Xmx6g) running the whole pipeline (file source, parse,"
            + " dedup, sessions, dashboard aggregation) with counting sinks. Records = records read"
            + " (events + duplicates + malformed). Wall and CPU are taken around `run()` +"
            + " `waitUntilFinish()` (CPU = utime + stime of /proc/self/stat, all threads); JVM start"
            + " and pipeline construction are the setup CPU column. Records per CPU-s is the"
            + " throughput of one fully used core. Peak heap is sampled every 50 ms; peak RSS is"
            + " VmHWM. Streaming Flink rows read the same files through a source whose watermark"
            + " follows event time, one file per split (`EventTimeFileSource`: the largest event"
            + " time read minus 5 minutes, as the Kafka source's policy), so sessions close while"
            + " the files are read; batch rows read them as a bounded source (state backend and"
            + " checkpoints apply only to streaming; checkpoints every 5 s).\n\n");
    md.append("## Cost per runner\n\n");
    md.append(table(runs));
    md.append("\n![records per CPU-second](throughput.png)\n![CPU-s per million](cost.png)\n");
    if (!compared.isEmpty()) {
      md.append("\n## Beam against the native Flink yardstick\n\n");
      md.append(
          "The same input through `NativeRun`, a Flink 1.19 DataStream job of the same design"
              + " (Jackson in the file source, a 5-minute bounded-out-of-orderness watermark per"
              + " file, `EventTimeSessionWindows` 30 min + 5 min lateness with an"
              + " `AggregateFunction`, 1-minute dashboard windows, counting sinks; no dedup, no"
              + " dead letters with payloads), and through the Beam job as production runs it"
              + " (`--fasterCopy=true`). Streaming rows of both read through sources whose"
              + " watermark follows event time; *before end* is how many session emissions the"
              + " sinks received before the input was read to its end (0: the watermark never"
              + " moved, or the input fit in the network buffers). Ratio = records per CPU-s of the"
              + " Beam row / of the native row.\n\n");
      md.append(comparison(compared));
      md.append("\n");
      md.append(table(compared));
    }
    if (!abPairs.isEmpty()) {
      md.append("\n## RocksDB settings, A/B pairs (Beam job)\n\n");
      md.append(
          "Streaming p2, RocksDB, a checkpoint every 5 s, `--fasterCopy=true`; A is that, B is"
              + " that plus one setting, run one after the other (one warm-up pair not counted)."
              + " B/A below 1 means the setting saves CPU. Only comparable on a quiet machine"
              + " (see the load above). `rocksdb-ab.csv` has every pair.\n\n");
      md.append(abTable());
    }
    if (!allScaling().isEmpty()) {
      md.append("\n## Scaling\n\n");
      md.append(
          "Events sweep (more events, same users; with the full suite also Flink batch p1 on 1 M"
              + " events: 1 core against 2) then users sweep (more users, same events):"
              + " `scaling.csv`, `scaling-events.png`, `scaling-users.png`. Cost is linear in"
              + " events when CPU-s per million stays flat.\n\n");
      md.append(table(allScaling()));
      md.append("\n![scaling events](scaling-events.png)\n![scaling users](scaling-users.png)\n");
    }
    if (!stateSizes.isEmpty()) {
      md.append("\n## State size (session accumulator, encoded)\n\n");
      md.append("| session | events | distinct pages | encoded bytes |\n|---|---:|---:|---:|\n");
      for (StateSize.Row r : stateSizes) {
        md.append(
            String.format("| %s | %d | %d | %d |%n", r.name(), r.events(), r.pages(), r.bytes()));
      }
      md.append("\nTarget: <= 300 bytes for the typical session.\n");
    }
    if (!jmhCsv.isEmpty()) {
      md.append("\n## JMH: accumulator add / merge / encode, line splitting\n\n");
      md.append(
          "| benchmark | mode | score | error | unit | param |\n|---|---|---:|---:|---|---|\n");
      for (String line : jmhCsv.subList(1, jmhCsv.size())) {
        String[] f = line.replace("\"", "").split(",");
        if (f.length >= 7) {
          md.append(
              String.format(
                  "| %s | %s | %s | %s | %s | %s |%n",
                  f[0].replace("dev.sessionize.bench.", "")
                      .replace("dev.sessionize.pipeline.files.", "")
                      .replace("dev.sessionize.pipeline.", ""),
                  f[1],
                  round(f[4]),
                  round(f[5]),
                  f[6],
                  f.length > 7 ? f[7] : ""));
        }
      }
    }
    if (freshness != null) {
      md.append("\n## Dashboard freshness and Kafka -> Iceberg + Redis (FlinkRunner)\n\n");
      md.append(freshness.getProperty("description", "")).append("\n\n");
      md.append("| figure | value |\n|---|---:|\n");
      for (String key : new TreeSetOf(freshness).keys()) {
        if (!key.equals("description")) {
          md.append("| ").append(key).append(" | ").append(freshness.getProperty(key));
          md.append(" |\n");
        }
      }
    }
    if (!failures.isEmpty()) {
      md.append("\n## Failures\n\n");
      for (String f : failures) {
        md.append("- ").append(f).append("\n");
      }
    }
    return md.toString();
  }

  private static String round(String s) {
    try {
      return String.format(Locale.ROOT, "%.1f", Double.parseDouble(s));
    } catch (NumberFormatException e) {
      return s;
    }
  }

  private static final class TreeSetOf {
    private final Properties p;

    TreeSetOf(Properties p) {
      this.p = p;
    }

    List<String> keys() {
      List<String> keys = new ArrayList<>(p.stringPropertyNames());
      keys.sort(null);
      return keys;
    }
  }

  /** One line per row of the comparison: native, then each Beam row with its ratio. */
  static String comparison(List<Result> results) {
    StringBuilder md = new StringBuilder();
    md.append(
        "| setting | job | records per CPU-s | ratio to native | CPU s | peak RSS MB | before"
            + " end / session emissions |\n|---|---|---:|---:|---:|---:|---:|\n");
    for (Result r : results) {
      BenchSuite.Config c = r.config;
      String setting =
          c.streaming()
              ? String.format(
                  Locale.ROOT,
                  "streaming p%d %s %s",
                  c.parallelism(),
                  c.backend(),
                  c.checkpointing() > 0 ? "ckpt " + c.checkpointing() / 1000 + " s" : "no ckpt")
              : "batch p" + c.parallelism();
      String job = c.isNative() ? "native Flink" : "Beam, sessionImpl=" + r.sessionImpl();
      if (!r.ok()) {
        md.append(String.format("| %s | %s | failed (see Failures) |%n", setting, job));
        continue;
      }
      double ratio = ratioToNative(r, results);
      String ratioText =
          c.isNative()
              ? "1.00"
              : Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "**%.2f**", ratio);
      String beforeEnd =
          r.sessionsBeforeInputEnd() >= 0
              ? String.format(
                  Locale.ROOT, "%,d / %,d", r.sessionsBeforeInputEnd(), r.num("sessionEmissions"))
              : "-";
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %,.0f | %s | %.1f | %.0f | %s |%n",
              setting,
              job,
              r.recordsPerCpuSecond(),
              ratioText,
              r.cpuSeconds(),
              r.peakRssMb(),
              beforeEnd));
    }
    return md.toString();
  }

  private String abTable() {
    StringBuilder md = new StringBuilder();
    md.append(
        "| setting | pairs | CPU-s A (median) | CPU-s B (median) | B/A per pair | B/A of medians"
            + " |\n|---|---:|---:|---:|---|---:|\n");
    List<String> settings = new ArrayList<>();
    for (AbPair p : abPairs) {
      if (!settings.contains(p.setting())) {
        settings.add(p.setting());
      }
    }
    for (String setting : settings) {
      List<Double> a = new ArrayList<>();
      List<Double> b = new ArrayList<>();
      List<String> ratios = new ArrayList<>();
      for (AbPair p : abPairs) {
        if (p.setting().equals(setting) && p.a().ok() && p.b().ok()) {
          a.add(p.a().cpuSeconds());
          b.add(p.b().cpuSeconds());
          ratios.add(String.format(Locale.ROOT, "%.2f", p.cpuRatio()));
        }
      }
      if (a.isEmpty()) {
        md.append(String.format("| %s | 0 | failed (see Failures) |%n", setting));
        continue;
      }
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.1f | %.1f | %s | %.3f |%n",
              setting,
              a.size(),
              median(a),
              median(b),
              String.join(", ", ratios),
              median(b) / median(a)));
    }
    return md.toString();
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  static String table(List<Result> results) {
    StringBuilder md = new StringBuilder();
    md.append(
        "| config | events | users | records | wall s | records/s | CPU s | records per CPU-s |"
            + " CPU-s per M records | peak heap MB | peak RSS MB | setup CPU s |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Result r : results) {
      if (!r.ok()) {
        md.append(
            String.format(
                "| %s | %,d | %,d | failed (see Failures) |%n", r.label, r.events, r.users));
        continue;
      }
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %,d | %,d | %,d | %.1f | %,.0f | %.1f | %,.0f | %.1f | %.0f | %.0f | %.1f |%n",
              r.label,
              r.events,
              r.users,
              r.records(),
              r.wallSeconds(),
              r.recordsPerSecond(),
              r.cpuSeconds(),
              r.recordsPerCpuSecond(),
              r.cpuSecondsPerMillion(),
              r.peakHeapMb(),
              r.peakRssMb(),
              r.setupCpuSeconds()));
    }
    return md.toString();
  }

  private void charts(Path dir) throws IOException {
    DefaultCategoryDataset perCpu = new DefaultCategoryDataset();
    DefaultCategoryDataset cost = new DefaultCategoryDataset();
    for (Result r : runs) {
      if (r.ok()) {
        perCpu.addValue(r.recordsPerCpuSecond(), "records per CPU-s", r.label);
        perCpu.addValue(r.recordsPerSecond(), "records per wall s", r.label);
        cost.addValue(r.cpuSecondsPerMillion(), "CPU-s per million records", r.label);
        cost.addValue(r.peakRssMb() / 100, "peak RSS (100 MB)", r.label);
      }
    }
    bar(dir.resolve("throughput.png"), "Throughput per runner", "records/s", perCpu);
    bar(dir.resolve("cost.png"), "Cost per runner", "CPU-s / M records; RSS / 100 MB", cost);
    XYSeriesCollection byEvents = new XYSeriesCollection();
    XYSeriesCollection byUsers = new XYSeriesCollection();
    for (Result r : scaling) {
      if (r.ok()) {
        series(byEvents, r.config.label() + " CPU-s").add(r.events, r.cpuSeconds());
      }
    }
    for (Result r : usersScaling) {
      if (r.ok()) {
        series(byUsers, r.config.label() + " records/CPU-s").add(r.users, r.recordsPerCpuSecond());
      }
    }
    xy(dir.resolve("scaling-events.png"), "CPU seconds vs events", "events", "CPU s", byEvents);
    xy(
        dir.resolve("scaling-users.png"),
        "Throughput vs users",
        "users",
        "records per CPU-s",
        byUsers);
  }

  private static XYSeries series(XYSeriesCollection c, String key) {
    for (int i = 0; i < c.getSeriesCount(); i++) {
      if (c.getSeriesKey(i).equals(key)) {
        return c.getSeries(i);
      }
    }
    XYSeries s = new XYSeries(key);
    c.addSeries(s);
    return s;
  }

  private static void bar(Path file, String title, String axis, DefaultCategoryDataset data)
      throws IOException {
    JFreeChart chart =
        ChartFactory.createBarChart(
            title, null, axis, data, PlotOrientation.VERTICAL, true, false, false);
    chart.getCategoryPlot().getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 650);
  }

  private static void xy(Path file, String title, String x, String y, XYSeriesCollection data)
      throws IOException {
    JFreeChart chart =
        ChartFactory.createXYLineChart(
            title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 900, 550);
  }
}
