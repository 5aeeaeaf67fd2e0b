package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Seeded random streams for comparing the two sessions steps: events of a few users with their
 * arrival order and the watermark moves between them, each seed in its own stretch of event time
 * and with its own users. Several seeds share one stretch of event time and one watermark (their
 * arrivals interleaved by arrival time, at most one event of a user per step), and such streams
 * follow each other in one {@link TestStream}, so a thousand seeds take a few thousand steps.
 *
 * <p>A stream has out-of-order events, late events within the allowed lateness, late events that
 * bridge two sessions or move a session's start, droppably late events, duplicates (the same record
 * again) soon after and long after the original, bots that never pause for a whole gap (cut by
 * {@code maxSessionDuration}), watermarks that land exactly on a session's end of window or its
 * expiry (and one millisecond either side), and jumps of the watermark over many sessions (a
 * backlog caught up).
 */
public final class SessionScenarios {
  /** Each stream's stretch of event time; the next stream's first watermark ends it. */
  static final Duration STRETCH = Duration.standardDays(20);

  /** The first stream's stretch starts here. */
  static final Instant ORIGIN = Instant.parse("2026-01-01T00:00:00Z");

  private static final String[] PAGES = {
    "/home", "/shoes", "/shoes?color=red", "/cart", "/checkout", "/a/very/long/path/to/a/product"
  };
  private static final String[] TYPES = {
    ClickEvent.PAGE_VIEW, ClickEvent.PAGE_VIEW, ClickEvent.CLICK, ClickEvent.PURCHASE, "scroll"
  };

  private SessionScenarios() {}

  /**
   * One step of a stream: events of distinct users (so no user's late panes coalesce) or a
   * watermark move.
   */
  public static final class Step {
    public final List<ClickEvent> events;
    public final Instant watermark;

    private Step(List<ClickEvent> events, Instant watermark) {
      this.events = events;
      this.watermark = watermark;
    }
  }

  /** The user ids of seed {@code seed} start with this. */
  public static String userPrefix(long seed) {
    return "s" + seed + "-";
  }

  /**
   * The steps of seeds {@code [first, first + count)} for {@code config}'s gap, allowed lateness
   * and session cap: {@code perStream} seeds at a time share a stretch of event time and one
   * watermark, their arrivals interleaved by arrival time; the streams follow each other.
   */
  public static List<Step> steps(long first, int count, int perStream, SessionizeConfig config) {
    List<Step> steps = new ArrayList<>();
    int stream = 0;
    for (long seed = first; seed < first + count; seed += perStream, stream++) {
      Instant base = ORIGIN.plus(STRETCH.multipliedBy(stream));
      int n = (int) Math.min(perStream, first + count - seed);
      steps.addAll(stream(seed, n, base, config));
    }
    return steps;
  }

  /** The steps as a test stream: each user has at most one event per step. */
  public static TestStream<ClickEvent> stream(List<Step> steps) {
    TestStream.Builder<ClickEvent> b = TestStream.create(ClickEvent.ClickEventCoder.of());
    Instant watermark = null;
    for (Step s : steps) {
      if (s.events != null) {
        List<TimestampedValue<ClickEvent>> values = new ArrayList<>();
        for (ClickEvent e : s.events) {
          values.add(TimestampedValue.of(e, e.timestamp()));
        }
        b =
            b.addElements(
                values.get(0), values.subList(1, values.size()).toArray(new TimestampedValue[0]));
      } else if (watermark == null || s.watermark.isAfter(watermark)) {
        b = b.advanceWatermarkTo(s.watermark);
        watermark = s.watermark;
      }
    }
    return b.advanceWatermarkToInfinity();
  }

  /** An event and when it arrives (its event time plus a delay). */
  private record Arrival(long at, long seed, ClickEvent event) {}

  private static List<Step> stream(
      long firstSeed, int seeds, Instant base, SessionizeConfig config) {
    List<Arrival> arrivals = new ArrayList<>();
    for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
      arrivals.addAll(seed(seed, base, config));
    }
    arrivals.sort(Comparator.comparingLong(Arrival::at).thenComparingLong(Arrival::seed));

