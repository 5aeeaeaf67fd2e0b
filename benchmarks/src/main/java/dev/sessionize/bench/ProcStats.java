package dev.sessionize.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What this JVM costs, from the kernel's accounting: CPU time (utime + stime of {@code
 * /proc/self/stat}, all threads, in clock ticks of 10 ms), peak resident set ({@code VmHWM} of
 * {@code /proc/self/status}), and the peak used heap, sampled every 50 ms by a daemon thread.
 */
final class ProcStats {
  private static final long TICK_NANOS = 10_000_000L; // USER_HZ = 100 on Linux

  private final AtomicLong peakHeap = new AtomicLong();

  private ProcStats() {}

  /** Starts the heap sampler. */
  static ProcStats start() {
    ProcStats stats = new ProcStats();
    Thread sampler =
        new Thread(
            () -> {
              while (true) {
                stats.sampleHeap();
                try {
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "bench-heap-sampler");
    sampler.setDaemon(true);
    sampler.start();
    return stats;
  }

  private void sampleHeap() {
    long used = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        used += pool.getUsage().getUsed();
      }
    }
    peakHeap.accumulateAndGet(used, Math::max);
  }

  /** Peak used heap seen by the sampler, in bytes. */
  long peakHeapBytes() {
    sampleHeap();
    return peakHeap.get();
  }

  /** CPU time of this process so far (user + system, all threads), in nanoseconds. */
  static long cpuNanos() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
      // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long utime = Long.parseLong(f[11]); // field 14 of the whole line
      long stime = Long.parseLong(f[12]); // field 15
      return (utime + stime) * TICK_NANOS;
    } catch (IOException | RuntimeException e) {
      return ManagementFactory.getRuntimeMXBean().getUptime() < 0 ? 0 : -1;
    }
  }

  /** Peak resident set size of this process ({@code VmHWM}), in bytes; -1 when unknown. */
  static long peakRssBytes() {
    return statusKb("VmHWM:") * 1024;
  }

  private static long statusKb(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field)) {
          return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }
}
