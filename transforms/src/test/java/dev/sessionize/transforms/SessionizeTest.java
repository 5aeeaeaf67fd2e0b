package dev.sessionize.transforms;

import static dev.sessionize.transforms.TestEvents.at;
import static dev.sessionize.transforms.TestEvents.view;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Session;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The lateness cases of the session branch, in the style of Beam's LeaderBoardTest: on time,
 * unobservably late, observably late, droppably late; plus merges, reordering and duplicates. Gap
 * 30 min and allowed lateness 5 min unless a test says otherwise.
 */
@RunWith(JUnit4.class)
public class SessionizeTest {
  private static final Duration GAP = Duration.standardMinutes(30);

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Runs DedupEvents then Sessionize, as the pipeline does. */
  private static PCollectionTuple sessionize(
      PCollection<ClickEvent> events, SessionizeConfig config) {
    return sessionize(events, config, "", false);
  }

  /** Runs DedupEvents then the windowed half of Sessionize: rows stay in their windows. */
  private static PCollectionTuple sessionizeWindowed(
      PCollection<ClickEvent> events, SessionizeConfig config) {
    return sessionize(events, config, "", true);
  }

  private static PCollectionTuple sessionize(
      PCollection<ClickEvent> events, SessionizeConfig config, String name, boolean windowed) {
    PCollectionTuple gated = events.apply(name + "Dedup", DedupEvents.of(config));
    PCollection<Session> sessions =
        gated
            .get(DedupEvents.ACCEPTED)
            .apply(
                name + "Sessionize",
                windowed ? Sessionize.windowedRows(config) : Sessionize.of(config));
    return PCollectionTuple.of(SessionizeClickstream.SESSIONS, sessions)
        .and(SessionizeClickstream.DEAD_LETTERS, gated.get(DedupEvents.TOO_LATE));
  }

  /** "user start..end events=N vV final|open" with times as minutes after T0. */
  static String summary(Session s) {
    return s.userId()
        + " "
        + minutes(s.startTime())
        + ".."
        + minutes(s.endTime())
        + " events="
        + s.eventCount()
        + " v"
        + s.version()
        + (s.isFinal() ? " final" : " open");
  }

  private static long minutes(Instant t) {
    return new Duration(TestEvents.T0, t).getStandardMinutes();
  }

  private static PCollection<String> summaries(PCollection<Session> sessions, String name) {
    return sessions.apply(
        name, MapElements.into(TypeDescriptors.strings()).via(SessionizeTest::summary));
  }

  private static IntervalWindow window(int startMinute, int lastEventMinute) {
    return new IntervalWindow(at(startMinute), at(lastEventMinute).plus(GAP));
  }

