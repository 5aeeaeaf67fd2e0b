package dev.sessionize.bench;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Whether the benchmark's input has been read to its end, for this JVM: a benchmark run (one JVM,
 * the runner's cluster embedded) declares how many files it reads, the sources report each file
 * they finish, and the counting sinks count what they receive before and after that moment. A
 * streaming row whose sessions were all emitted after the end of input had a watermark that never
 * moved (the fault of a bounded source in streaming mode); sessions emitted before it prove that
 * event time advanced as the files were read.
 */
public final class InputProgress {
  private static volatile int expected = Integer.MAX_VALUE;
  private static final Set<String> finished = ConcurrentHashMap.newKeySet();

  private InputProgress() {}

  /** The run reads this many files; nothing has been read yet. */
  public static void expect(int files) {
    finished.clear();
    expected = files;
  }

  /** A source read {@code file} to its end (idempotent: a file counts once). */
  public static void finished(String file) {
    finished.add(file);
  }

  /** True once every expected file was read to its end. */
  public static boolean ended() {
    return finished.size() >= expected;
  }
}
