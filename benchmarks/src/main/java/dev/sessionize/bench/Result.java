package dev.sessionize.bench;

import java.util.Properties;

/** What one JVM of the suite measured (see {@link BenchRun}), with how it was launched. */
final class Result {
  final String label;
  final BenchSuite.Config config;
  final int exit;
  final double processWallSeconds;
  final Properties p;
  int events;
  int users;

  Result(
      String label, BenchSuite.Config config, int exit, double processWallSeconds, Properties p) {
    this.label = label;
    this.config = config;
    this.exit = exit;
    this.processWallSeconds = processWallSeconds;
    this.p = p;
  }

  Result with(int events, int users) {
    this.events = events;
    this.users = users;
    return this;
  }

  boolean ok() {
    return exit == 0 && "DONE".equals(p.getProperty("state")) && records() > 0;
  }

  long num(String key) {
    String v = p.getProperty(key);
    return v == null ? -1 : Long.parseLong(v);
  }

  long records() {
    return num("records");
  }

  double wallSeconds() {
    long w = num("wallNanos");
    return w < 0 ? Math.round(processWallSeconds * 10) / 10.0 : w / 1e9;
  }

  double cpuSeconds() {
    return num("cpuNanos") / 1e9;
  }

  /** Records per second of wall time, while the pipeline ran. */
  double recordsPerSecond() {
    return records() / wallSeconds();
  }

  /** Records per CPU-second: the throughput of one fully used core. */
  double recordsPerCpuSecond() {
    return records() / cpuSeconds();
  }

  double cpuSecondsPerMillion() {
    return cpuSeconds() * 1e6 / records();
  }

  double peakHeapMb() {
    return num("peakHeapBytes") / 1048576.0;
  }

  double peakRssMb() {
    return num("peakRssBytes") / 1048576.0;
  }

  double setupCpuSeconds() {
    return num("setupCpuNanos") / 1e9;
  }

  /** Session emissions the sinks received before the input was read to its end; -1: unknown. */
  long sessionsBeforeInputEnd() {
    return p.getProperty("sessionEmissionsBeforeInputEnd") == null
        ? -1
        : num("sessionEmissionsBeforeInputEnd");
  }

  /** Which sessions step the row ran ({@code --sessionImpl}); "-" for the native yardstick. */
  String sessionImpl() {
    if (config.isNative()) {
      return "-";
    }
    for (String a : config.args()) {
      if (a.startsWith("--sessionImpl=")) {
        return a.substring("--sessionImpl=".length());
      }
    }
    return "windows";
  }

  String summary() {
    if (!ok()) {
      return label + ": FAILED (exit " + exit + ", state " + p.getProperty("state") + ")";
    }
    return String.format(
        "%s: %,d records in %.1f s = %,.0f records/s, %.1f CPU-s = %,.0f records per CPU-s, peak"
            + " RSS %.0f MB%s",
        label,
        records(),
        wallSeconds(),
        recordsPerSecond(),
        cpuSeconds(),
        recordsPerCpuSecond(),
        peakRssMb(),
        sessionsBeforeInputEnd() >= 0
            ? String.format(
                ", %,d of %,d session emissions before the input ended",
                sessionsBeforeInputEnd(), num("sessionEmissions"))
            : "");
  }
}
