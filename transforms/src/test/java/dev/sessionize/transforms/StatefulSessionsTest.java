package dev.sessionize.transforms;

import static dev.sessionize.transforms.TestEvents.at;
import static dev.sessionize.transforms.TestEvents.view;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The lateness cases of {@link SessionizeTest} for the sessions step in keyed state, asserted on
 * the rows the table receives (this step has no panes to look at): on time, unobservably late,
 * observably late, droppably late, a bridge; then what only this step does (a session that expired
 * for the lateness gate is final for later events) and its state value's coder.
 */
@RunWith(JUnit4.class)
public class StatefulSessionsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static PCollection<String> rows(PCollection<ClickEvent> events, SessionizeConfig config) {
    return events
        .apply(StatefulSessions.of(config))
        .get(StatefulSessions.SESSIONS)
        .apply(
            "Summarize",
            MapElements.into(TypeDescriptors.strings()).via(StatefulSessionsTest::summary));
  }

  /** "user start..end events=N vV final|open [superseded]" with times in minutes after T0. */
  static String summary(Session s) {
    return SessionizeTest.summary(s)
        + (s.supersededSessionIds().isEmpty() ? "" : " superseding " + s.supersededSessionIds());
  }

  @Test
  public void onTimeEventsAreEmittedWhenTheWatermarkPassesTheEndThenFinal() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .advanceWatermarkTo(at(0))
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .addElements(TimestampedValue.of(view("alice", "a2", at(10), "/shoes"), at(10)))
            .addElements(TimestampedValue.of(view("bob", "b1", at(5), "/home"), at(5)))
            .advanceWatermarkTo(at(41))
            .advanceWatermarkTo(at(50))
            .advanceWatermarkToInfinity();
    PAssert.that(rows(p.apply(stream), TestEvents.config()))
        .containsInAnyOrder(
            "alice 0..10 events=2 v0 open",
            "alice 0..10 events=2 v1 final",
            // Bob's session expired at 40 < 41: one row, final, as Beam's windows give.
            "bob 5..5 events=1 v0 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void unobservablyLateEventIsInTheFirstRow() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .advanceWatermarkTo(at(20))
            .addElements(TimestampedValue.of(view("alice", "a2", at(5), "/late"), at(5)))
            .advanceWatermarkToInfinity();
    PAssert.that(rows(p.apply(stream), TestEvents.config()))
        .containsInAnyOrder("alice 0..5 events=2 v0 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void observablyLateEventReEmitsTheSessionWithTheNextVersion() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .addElements(TimestampedValue.of(view("alice", "a2", at(10), "/shoes"), at(10)))
            .advanceWatermarkTo(at(42))
            // 12 + 30 + 5 = 47 > 42: late, within the lateness; the window's end has passed.
            .addElements(TimestampedValue.of(view("alice", "a3", at(12), "/cart"), at(12)))
            .advanceWatermarkToInfinity();
    PAssert.that(rows(p.apply(stream), TestEvents.config()))
        .containsInAnyOrder(
            "alice 0..10 events=2 v0 open",
            "alice 0..12 events=3 v1 open",
            "alice 0..12 events=3 v2 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void droppablyLateEventIsADeadLetter() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .advanceWatermarkTo(at(60))
            // 25 + 30 + 5 = 60: not after the watermark, its window expired.
            .addElements(TimestampedValue.of(view("alice", "a2", at(25), "/late"), at(25)))
            .advanceWatermarkToInfinity();
    PCollectionTuple out = p.apply(stream).apply(StatefulSessions.of(TestEvents.config()));
    PAssert.that(
            out.get(StatefulSessions.TOO_LATE)
                .apply(
                    "DescribeDeadLetters",
                    MapElements.into(TypeDescriptors.strings())
                        .via(d -> d.reason() + " " + d.userId() + " " + d.eventTime())))
        .containsInAnyOrder(Reason.TOO_LATE + " alice " + at(25));
    PAssert.that(
            out.get(StatefulSessions.SESSIONS)
                .apply(
                    "Summarize",
                    MapElements.into(TypeDescriptors.strings()).via(SessionizeTest::summary)))
        .containsInAnyOrder("alice 0..0 events=1 v0 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void lateEventMovingTheStartOfAnEmittedSessionSupersedesItsRow() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .addElements(TimestampedValue.of(view("alice", "a2", at(50), "/shoes"), at(50)))
            .advanceWatermarkTo(at(81))
            // 47 + 30 + 5 = 82 > 81: late, within the lateness.
            .addElements(TimestampedValue.of(view("alice", "a3", at(47), "/late"), at(47)))
            .advanceWatermarkToInfinity();
    // [0, 30) expired at 35 (final at 81, its only row); the event at 47 moves [50, 80)'s start.
    PAssert.that(rows(p.apply(stream), TestEvents.config()))
        .containsInAnyOrder(
            "alice 0..0 events=1 v0 final",
            "alice 50..50 events=1 v0 open",
            "alice 47..50 events=2 v1 open superseding [" + Session.idFor("alice", at(50)) + "]",
            "alice 47..50 events=2 v2 final");
    p.run().waitUntilFinish();
  }

  /**
   * What only this step does: a session whose expiry is behind the event's gate horizon (its
   * partition's stream time said so) is final for that event even though the runner's watermark has
   * not closed it yet; the event starts a session of its own.
   */
  @Test
  public void aSessionExpiredForTheGateIsFinalForLaterEventsWhateverTheWatermark() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(TimestampedValue.of(view("alice", "a1", at(0), "/home"), at(0)))
            .addElements(TimestampedValue.of(view("alice", "a2", at(10), "/shoes"), at(10)))
            .addElements(
                TimestampedValue.of(
                    view("alice", "a3", at(30), "/later").toBuilder()
                        // alice's session [0, 10] expires at 10 + 30 + 5 = 45 < 60.
                        .setGateWatermark(at(60).getMillis())
                        .build(),
                    at(30)))
            .advanceWatermarkToInfinity();
    // Without the horizon the event at 30 would join [0, 10] (within the gap of 10).
    PAssert.that(rows(p.apply(stream), TestEvents.config()))
        .containsInAnyOrder("alice 0..10 events=2 v0 final", "alice 30..30 events=1 v0 final");
    p.run().waitUntilFinish();
  }

  @Test
  public void theStateValueRoundTripsAndATypicalUserIsSmall() throws Exception {
    SessionAccumulator acc = new SessionAccumulator(200);
    for (int i = 0; i < 10; i++) {
      acc.add(view("user-0001", "event-000" + i, at(i), "https://shop.example.com/p/" + (i % 5)));
    }
    StatefulSessions.UserSessions value = new StatefulSessions.UserSessions();
    value.sessions.add(new StatefulSessions.Open(acc, false));
    value.emitted.add(new long[] {acc.startMillis(), acc.endMillis(), 0});
    value.timerAt = at(45).getMillis();
    StatefulSessions.UserSessions.Coder coder = new StatefulSessions.UserSessions.Coder(200);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    coder.encode(value, bytes);
    StatefulSessions.UserSessions back =
        coder.decode(new ByteArrayInputStream(bytes.toByteArray()));
    assertEquals(acc, back.sessions.get(0).acc);
    assertEquals(
        List.of(acc.startMillis(), acc.endMillis(), 0L),
        List.of(back.emitted.get(0)[0], back.emitted.get(0)[1], back.emitted.get(0)[2]));
    assertEquals(value.timerAt, back.timerAt);
    // The session and its bookkeeping (no dedup ids: they expire with the retention).
    assertThat(bytes.size(), lessThan(300));
    System.out.println("state of a typical user after the on-time row: " + bytes.size() + " bytes");
    // With its ten event ids held for the dedup retention.
    for (int i = 0; i < 10; i++) {
      value.seen = value.seen.with("event-000" + i, at(i).getMillis());
    }
    bytes.reset();
    coder.encode(value, bytes);
    back = coder.decode(new ByteArrayInputStream(bytes.toByteArray()));
    assertEquals(value.seen.asMap(), back.seen.asMap());
    assertEquals(at(3).getMillis(), back.seen.timeOf("event-0003"));
    System.out.println("with its 10 dedup ids: " + bytes.size() + " bytes");
  }
}