  @Test
  public void onTimeEventsFormOneSessionEmittedWhenTheWatermarkPassesItsEnd() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .advanceWatermarkTo(at(0))
            .addElements(
                TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)),
                TimestampedValue.of(view("alice", "a2", at(10), "/shoes"), at(10)),
                TimestampedValue.of(view("bob", "b1", at(5), "/home"), at(5)))
            .advanceWatermarkTo(at(41))
            .advanceWatermarkTo(at(50))
            .advanceWatermarkToInfinity();

    PCollection<Session> sessions =
        sessionizeWindowed(p.apply(stream), TestEvents.config())
            .get(SessionizeClickstream.SESSIONS);
    PCollection<String> lines = summaries(sessions, "Summarize");

    PAssert.that(lines)
        .inOnTimePane(window(0, 10))
        .containsInAnyOrder("alice 0..10 events=2 v0 open");
    PAssert.that(lines)
        .inFinalPane(window(0, 10))
        .containsInAnyOrder("alice 0..10 events=2 v1 final");
    // Bob's session [5, 35) expired at 35 + 5 = 40 < 41: the on-time pane is also the last.
    PAssert.that(lines).inOnTimePane(window(5, 5)).containsInAnyOrder("bob 5..5 events=1 v0 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void unobservablyLateEventIsInTheOnTimePane() {
    // The watermark has passed the event, but not the end of its session: nobody saw a result yet.
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .advanceWatermarkTo(at(20))
            .addElements(TimestampedValue.of(view("alice", "a2", at(5), "/late"), at(5)))
            .advanceWatermarkToInfinity();

    PCollection<String> lines =
        summaries(
            sessionizeWindowed(p.apply(stream), TestEvents.config())
                .get(SessionizeClickstream.SESSIONS),
            "Summarize");

    PAssert.that(lines)
        .inOnTimePane(window(0, 5))
        .containsInAnyOrder("alice 0..5 events=2 v0 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void observablyLateEventReEmitsTheSessionWithVersionOneAndAccumulatedCounts() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(
                TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)),
                TimestampedValue.of(view("alice", "a2", at(10), "/shoes"), at(10)))
            // Past the session's end (10 + 30): the on-time pane fires with 2 events.
            .advanceWatermarkTo(at(42))
            // 12 + 30 + 5 = 47 > 42: late but within the allowed lateness.
            .addElements(TimestampedValue.of(view("alice", "a3", at(12), "/cart"), at(12)))
            .advanceWatermarkToInfinity();

    SessionizeConfig config = TestEvents.config();
    PCollection<ClickEvent> events = p.apply(stream);
    PCollection<String> panes =
        summaries(sessionizeWindowed(events, config).get(SessionizeClickstream.SESSIONS), "Panes");
    PCollection<String> rows =
        summaries(
            sessionize(events, config, "Rows", false).get(SessionizeClickstream.SESSIONS), "Rows");

    PAssert.that(panes)
        .inOnTimePane(window(0, 10))
        .containsInAnyOrder("alice 0..10 events=2 v0 open");
    // The late event extends the session window to [0, 12 + 30): Beam merges it into a new
    // window, whose panes are all late: the first holds all three events, then the final one.
    PAssert.that(panes)
        .inLatePane(window(0, 12))
        .containsInAnyOrder("alice 0..12 events=3 v0 open", "alice 0..12 events=3 v1 final");
    PAssert.that(panes)
        .inFinalPane(window(0, 12))
        .containsInAnyOrder("alice 0..12 events=3 v1 final");
    // The rows of the table: one session, re-emitted as version 1 with the accumulated counts.
    PAssert.that(rows)
        .containsInAnyOrder(
            "alice 0..10 events=2 v0 open",
            "alice 0..12 events=3 v1 open",
            "alice 0..12 events=3 v2 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void droppablyLateEventGoesToTheDeadLetterOutputNotLost() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(
                TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)),
                TimestampedValue.of(view("alice", "a2", at(10), "/shoes"), at(10)))
            .advanceWatermarkTo(at(46))
            // 10 + 30 + 5 = 45 <= 46: its own window [10, 40) expired 1 minute ago.
            .addElements(TimestampedValue.of(view("alice", "a3", at(10), "/too-late"), at(10)))
            // 11 + 35 = 46 > 46 is false too: exactly at the boundary is too late.
            .addElements(TimestampedValue.of(view("bob", "b1", at(11), "/edge"), at(11)))
            .advanceWatermarkToInfinity();

    PCollectionTuple out = sessionize(p.apply(stream), TestEvents.config());
    PCollection<String> lines = summaries(out.get(SessionizeClickstream.SESSIONS), "Summarize");
    PCollection<String> deadLetters =
        out.get(SessionizeClickstream.DEAD_LETTERS)
            .apply(
                "DescribeDeadLetters",
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (DeadLetter d) ->
                            d.reason() + " " + d.userId() + " " + minutes(d.eventTime())));

    // [0, 40) expired at 45 <= 46: its on-time pane is also the last.
    PAssert.that(lines).containsInAnyOrder("alice 0..10 events=2 v0 final");
    PAssert.that(deadLetters).containsInAnyOrder("TOO_LATE alice 10", "TOO_LATE bob 11");
    p.run().waitUntilFinish();
  }

  @Test
  public void lateEventBeforeTheStartMovesTheStartAndSupersedesTheOldRow() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(10), "/home"), at(10)))
            .advanceWatermarkTo(at(41)) // session [10, 40) emitted as v0
            .addElements(TimestampedValue.of(view("alice", "a0", at(8), "/landing"), at(8)))
            .advanceWatermarkToInfinity();

    PCollection<Session> sessions =
        sessionize(p.apply(stream), TestEvents.config()).get(SessionizeClickstream.SESSIONS);
    PCollection<String> lines =
        sessions.apply(
            "Describe",
            MapElements.into(TypeDescriptors.strings())
                .via((Session s) -> summary(s) + " replaces " + s.supersededSessionIds()));

    String oldId = Session.idFor("alice", at(10));
    PAssert.that(lines)
        .containsInAnyOrder(
            "alice 10..10 events=1 v0 open replaces []",
            "alice 8..10 events=2 v1 open replaces [" + oldId + "]",
            "alice 8..10 events=2 v2 final replaces []");
    p.run().waitUntilFinish();
  }

  @Test
  public void lateEventBridgingTwoSessionsMergesThemAndListsTheOtherAsSuperseded() {
    // Two emitted sessions can only be merged while both are open, i.e. when the allowed
    // lateness is at least the gap; use gap 10 min and allowed lateness 30 min.
    SessionizeConfig config =
        TestEvents.config().toBuilder()
            .setSessionGap(Duration.standardMinutes(10))
            .setAllowedLateness(Duration.standardMinutes(30))
            .build();
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(
                TimestampedValue.of(view("alice", "a1", at(0), "/a"), at(0)),
                TimestampedValue.of(view("alice", "a2", at(15), "/b"), at(15)))
            .advanceWatermarkTo(at(26)) // both [0, 10) and [15, 25) emitted
            .addElements(TimestampedValue.of(view("alice", "a3", at(8), "/bridge"), at(8)))
            .advanceWatermarkToInfinity();

    PCollection<Session> sessions =
        sessionize(p.apply(stream), config).get(SessionizeClickstream.SESSIONS);
    PCollection<String> merged =
        sessions
            .apply("Merged", Filter.by((Session s) -> s.eventCount() == 3))
            .apply(
                "Describe",
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (Session s) ->
                            s.sessionId()
                                + " "
                                + minutes(s.startTime())
                                + ".."
                                + minutes(s.endTime())
                                + " v"
                                + s.version()
                                + (s.isFinal() ? " final" : " open")
                                + " replaces "
                                + s.supersededSessionIds()));

    String first = Session.idFor("alice", at(0));
    String second = Session.idFor("alice", at(15));
    PAssert.that(merged)
        .containsInAnyOrder(
            first + " 0..15 v1 open replaces [" + second + "]",
            first + " 0..15 v2 final replaces []");
    p.run().waitUntilFinish();
  }

  @Test
  public void outOfOrderArrivalGivesTheSameSessionsAsInOrderAndAsASimpleGapSplit() {
    Random random = new Random(42);
    List<ClickEvent> events = new ArrayList<>();
    for (int u = 0; u < 20; u++) {
      long t = random.nextInt(60) * 60_000L;
      for (int i = 0; i < 15; i++) {
        // Mostly short gaps, sometimes a gap longer than 30 minutes.
        t +=
            random.nextInt(10) < 8
                ? random.nextInt(600_000)
                : 1_800_000 + random.nextInt(3_600_000);
        events.add(
            view("user" + u, "e" + u + "-" + i, TestEvents.T0.plus(t), "/p" + random.nextInt(6)));
      }
    }
    List<ClickEvent> inOrder = new ArrayList<>(events);
    inOrder.sort(Comparator.comparing(ClickEvent::timestamp));
    // Shuffled arrival: each event delayed by up to 4 minutes, watermark = max seen - 5 minutes.
    List<ClickEvent> shuffled = new ArrayList<>(events);
    Map<ClickEvent, Long> arrival = new java.util.HashMap<>();
    for (ClickEvent e : shuffled) {
      arrival.put(e, e.timestamp().getMillis() + random.nextInt(240_000));
    }
    shuffled.sort(Comparator.comparing(arrival::get));

    PCollection<String> a =
        finalSummaries(
            sessionize(p.apply("InOrder", replay(inOrder)), TestEvents.config(), "A", false)
                .get(SessionizeClickstream.SESSIONS),
            "A");
    PCollection<String> b =
        finalSummaries(
            sessionize(p.apply("Shuffled", replay(shuffled)), TestEvents.config(), "B", false)
                .get(SessionizeClickstream.SESSIONS),
            "B");

    List<String> expected = gapSplit(events, GAP);
    PAssert.that(a).containsInAnyOrder(expected);
    PAssert.that(b).containsInAnyOrder(expected);
    p.run().waitUntilFinish();
  }

  @Test
  public void duplicatesAreCountedOnce() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(
                TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)),
                TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)),
                TimestampedValue.of(view("alice", "a2", at(3), "/shoes"), at(3)),
                // Another user may reuse an id: duplicates are per user.
                TimestampedValue.of(view("bob", "a1", at(1), "/home"), at(1)),
                // No event id: never a duplicate.
                TimestampedValue.of(TestEvents.event("bob", null, "click", at(2), "/x"), at(2)),
                TimestampedValue.of(TestEvents.event("bob", null, "click", at(2), "/x"), at(2)))
            .addElements(
                TimestampedValue.of(view("carol", "c1", at(0), "/a"), at(0)),
                TimestampedValue.of(view("carol", "c2", at(30), "/b"), at(30)))
            .advanceWatermarkTo(at(20))
            .addElements(TimestampedValue.of(view("alice", "a2", at(3), "/shoes"), at(3)))
            // Carol's dedup timer (first event 0 + retention 40) fires and forgets c1 only:
            // c2 (30) is still within its retention, so its repeat is a duplicate.
            .advanceWatermarkTo(at(41))
            .addElements(TimestampedValue.of(view("carol", "c2", at(30), "/b"), at(30)))
            .advanceWatermarkToInfinity();

    PCollection<String> lines =
        finalSummaries(
            sessionize(p.apply(stream), TestEvents.config()).get(SessionizeClickstream.SESSIONS),
            "Final");
    PAssert.that(lines)
        .containsInAnyOrder(
            "alice 0..3 events=2",
            "bob 1..2 events=3",
            "carol 0..0 events=1",
            "carol 30..30 events=1");
    p.run().waitUntilFinish();
  }

  private static PCollection<String> finalSummaries(PCollection<Session> sessions, String name) {
    return sessions
        .apply(name + "Final", Filter.by(Session::isFinal))
        .apply(
            name + "Summarize",
            MapElements.into(TypeDescriptors.strings())
                .via(
                    (Session s) ->
                        s.userId()
                            + " "
                            + minutes(s.startTime())
                            + ".."
                            + minutes(s.endTime())
                            + " events="
                            + s.eventCount()));
  }

  /** Replays events in list order with watermark = max event time seen - 5 minutes. */
  private static TestStream<ClickEvent> replay(List<ClickEvent> events) {
    TestStream.Builder<ClickEvent> builder = TestStream.create(ClickEvent.ClickEventCoder.of());
    Instant maxSeen = new Instant(0);
    for (ClickEvent e : events) {
      builder = builder.addElements(TimestampedValue.of(e, e.timestamp()));
      if (e.timestamp().isAfter(maxSeen)) {
        maxSeen = e.timestamp();
        builder = builder.advanceWatermarkTo(maxSeen.minus(Duration.standardMinutes(5)));
      }
    }
    return builder.advanceWatermarkToInfinity();
  }

  /** The independent computation: sort each user's events, split where the gap is >= gap. */
  static List<String> gapSplit(List<ClickEvent> events, Duration gap) {
    Map<String, List<Instant>> byUser = new TreeMap<>();
    for (ClickEvent e : events) {
      byUser.computeIfAbsent(e.userId(), u -> new ArrayList<>()).add(e.timestamp());
    }
    List<String> sessions = new ArrayList<>();
    for (Map.Entry<String, List<Instant>> user : byUser.entrySet()) {
      List<Instant> times = user.getValue();
      times.sort(null);
      Instant start = times.get(0);
      Instant last = start;
      int count = 1;
      for (Instant t : times.subList(1, times.size())) {
        if (!t.isBefore(last.plus(gap))) {
          sessions.add(
              user.getKey() + " " + minutes(start) + ".." + minutes(last) + " events=" + count);
          start = t;
          count = 0;
        }
        last = t;
        count++;
      }
      sessions.add(
          user.getKey() + " " + minutes(start) + ".." + minutes(last) + " events=" + count);
    }
    return sessions;
  }

  static String iso(Instant t) {
    return Json.formatInstant(t);
  }
}
