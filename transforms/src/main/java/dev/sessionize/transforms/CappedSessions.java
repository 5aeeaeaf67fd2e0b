package dev.sessionize.transforms;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.ToLongFunction;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Sessions;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.transforms.windowing.WindowMappingFn;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * {@link Sessions} with a cap on a session's duration: a user who never pauses for a whole gap (a
 * bot at one event per second) gets a new session every {@code maxDuration} instead of one that
 * never ends and is never emitted.
 *
 * <p>Each event opens {@code [t, t + gap)}, as with {@link Sessions}; overlapping windows merge,
 * except that a merge is refused when the merged session's events would span {@code maxDuration} or
 * more (event time of the latest minus the earliest). Windows are merged in order of start: a
 * session starts at its earliest event S and takes every overlapping event before {@code S +
 * maxDuration}; the first event at or after that starts the next session. So every session's {@code
 * duration_seconds} is below {@code maxDuration}, and a session shorter than that is exactly the
 * {@link Sessions} one.
 *
 * <p><b>Determinism.</b> When the runner merges all of a user's windows at once (bounded input on
 * the DirectRunner) or in event-time order (a stream whose out-of-orderness and lateness are much
 * shorter than {@code maxDuration}), the cuts fall at {@code S + k * maxDuration} measured from the
 * first event after each cut, so the same input gives the same sessions and ids. A session that
 * Beam has already merged is never split again, so an event that arrives later than {@code
 * maxDuration} and lands before a capped session's start can open a session of its own instead; the
 * cap still holds.
 */
public final class CappedSessions extends WindowFn<Object, IntervalWindow> {
  private static final long serialVersionUID = 1L;

  private final Duration gap;
  private final Duration maxDuration;

  private CappedSessions(Duration gap, Duration maxDuration) {
    if (!maxDuration.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("maxDuration must be positive, got " + maxDuration);
    }
    this.gap = gap;
    this.maxDuration = maxDuration;
  }

  public static CappedSessions of(Duration gap, Duration maxDuration) {
    return new CappedSessions(gap, maxDuration);
  }

  public Duration gap() {
    return gap;
  }

  public Duration maxDuration() {
    return maxDuration;
  }

  @Override
  public Collection<IntervalWindow> assignWindows(AssignContext c) {
    return Collections.singletonList(new IntervalWindow(c.timestamp(), gap));
  }

  @Override
  public void mergeWindows(MergeContext c) throws Exception {
    List<IntervalWindow> sorted = new ArrayList<>(c.windows());
    Collections.sort(sorted);
    for (List<IntervalWindow> group :
        mergeGroups(
            sorted,
            w -> w.start().getMillis(),
            w -> w.end().getMillis(),
            gap.getMillis(),
            maxDuration.getMillis())) {
      if (group.size() > 1) {
        c.merge(group, new IntervalWindow(group.get(0).start(), endOf(group)));
      }
    }
  }

  private static Instant endOf(List<IntervalWindow> group) {
    Instant end = group.get(0).end();
    for (IntervalWindow w : group) {
      end = w.end().isAfter(end) ? w.end() : end;
    }
    return end;
  }

  /**
   * The merge rule, on anything with a window's bounds ({@code [start, end)}, in milliseconds):
   * {@code sorted} (by start, then end) cut into the groups that merge. A window joins the group
   * before it when it overlaps the group and the merged session's events (from the group's start to
   * the merged end minus the gap) would span less than {@code maxDurationMillis}. The sessions step
   * in keyed state ({@link StatefulSessions}) merges with this same rule, so both implementations
   * cut a long session at the same events.
   */
  static <T> List<List<T>> mergeGroups(
      List<T> sorted,
      ToLongFunction<T> start,
      ToLongFunction<T> end,
      long gapMillis,
      long maxDurationMillis) {
    List<List<T>> groups = new ArrayList<>();
    List<T> group = null;
    long groupStart = 0;
    long groupEnd = 0;
    for (T w : sorted) {
      if (group != null && start.applyAsLong(w) < groupEnd) {
        long merged = Math.max(end.applyAsLong(w), groupEnd);
        // The latest event of the merged session is at merged end - gap.
        if (merged - gapMillis - groupStart < maxDurationMillis) {
          group.add(w);
          groupEnd = merged;
          continue;
        }
      }
      group = new ArrayList<>();
      group.add(w);
      groups.add(group);
      groupStart = start.applyAsLong(w);
      groupEnd = end.applyAsLong(w);
    }
    return groups;
  }

  @Override
  public boolean isCompatible(WindowFn<?, ?> other) {
    return equals(other);
  }

  @Override
  public Coder<IntervalWindow> windowCoder() {
    return IntervalWindow.getCoder();
  }

  @Override
  public WindowMappingFn<IntervalWindow> getDefaultWindowMappingFn() {
    throw new UnsupportedOperationException("CappedSessions is not allowed in side inputs");
  }

  @Override
  public boolean assignsToOneWindow() {
    return true;
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("gapDuration", gap).withLabel("Session Gap Duration"))
        .add(DisplayData.item("maxDuration", maxDuration).withLabel("Maximum Session Duration"));
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof CappedSessions
        && ((CappedSessions) o).gap.equals(gap)
        && ((CappedSessions) o).maxDuration.equals(maxDuration);
  }

  @Override
  public int hashCode() {
    return Objects.hash(gap, maxDuration);
  }
}
