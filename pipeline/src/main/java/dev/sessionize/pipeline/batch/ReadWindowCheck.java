package dev.sessionize.pipeline.batch;

import dev.sessionize.transforms.model.Session;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * Whether the records a backfill read are enough to recompute the sessions it replaces exactly as
 * the stream computed them, checked on the run's own output before anything is committed.
 *
 * <p>The backfill reads the archive by the day records were <i>read</i> (ingestion time), while it
 * replaces sessions by the day they <i>start</i> (event time). Two conditions make the replaced
 * sessions the stream's:
 *
 * <ul>
 *   <li><b>Start.</b> A record with event time {@code t} was read at {@code t - maxFutureSkew} or
 *       later (one further ahead is FUTURE_TIMESTAMP), so every record with {@code t >=
 *       completeFrom = first read day + maxFutureSkew} is in the read days. Each user's chain of
 *       sessions that holds a replaced session (sessions follow each other with less than a gap
 *       between them when a late event found the earlier one final, or at a {@code
 *       maxSessionDuration} cut) must begin at least a gap after {@code completeFrom}: then the gap
 *       before it is real, its first cut falls where the stream's did, and no record before the
 *       read days can have changed a gate verdict, a gate horizon or a dedup decision of its events
 *       (the partition's stream time before them was at most {@code completeFrom}).
 *   <li><b>End.</b> Once a partition's stream time {@code S} is past {@code t + gap +
 *       allowedLateness + maxOutOfOrderness}, any later record of it with event time {@code t} or
 *       earlier is TOO_LATE. So the stream time that the read days leave in every partition (every
 *       partition seen, and every partition with records read after them) must be that far past the
 *       end of the replaced days and past the last session of every replaced chain plus a gap: no
 *       later record can still extend, join or start one of them, and the stream has made them
 *       final.
 * </ul>
 *
 * When a condition fails, {@link RequireFn} fails the run on its first session (the sessions reach
 * the sink only through it, so nothing is committed) with a message that names the side to extend
 * ({@link #find}); {@link BackfillSessions#backfill} then reads one more archive day on that side.
 */
final class ReadWindowCheck {
  private static final Pattern TOKEN =
      Pattern.compile("\\[read-window earlier=(true|false) later=(true|false)\\]");

  private ReadWindowCheck() {}

  /** What the run must check: the replaced start times and the event-time rules of the stream. */
  record Bounds(
      boolean fromArchiveStart,
      long readFrom,
      long maxFutureSkewMillis,
      long replacedFrom,
      long replacedTo,
      long gapMillis,
      long finalAfterMillis,
      Set<Integer> partitionsReadLater,
      String readDays)
      implements Serializable {}

  /** What the run read: per partition the highest event time and the lowest offset. */
  record Read(
      Map<String, Long> streamTimes, Map<String, Long> lowestOffsets, long firstIngestedAt) {}

  /**
   * The earliest event time from which every record is in the read days: the first read day +
   * maxFutureSkew; when the read days start with the archive, nothing was read before them if every
   * partition was archived from offset 0, else only from the archive's first record on.
   */
  static long completeFrom(Bounds b, Read read) {
    if (!b.fromArchiveStart()) {
      return b.readFrom() + b.maxFutureSkewMillis();
    }
    boolean fromOffsetZero = !read.lowestOffsets().isEmpty();
    for (long offset : read.lowestOffsets().values()) {
      fromOffsetZero &= offset == 0;
    }
    return fromOffsetZero ? Long.MIN_VALUE : read.firstIngestedAt() + b.maxFutureSkewMillis();
  }

  /** Each user's chains of sessions, as far as the replaced ones are concerned. */
  static final class Summary implements Serializable {
    long earliestStart = Long.MAX_VALUE;
    @Nullable String earliestExample;
    long needUntil = Long.MIN_VALUE;
    @Nullable String needExample;

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Summary s
          && s.earliestStart == earliestStart
          && java.util.Objects.equals(s.earliestExample, earliestExample)
          && s.needUntil == needUntil
          && java.util.Objects.equals(s.needExample, needExample);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(earliestStart, earliestExample, needUntil, needExample);
    }

    Summary merge(Summary other) {
      if (other.earliestStart < earliestStart) {
        earliestStart = other.earliestStart;
        earliestExample = other.earliestExample;
      }
      if (other.needUntil > needUntil) {
        needUntil = other.needUntil;
        needExample = other.needExample;
      }
      return this;
    }
  }

  /** The chains of one user's sessions (consecutive sessions less than a gap apart). */
  static class ChainsFn extends DoFn<KV<String, Iterable<Session>>, Summary> {
    private final Bounds bounds;
    // One summary per bundle, not per user (the DirectRunner's global combine copies its buffered
    // values for every value it adds).
    private transient Summary bundle;

    ChainsFn(Bounds bounds) {
      this.bounds = bounds;
    }

    @StartBundle
    public void startBundle() {
      bundle = new Summary();
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext c) {
      c.output(bundle, BoundedWindow.TIMESTAMP_MIN_VALUE, GlobalWindow.INSTANCE);
    }

    /** What this bundle found so far (for tests). */
    Summary bundleSummary() {
      return bundle;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<Session>> user) {
      List<Session> sessions = new ArrayList<>();
      user.getValue().forEach(sessions::add);
      sessions.sort(
          (a, b) ->
              a.startTime().equals(b.startTime())
                  ? a.endTime().compareTo(b.endTime())
                  : a.startTime().compareTo(b.startTime()));
      Summary summary = new Summary();
      int first = 0;
      while (first < sessions.size()) {
        long chainStart = sessions.get(first).startTime().getMillis();
        long chainEnd = sessions.get(first).endTime().getMillis();
        boolean replaced = false;
        int next = first;
        while (next < sessions.size()
            && sessions.get(next).startTime().getMillis() < chainEnd + bounds.gapMillis()) {
          Session s = sessions.get(next);
          chainEnd = Math.max(chainEnd, s.endTime().getMillis());
          long start = s.startTime().getMillis();
          replaced |= start >= bounds.replacedFrom() && start < bounds.replacedTo();
          next++;
        }
        if (replaced) {
          if (chainStart < summary.earliestStart) {
            summary.earliestStart = chainStart;
            summary.earliestExample =
                "user "
                    + user.getKey()
                    + "'s sessions from "
                    + new Instant(chainStart)
                    + " follow each other with less than a gap into the replaced days";
          }
          long need = chainEnd + bounds.gapMillis();
          if (need > summary.needUntil) {
            summary.needUntil = need;
            summary.needExample =
                "user " + user.getKey() + "'s sessions until " + new Instant(chainEnd);
          }
        }
        first = next;
      }
      bundle.merge(summary);
    }
  }

  /** All users' {@link Summary} in one. */
  static class SummaryFn extends Combine.CombineFn<Summary, Summary, Summary> {
    @Override
    public Summary createAccumulator() {
      return new Summary();
    }

    @Override
    public Summary addInput(Summary acc, Summary input) {
      return acc.merge(input);
    }

    @Override
    public Summary mergeAccumulators(Iterable<Summary> accs) {
      Summary all = new Summary();
      for (Summary s : accs) {
        all.merge(s);
      }
      return all;
    }

    @Override
    public Summary extractOutput(Summary acc) {
      return acc;
    }
  }

  /**
   * The check, once per run: outputs "complete" when the read days are enough, and otherwise fails
   * the run (before its commit, which waits for this output) with the message {@link #find} reads.
   */
  static class CheckFn extends DoFn<String, String> {
    static final String CHAINS = "chains";
    static final String STREAM_TIMES = "streamTimes";
    static final String LOWEST_OFFSETS = "lowestOffsets";
    static final String FIRST_INGESTED = "firstIngested";

    private final Bounds bounds;

    CheckFn(Bounds bounds) {
      this.bounds = bounds;
    }

    @ProcessElement
    public void process(
        @SideInput(CHAINS) Summary chains,
        @SideInput(STREAM_TIMES) Map<String, Long> streamTimes,
        @SideInput(LOWEST_OFFSETS) Map<String, Long> lowestOffsets,
        @SideInput(FIRST_INGESTED) Long firstIngested,
        OutputReceiver<String> out) {
      String problem = problem(bounds, chains, new Read(streamTimes, lowestOffsets, firstIngested));
      if (problem != null) {
        throw new IllegalStateException(problem);
      }
      out.output("complete");
    }
  }

  /** Passes the sessions once the check has passed (no data file is written before). */
  static class AfterCheckFn extends DoFn<Session, Session> {
    static final String CHECK = "check";

    @ProcessElement
    public void process(
        @Element Session s, @SideInput(CHECK) String check, OutputReceiver<Session> out) {
      out.output(s);
    }
  }

  /** The message of a failed check, or null when the read days are enough. */
  static @Nullable String problem(Bounds b, Summary chains, Read read) {
    Map<String, Long> streamTimes = read.streamTimes();
    long completeFrom = completeFrom(b, read);
    // Every record of the replaced days' events and the gap before them must be in the read days,
    // and every replaced chain must start a gap after the first complete time.
    long earliest = Math.min(b.replacedFrom(), chains.earliestStart);
    boolean earlier = completeFrom != Long.MIN_VALUE && earliest - b.gapMillis() < completeFrom;
    long need = Math.max(b.replacedTo(), chains.needUntil);
    long horizon = Long.MAX_VALUE;
    String lowest = null;
    Set<Integer> seen = new TreeSet<>();
    for (Map.Entry<String, Long> e : streamTimes.entrySet()) {
      String key = e.getKey();
      seen.add(Integer.parseInt(key.substring(key.lastIndexOf('/') + 1)));
      long h = e.getValue() - b.finalAfterMillis();
      if (h < horizon) {
        horizon = h;
        lowest = "partition " + key + "'s stream time is " + new Instant(e.getValue());
      }
    }
    if (streamTimes.isEmpty()) {
      horizon = Long.MIN_VALUE;
      lowest = "no event was read in them";
    }
    for (int p : b.partitionsReadLater()) {
      if (!seen.contains(p)) {
        horizon = Long.MIN_VALUE;
        lowest = "partition " + p + " has records read after the read days and none in them";
      }
    }
    boolean later = horizon < need;
    if (!earlier && !later) {
      return null;
    }
    StringBuilder message =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "the read days %s are not enough [read-window earlier=%s later=%s]:",
                b.readDays(),
                earlier,
                later));
    if (earlier) {
      message.append(
          String.format(
              Locale.ROOT,
              " %s is less than a gap after %s, the earliest event time all of whose records are"
                  + " in them%s;",
              earliest == b.replacedFrom()
                  ? "the first replaced day " + new Instant(b.replacedFrom())
                  : chains.earliestExample,
              new Instant(completeFrom),
              b.fromArchiveStart()
                  ? " (the archive starts with them, and not at offset 0 of every partition: the"
                      + " job read records before it archived them)"
                  : ""));
    }
    if (later) {
      message.append(
          String.format(
              Locale.ROOT,
              " later records could still change the replaced sessions (%s): every partition's"
                  + " stream time must be past %s, gap + allowed lateness + out-of-orderness after"
                  + " %s, and %s;",
              need == b.replacedTo()
                  ? "the replaced days end at " + new Instant(b.replacedTo())
                  : chains.needExample + ", plus a gap",
              new Instant(need + b.finalAfterMillis()),
              new Instant(need),
              lowest));
    }
    message.setLength(message.length() - 1);
    return message.toString();
  }

  /** Which side a failed check asks to extend, found in an exception's causes (also as text). */
  record Failure(boolean earlier, boolean later, String message) {}

  static @Nullable Failure find(Throwable thrown) {
    for (Throwable t = thrown; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String text = t.getMessage() == null ? "" : t.getMessage();
      Matcher m = TOKEN.matcher(text);
      if (m.find()) {
        int start = text.lastIndexOf("the read days", m.start());
        int end = text.indexOf('\n', m.end());
        return new Failure(
            Boolean.parseBoolean(m.group(1)),
            Boolean.parseBoolean(m.group(2)),
            text.substring(Math.max(0, start), end < 0 ? text.length() : end));
      }
    }
    return null;
  }
}
