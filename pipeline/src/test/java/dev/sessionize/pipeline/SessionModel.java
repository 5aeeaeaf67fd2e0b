package dev.sessionize.pipeline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The spec's session rules written the plain way, as the independent side of tests: events of a
 * user whose {@code [t, t + gap)} intervals overlap form one session, unless a session is already
 * final (the watermark has reached its last event + gap + allowed lateness) when the event arrives;
 * then the event starts a new session.
 */
final class SessionModel {
  private final long gap;
  private final long lateness;
  private final Map<String, List<long[]>> open = new HashMap<>();
  private final List<String> closed = new ArrayList<>();

  SessionModel(Duration gap, Duration allowedLateness) {
    this.gap = gap.getMillis();
    this.lateness = allowedLateness.getMillis();
  }

  /** An accepted event of {@code user} at {@code t}, arriving when the watermark is {@code w}. */
  void accept(String user, Instant t, Instant w) {
    List<long[]> sessions = open.computeIfAbsent(user, u -> new ArrayList<>());
    long time = t.getMillis();
    long[] merged = {time, time, 1};
    for (Iterator<long[]> it = sessions.iterator(); it.hasNext(); ) {
      long[] s = it.next(); // start, end, count
      if (s[1] + gap + lateness <= w.getMillis()) {
        closed.add(describe(user, s));
        it.remove();
      } else if (s[0] < time + gap && time < s[1] + gap) {
        merged[0] = Math.min(merged[0], s[0]);
        merged[1] = Math.max(merged[1], s[1]);
        merged[2] += s[2];
        it.remove();
      }
    }
    // A merge can make the new session reach others that did not touch the event itself.
    boolean grew = true;
    while (grew) {
      grew = false;
      for (Iterator<long[]> it = sessions.iterator(); it.hasNext(); ) {
        long[] s = it.next();
        if (s[0] < merged[1] + gap && merged[0] < s[1] + gap) {
          merged[0] = Math.min(merged[0], s[0]);
          merged[1] = Math.max(merged[1], s[1]);
          merged[2] += s[2];
          it.remove();
          grew = true;
        }
      }
    }
    sessions.add(merged);
  }

  /** Every session, final or still open at the end of the stream. */
  List<String> sessions() {
    List<String> all = new ArrayList<>(closed);
    open.forEach((user, sessions) -> sessions.forEach(s -> all.add(describe(user, s))));
    return all;
  }

  private static String describe(String user, long[] s) {
    return user + " " + new Instant(s[0]) + " " + new Instant(s[1]) + " " + s[2];
  }

  /** Fails with the first few differences (not the whole lists) when they differ as multisets. */
  static Void assertSame(List<String> expected, Iterable<String> actual) {
    TreeMap<String, Integer> diff = new TreeMap<>();
    for (String e : expected) {
      diff.merge(e, 1, Integer::sum);
    }
    int n = 0;
    for (String a : actual) {
      diff.merge(a, -1, Integer::sum);
      n++;
    }
    diff.values().removeIf(v -> v == 0);
    if (!diff.isEmpty()) {
      StringBuilder message =
          new StringBuilder(
              "final sessions differ from the model: "
                  + expected.size()
                  + " expected, "
                  + n
                  + " actual, "
                  + diff.size()
                  + " differences (+ missing, - unexpected), first ones:");
      diff.entrySet().stream()
          .limit(10)
          .forEach(
              e ->
                  message.append("\n  ").append(e.getValue() > 0 ? "+ " : "- ").append(e.getKey()));
      throw new AssertionError(message.toString());
    }
    return null;
  }
}
