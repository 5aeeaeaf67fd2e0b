package dev.sessionize.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Session;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.testing.WindowFnTestUtils;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Sessions;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Resource bounds: a user who never stops does not grow a session, its pages or the dedup state
 * without bound. Sessions are cut at {@code maxSessionDuration} ({@link CappedSessions}), {@code
 * pages_visited} is capped, and dedup ids expire with the watermark.
 */
@RunWith(JUnit4.class)
public class SessionBoundsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final Duration GAP = Duration.millis(10);

  private static Map<IntervalWindow, Set<String>> windows(
      org.apache.beam.sdk.transforms.windowing.WindowFn<Object, IntervalWindow> fn, long... ts)
      throws Exception {
    List<Long> list = new ArrayList<>();
    for (long t : ts) {
      list.add(t);
    }
    return WindowFnTestUtils.runWindowFn(fn, list);
  }

  @Test
  public void aSessionThatWouldSpanTheMaximumIsCutAndTheNextStartsAtTheFirstEventPastIt()
      throws Exception {
    // Events every 5 ms from 0 to 250, gap 10, at most 100: [0..95], [100..195], [200..250].
    long[] ts = new long[51];
    for (int i = 0; i < ts.length; i++) {
      ts[i] = 5L * i;
    }
    Map<IntervalWindow, Set<String>> result =
        windows(CappedSessions.of(GAP, Duration.millis(100)), ts);
    List<IntervalWindow> sorted = result.keySet().stream().sorted().collect(Collectors.toList());
    assertEquals(
        List.of(
            new IntervalWindow(new Instant(0), new Instant(105)),
            new IntervalWindow(new Instant(100), new Instant(205)),
            new IntervalWindow(new Instant(200), new Instant(260))),
        sorted);
    assertEquals(20, result.get(sorted.get(0)).size());
    assertEquals(20, result.get(sorted.get(1)).size());
    assertEquals(11, result.get(sorted.get(2)).size());
  }

  @Test
  public void inAnyArrivalOrderWithinOneMergeTheCutsAreTheSame() throws Exception {
    CappedSessions fn = CappedSessions.of(GAP, Duration.millis(100));
    List<Long> ts = new ArrayList<>();
    for (long t = 0; t <= 250; t += 5) {
      ts.add(t);
    }
    Map<IntervalWindow, Set<String>> inOrder = WindowFnTestUtils.runWindowFn(fn, ts);
    Random r = new Random(3);
    for (int round = 0; round < 20; round++) {
      List<Long> shuffled = new ArrayList<>(ts);
      java.util.Collections.shuffle(shuffled, r);
      // runWindowFn merges after every element: out of order by more than a gap, a capped
      // session may be cut elsewhere, but never longer than the cap.
      for (IntervalWindow w : WindowFnTestUtils.runWindowFn(fn, shuffled).keySet()) {
        assertThat(
            w.toString(),
            w.end().getMillis() - GAP.getMillis() - w.start().getMillis(),
            lessThan(100L));
      }
    }
    assertEquals(3, inOrder.size());
  }

  @Test
  public void sessionsShorterThanTheMaximumAreExactlyBeamSessions() throws Exception {
    Random r = new Random(11);
    for (int round = 0; round < 200; round++) {
      List<Long> ts = new ArrayList<>();
      long t = 0;
      for (int i = 0; i < 30; i++) {
        t += r.nextInt(15); // sometimes a gap of 10 or more
        ts.add(t);
      }
      java.util.Collections.shuffle(ts, r);
      // A cap longer than the whole stream changes nothing.
      assertEquals(
          WindowFnTestUtils.runWindowFn(Sessions.withGapDuration(GAP), ts),
          WindowFnTestUtils.runWindowFn(CappedSessions.of(GAP, Duration.millis(1_000)), ts));
    }
  }

  /**
   * A bot: one event every 10 s for three days, every page of 1 000 in turn, through DedupEvents
   * and Sessionize with the default rules (gap 30 min, lateness 5 min, at most 24 h and 200 pages
   * per session), the watermark advanced every 2 h to 5 min behind the stream. The cut does not
   * depend on the rate (the window tests above cut at the event); 10 s rather than 1 s keeps the
   * test fast on the DirectRunner, whose session GroupByKey buffers every event of an open session
   * (a 1 s bot took 10 minutes on a shared 2-core machine). Events carry no id: the dedup bound is
   * the next test.
   */
  @Test
  public void aBotForThreeDaysGetsOneSessionPerDayWithCappedPages() {
    botForThreeDays(SessionImpl.WINDOWS);
  }

  @Test
  public void aBotForThreeDaysGetsOneSessionPerDayWithCappedPagesInKeyedState() {
    botForThreeDays(SessionImpl.STATE);
  }

  /** The sessions of {@code events} from either implementation of the sessions step. */
  private static PCollection<Session> sessions(
      PCollection<ClickEvent> events, SessionizeConfig config, SessionImpl impl) {
    return impl == SessionImpl.STATE
        ? events.apply(StatefulSessions.of(config)).get(StatefulSessions.SESSIONS)
        : events
            .apply(DedupEvents.of(config))
            .get(DedupEvents.ACCEPTED)
            .apply(Sessionize.of(config));
  }

  private void botForThreeDays(SessionImpl impl) {
    SessionizeConfig config = TestEvents.config();
    int step = 10; // seconds between events
    int perDay = 24 * 3600 / step;
    int total = 3 * perDay;
    int batch = 2 * 3600 / step;
    Instant t0 = TestEvents.T0;
    TestStream.Builder<ClickEvent> stream = TestStream.create(ClickEvent.ClickEventCoder.of());
    for (int from = 0; from < total; from += batch) {
      List<TimestampedValue<ClickEvent>> events = new ArrayList<>(batch);
      for (int i = from; i < from + batch; i++) {
        Instant t = t0.plus(Duration.standardSeconds((long) i * step));
        events.add(TimestampedValue.of(TestEvents.view("bot", null, t, "/p/" + (i % 1000)), t));
      }
      stream =
          stream
              .advanceWatermarkTo(
                  t0.plus(Duration.standardSeconds((long) from * step))
                      .minus(Duration.standardMinutes(5)))
              .addElements(events.get(0), rest(events));
    }
    PCollection<Session> finals =
        sessions(p.apply(stream.advanceWatermarkToInfinity()), config, impl)
            .apply(Filter.by(Session::isFinal));
    PAssert.that(finals)
        .satisfies(
            rows -> {
              List<Session> sessions =
                  StreamSupport.stream(rows.spliterator(), false)
                      .sorted(Comparator.comparing(Session::startTime))
                      .collect(Collectors.toList());
              assertEquals(3, sessions.size());
              Set<String> ids = new HashSet<>();
              long events = 0;
              for (int k = 0; k < 3; k++) {
                Session s = sessions.get(k);
                ids.add(s.sessionId());
                events += s.eventCount();
                assertThat(s.durationSeconds(), lessThan(24L * 3600));
                assertEquals(t0.plus(Duration.standardDays(k)), s.startTime());
                assertEquals(perDay, s.eventCount());
                assertTrue(s.supersededSessionIds().isEmpty());
                // The cap keeps the first 200 pages in event time; this day began at page i0.
                int i0 = (k * perDay) % 1000;
                List<String> first = new ArrayList<>();
                for (int j = 0; j < 200; j++) {
                  first.add("/p/" + ((i0 + j) % 1000));
                }
                assertEquals(first, s.pagesVisited());
              }
              assertEquals(3, ids.size());
              assertEquals(total, events);
              return null;
            });
    PipelineResult result = p.run();
    result.waitUntilFinish();
    assertEquals(total, SessionizeMetrics.read(result, "accepted"));
    assertEquals(0, SessionizeMetrics.read(result, "dead_letter_TOO_LATE"));
    assertEquals(3, SessionizeMetrics.read(result, "sessions_final_at_page_cap"));
  }

  /**
   * Dedup state expires with the watermark: a bot at one event per second for 90 minutes whose
   * event ids come back after an hour (longer than the 40 min retention), every 100th event sent
   * twice in a row, the watermark advanced every 5 min to 5 min behind. Were ids kept longer than
   * the retention, the 1 800 returning ids would count as duplicates.
   */
  @Test
  public void dedupIdsExpireAfterTheRetentionSoAReturningIdIsAcceptedAgain() {
    dedupIdsExpire(SessionImpl.WINDOWS);
  }

  @Test
  public void dedupIdsExpireAfterTheRetentionInKeyedState() {
    dedupIdsExpire(SessionImpl.STATE);
  }

  private void dedupIdsExpire(SessionImpl impl) {
    SessionizeConfig config = TestEvents.config();
    int seconds = 90 * 60;
    int batch = 300;
    Instant t0 = TestEvents.T0;
    TestStream.Builder<ClickEvent> stream = TestStream.create(ClickEvent.ClickEventCoder.of());
    for (int from = 0; from < seconds; from += batch) {
      List<TimestampedValue<ClickEvent>> events = new ArrayList<>(batch + batch / 100);
      for (int i = from; i < from + batch; i++) {
        Instant t = t0.plus(Duration.standardSeconds(i));
        ClickEvent e = TestEvents.view("bot", "e-" + (i % 3600), t, "/p");
        events.add(TimestampedValue.of(e, t));
        if (i % 100 == 0) {
          events.add(TimestampedValue.of(e, t));
        }
      }
      stream =
          stream
              .advanceWatermarkTo(
                  t0.plus(Duration.standardSeconds(from)).minus(Duration.standardMinutes(5)))
              .addElements(events.get(0), rest(events));
    }
    PCollection<ClickEvent> events = p.apply(stream.advanceWatermarkToInfinity());
    if (impl == SessionImpl.STATE) {
      events.apply(StatefulSessions.of(config));
    } else {
      events.apply(DedupEvents.of(config));
    }
    PipelineResult result = p.run();
    result.waitUntilFinish();
    assertEquals(seconds, SessionizeMetrics.read(result, "accepted"));
    assertEquals(seconds / 100, SessionizeMetrics.read(result, "duplicates"));
    assertEquals(0, SessionizeMetrics.read(result, "dead_letter_TOO_LATE"));
  }

  @SuppressWarnings("unchecked")
  private static TimestampedValue<ClickEvent>[] rest(List<TimestampedValue<ClickEvent>> events) {
    return events.subList(1, events.size()).toArray(new TimestampedValue[0]);
  }
}