    Random r = new Random(firstSeed * 31 + seeds);
    long gap = config.sessionGap().getMillis();
    long lateness = config.allowedLateness().getMillis();
    long outOfOrder = config.maxOutOfOrderness().getMillis();
    List<Step> steps = new ArrayList<>();
    long watermark = base.getMillis();
    steps.add(new Step(null, new Instant(watermark)));
    long maxSeen = Long.MIN_VALUE;
    int stalled = 0;
    ClickEvent boundary = null;
    List<ClickEvent> step = new ArrayList<>();
    List<ClickEvent> arrived = new ArrayList<>();
    Set<String> usersInStep = new HashSet<>();
    for (Arrival a : arrivals) {
      if (!usersInStep.add(a.event.userId())) {
        steps.add(new Step(step, null));
        step = new ArrayList<>();
        usersInStep.clear();
        usersInStep.add(a.event.userId());
      }
      step.add(a.event);
      arrived.add(a.event);
      maxSeen = Math.max(maxSeen, a.event.timestamp().getMillis());
      long candidate = watermark;
      if (stalled > 0) {
        // A backlog: the watermark holds still, then jumps over all the sessions it held.
        candidate = --stalled == 0 ? maxSeen - outOfOrder : watermark;
      } else if (r.nextInt(Math.max(1, seeds / 5)) == 0) {
        // About as many watermark moves per seed's event as a stream of five seeds would make.
        switch (r.nextInt(12)) {
          case 0:
          case 1:
            candidate = maxSeen - outOfOrder; // a bounded-out-of-orderness source
            break;
          case 2:
            {
              // Exactly on (or one millisecond around) a session's end of window or its expiry.
              ClickEvent some = arrived.get(Math.max(0, arrived.size() - 1 - r.nextInt(40)));
              long endOfWindow = some.timestamp().getMillis() + gap - 1;
              long[] marks = {endOfWindow, endOfWindow + lateness};
              candidate = marks[r.nextInt(2)] + r.nextInt(3) - 1;
              if (r.nextBoolean()) {
                // And an event of that session arrives right then, at the boundary.
                boundary =
                    some.toBuilder()
                        .setEventId("b" + firstSeed + "-" + arrived.size())
                        .setTimestamp(some.timestamp().minus(r.nextInt(2)))
                        .build();
              }
              break;
            }
          case 3:
            if (r.nextInt(8) == 0) {
              stalled = 20 + r.nextInt(100);
            }
            break;
          default:
            break;
        }
      }
      if (candidate > watermark) {
        steps.add(new Step(step, null));
        step = new ArrayList<>();
        usersInStep.clear();
        watermark = candidate;
        steps.add(new Step(null, new Instant(watermark)));
      }
      if (boundary != null) {
        if (!step.isEmpty()) {
          steps.add(new Step(step, null));
          step = new ArrayList<>();
          usersInStep.clear();
        }
        steps.add(new Step(List.of(boundary), null));
        boundary = null;
      }
    }
    if (!step.isEmpty()) {
      steps.add(new Step(step, null));
    }
    return steps;
  }

  private static List<Arrival> seed(long seed, Instant base, SessionizeConfig config) {
    Random r = new Random(seed * 7919 + 17);
    long gap = config.sessionGap().getMillis();
    long cap = config.maxSessionDuration().getMillis();
    long start = base.getMillis() + Duration.standardDays(1).getMillis();

    // Event times per user: bursts separated by gaps around the session gap.
    List<ClickEvent> byTime = new ArrayList<>();
    int users = 1 + r.nextInt(3);
    for (int u = 0; u < users; u++) {
      String user = userPrefix(seed) + "u" + u;
      boolean bot = r.nextInt(8) == 0;
      int events = bot ? 20 + r.nextInt(30) : 3 + r.nextInt(14);
      long t = start + r.nextInt(3_600_000);
      for (int i = 0; i < events; i++) {
        byTime.add(event(r, user, seed, byTime.size(), t));
        if (bot) {
          // Never a whole gap of rest: only the session cap cuts it.
          t += Math.max(1, Math.min(gap - 1, cap / 10)) - r.nextInt(1000);
        } else {
          t += nextGap(r, gap);
        }
      }
    }
    byTime.sort((a, b) -> a.timestamp().compareTo(b.timestamp()));

    // Arrival: at the event time, or later by a delay that is mostly within the out-of-orderness,
    // sometimes within gap + lateness (late, or too late), now and then hours.
    long outOfOrder = config.maxOutOfOrderness().getMillis();
    long lateness = config.allowedLateness().getMillis();
    List<Arrival> out = new ArrayList<>(byTime.size() + 4);
    for (ClickEvent e : byTime) {
      long t = e.timestamp().getMillis();
      int roll = r.nextInt(100);
      long delay =
          roll < 65
              ? 0
              : roll < 85
                  ? (long) (r.nextDouble() * outOfOrder)
                  : roll < 97
                      ? outOfOrder + (long) (r.nextDouble() * (gap + lateness + outOfOrder))
                      : (long) (r.nextDouble() * 6 * 3_600_000L);
      out.add(new Arrival(t + delay, seed, e));
      // Duplicates: the same record again, soon or much later.
      if (e.eventId() != null && r.nextInt(25) == 0) {
        long again = r.nextBoolean() ? r.nextInt(600_000) : r.nextInt(4 * 3_600_000);
        out.add(new Arrival(t + delay + again, seed, e));
      }
    }
    return out;
  }

  /** The time to the next event of a burst, often near the gap and sometimes exactly on it. */
  private static long nextGap(Random r, long gap) {
    switch (r.nextInt(12)) {
      case 0:
        return gap; // exactly a gap apart: two sessions
      case 1:
        return gap - 1;
      case 2:
        return gap + 1;
      case 3:
      case 4:
        return gap + r.nextInt((int) Math.min(Integer.MAX_VALUE, 3 * gap));
      default:
        return 1 + r.nextInt((int) Math.min(Integer.MAX_VALUE, gap / 2));
    }
  }

  private static ClickEvent event(Random r, String user, long seed, int n, long t) {
    String type = TYPES[r.nextInt(TYPES.length)];
    ClickEvent.Builder b =
        ClickEvent.builder()
            .setUserId(user)
            .setEventId(r.nextInt(10) == 0 ? null : "e" + seed + "-" + n)
            .setEventType(type)
            .setTimestamp(new Instant(t))
            .setPageUrl(r.nextInt(8) == 0 ? null : PAGES[r.nextInt(PAGES.length)])
            .setReferrer(r.nextInt(3) == 0 ? null : "ref" + r.nextInt(3))
            .setDeviceType(r.nextBoolean() ? "mobile" : "desktop")
            .setCountry(r.nextInt(4) == 0 ? null : r.nextBoolean() ? "US" : "DE")
            .setClientSessionId(r.nextInt(3) == 0 ? null : "c" + r.nextInt(4));
    if (ClickEvent.PURCHASE.equals(type) && r.nextInt(4) != 0) {
      b.setAmount(BigDecimal.valueOf(r.nextInt(100_000), 2))
          .setCurrency(r.nextInt(3) == 0 ? "EUR" : "USD");
    }
    return b.build();
  }
}
