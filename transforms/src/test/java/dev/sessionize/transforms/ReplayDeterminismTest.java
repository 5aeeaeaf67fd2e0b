package dev.sessionize.transforms;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The same partitions read in the same order give the same dead letters, sessions and dashboard,
 * however far the runner's watermark lags: the whole job ({@link SessionizeClickstream}) runs one
 * set of records of two partitions three times, with the watermark following the partitions (a job
 * that keeps up), with the watermark held back until the end (a job catching up a backlog), and
 * with the partitions' records interleaved the other way round. Compared exactly: every dead letter
 * (reason, position, bytes), the final row of every session (every column but {@code version} and
 * {@code emitted_at}, which tell the emission history), and the last document of every dashboard
 * minute (but {@code updated_at}).
 */
@RunWith(JUnit4.class)
public class ReplayDeterminismTest {
  private static final Map<String, Queue<String>> OUTPUT = new ConcurrentHashMap<>();
  private static final Map<String, Queue<DeadLetter>> LETTERS = new ConcurrentHashMap<>();
  private static final Duration OUT_OF_ORDER = Duration.standardMinutes(5);

  @Test
  public void stateStepGivesTheSameOutputAtAnySpeed() {
    List<RawRecord> records = records();
    Outputs keepingUp = run("keepingUp", records, Pace.KEEPING_UP, SessionImpl.STATE);
    Outputs backlog = run("backlog", records, Pace.BACKLOG, SessionImpl.STATE);
    Outputs otherOrder = run("otherOrder", records, Pace.OTHER_INTERLEAVING, SessionImpl.STATE);

    assertTrue("some records are too late", keepingUp.tooLate > 0);
    assertTrue("some sessions", keepingUp.sessions.size() > 10);
    assertEquals(keepingUp.deadLetters, backlog.deadLetters);
    assertEquals(keepingUp.sessions, backlog.sessions);
    assertEquals(keepingUp.dashboard, backlog.dashboard);
    assertEquals(keepingUp.deadLetters, otherOrder.deadLetters);
    assertEquals(keepingUp.sessions, otherOrder.sessions);
    assertEquals(keepingUp.dashboard, otherOrder.dashboard);
  }

  /**
   * The reference windows join a late event to a session the partition had already closed while the
   * watermark lags: their sessions depend on speed, which is why the state step judges finality by
   * the gate's horizon. If this ever gives equal sessions, the scenario lost the case the state
   * step's rule exists for.
   */
  @Test
  public void windowsDependOnTheWatermarkInTheCaseTheStateStepDecidesByPartition() {
    List<RawRecord> records = records();
    Outputs keepingUp = run("windowsKeepingUp", records, Pace.KEEPING_UP, SessionImpl.WINDOWS);
    Outputs backlog = run("windowsBacklog", records, Pace.BACKLOG, SessionImpl.WINDOWS);
    assertEquals(keepingUp.deadLetters, backlog.deadLetters);
    assertNotEquals(keepingUp.sessions, backlog.sessions);
  }

  @Test
  public void aTooLateDeadLetterHoldsTheRecordsExactBytes() {
    List<RawRecord> records = records();
    run("bytes", records, Pace.KEEPING_UP, SessionImpl.STATE);
    int checked = 0;
    for (DeadLetter d : LETTERS.get("bytes")) {
      assertEquals(Reason.TOO_LATE, d.reason());
      RawRecord original = records.get(indexOf(records, d));
      assertArrayEquals(original.payload(), d.payload());
      checked++;
    }
    assertTrue(checked > 0);
  }

  private enum Pace {
    KEEPING_UP,
    BACKLOG,
    OTHER_INTERLEAVING
  }

  private static final class Outputs {
    final TreeMap<String, String> sessions = new TreeMap<>();
    final List<String> deadLetters = new ArrayList<>();
    final TreeMap<Instant, String> dashboard = new TreeMap<>();
    int tooLate;
  }

  private static Outputs run(String name, List<RawRecord> records, Pace pace, SessionImpl impl) {
    SessionizeConfig config = TestEvents.config();
    TestStream.Builder<RawRecord> stream = TestStream.create(RawRecord.RawRecordCoder.of());
    List<RawRecord> order = new ArrayList<>();
    if (pace == Pace.OTHER_INTERLEAVING) {
      // Partition 1's records first, then partition 0's: each partition keeps its own order.
      records.stream().filter(r -> r.sourcePartition() == 1).forEach(order::add);
      records.stream().filter(r -> r.sourcePartition() == 0).forEach(order::add);
    } else {
      // The two partitions read side by side, a record of each in turn.
      List<RawRecord> p0 = records.stream().filter(r -> r.sourcePartition() == 0).toList();
      List<RawRecord> p1 = records.stream().filter(r -> r.sourcePartition() == 1).toList();
      for (int i = 0; i < Math.max(p0.size(), p1.size()); i++) {
        if (i < p0.size()) {
          order.add(p0.get(i));
        }
        if (i < p1.size()) {
          order.add(p1.get(i));
        }
      }
    }
    long[] streamTime = {Long.MIN_VALUE, Long.MIN_VALUE};
    Instant watermark = BoundedWindow_MIN;
    for (RawRecord r : order) {
      // A source stamps a record with its event time, as the Kafka source does.
      Instant t = eventTime(r);
      stream = stream.addElements(TimestampedValue.of(r, t));
      streamTime[r.sourcePartition()] = Math.max(streamTime[r.sourcePartition()], t.getMillis());
      if (pace != Pace.BACKLOG) {
        long min = Math.min(streamTime[0], streamTime[1]);
        if (min != Long.MIN_VALUE && min - OUT_OF_ORDER.getMillis() > watermark.getMillis()) {
          watermark = new Instant(min - OUT_OF_ORDER.getMillis());
          stream = stream.advanceWatermarkTo(watermark);
        }
      }
    }
    DirectOptions options = PipelineOptionsFactory.as(DirectOptions.class);
    Pipeline p = Pipeline.create(options);
    PCollectionTuple out =
        p.apply(stream.advanceWatermarkToInfinity())
            .apply(SessionizeClickstream.of(config, ParseEvents.create()).withSessionImpl(impl));
    out.get(SessionizeClickstream.SESSIONS)
        .apply(
            ParDo.of(
                new DoFn<Session, Void>() {
                  @ProcessElement
                  public void process(@Element Session s) {
                    if (s.isFinal()) {
                      add(
                          name + "/sessions",
                          s.sessionId()
                              + " "
                              + s.toBuilder()
                                  .setVersion(0)
                                  .setSupersededSessionIds(List.of())
                                  .setEmittedAt(new Instant(0))
                                  .build());
                    }
                  }
                }));
    out.get(SessionizeClickstream.DEAD_LETTERS)
        .apply(
            ParDo.of(
                new DoFn<DeadLetter, Void>() {
                  @ProcessElement
                  public void process(@Element DeadLetter d) {
                    LETTERS.computeIfAbsent(name, k -> new ConcurrentLinkedQueue<>()).add(d);
                    add(
                        name + "/deadLetters",
                        d.reason()
                            + " "
                            + d.sourcePartition()
                            + "/"
                            + d.sourceOffset()
                            + " "
                            + new String(d.payload(), StandardCharsets.UTF_8));
                  }
                }));
    out.get(SessionizeClickstream.DASHBOARD)
        .apply(
            ParDo.of(
                new DoFn<DashboardMinute, Void>() {
                  @ProcessElement
                  public void process(@Element DashboardMinute m) {
                    add(
                        name + "/dashboard",
                        m.windowStart().getMillis()
                            + " "
                            + m.events()
                            + " "
                            + m.toJson().replaceAll("\"updated_at\":\"[^\"]*\"", ""));
                  }
                }));
    p.run().waitUntilFinish();

    Outputs result = new Outputs();
    for (String line : OUTPUT.getOrDefault(name + "/sessions", new ConcurrentLinkedQueue<>())) {
      String previous = result.sessions.put(line.substring(0, line.indexOf(' ')), line);
      assertEquals("one final row per session: " + line, null, previous);
    }
    for (String line : OUTPUT.getOrDefault(name + "/deadLetters", new ConcurrentLinkedQueue<>())) {
      result.deadLetters.add(line);
      result.tooLate += line.startsWith("TOO_LATE") ? 1 : 0;
    }
    result.deadLetters.sort(null);
    // Accumulating panes: a minute's last document has the most events.
    Map<Instant, Long> most = new TreeMap<>();
    for (String line : OUTPUT.getOrDefault(name + "/dashboard", new ConcurrentLinkedQueue<>())) {
      String[] parts = line.split(" ", 3);
      Instant minute = new Instant(Long.parseLong(parts[0]));
      long events = Long.parseLong(parts[1]);
      if (events >= most.getOrDefault(minute, -1L)) {
        most.put(minute, events);
        result.dashboard.put(minute, parts[2]);
      }
    }
    return result;
  }

  private static final Instant BoundedWindow_MIN =
      org.apache.beam.sdk.transforms.windowing.BoundedWindow.TIMESTAMP_MIN_VALUE;

  private static void add(String key, String line) {
    OUTPUT.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>()).add(line);
  }

  private static int indexOf(List<RawRecord> records, DeadLetter d) {
    for (int i = 0; i < records.size(); i++) {
      RawRecord r = records.get(i);
      if (r.sourcePartition() == d.sourcePartition() && r.sourceOffset() == d.sourceOffset()) {
        return i;
      }
    }
    throw new AssertionError("no record at " + d.sourcePartition() + "/" + d.sourceOffset());
  }

  private static Instant eventTime(RawRecord r) {
    String json = new String(r.payload(), StandardCharsets.UTF_8);
    int at = json.indexOf("\"timestamp\":\"") + "\"timestamp\":\"".length();
    return Instant.parse(json.substring(at, json.indexOf('"', at)));
  }

  /**
   * Two partitions of a seeded stream: users on their own partition, events mostly in order, some
   * late within the lateness and some too late, duplicates, and the case that needs the gate's
   * horizon: a late event within a gap of a session its partition's stream time has already closed.
   */
  private static List<RawRecord> records() {
    Random r = new Random(4242);
    List<List<ClickEvent>> partitions = List.of(new ArrayList<>(), new ArrayList<>());
    Instant start = TestEvents.T0;
    for (int u = 0; u < 16; u++) {
      String user = "user" + u;
      long t = start.getMillis() + r.nextInt(3_600_000);
      int events = 3 + r.nextInt(12);
      for (int i = 0; i < events; i++) {
        partitions
            .get(u % 2)
            .add(
                TestEvents.view(user, user + "-" + i, new Instant(t), "/p" + r.nextInt(5))
                    .toBuilder()
                    .setCountry(r.nextBoolean() ? "US" : "DE")
                    .build());
        t += r.nextInt(4) == 0 ? 35 * 60_000 + r.nextInt(3_600_000) : r.nextInt(20 * 60_000);
      }
    }
    List<RawRecord> records = new ArrayList<>();
    for (int p = 0; p < 2; p++) {
      List<ClickEvent> events = partitions.get(p);
      events.sort((a, b) -> a.timestamp().compareTo(b.timestamp()));
      List<ClickEvent> arrival = new ArrayList<>(events);
      for (int m = 0; m < events.size() / 4; m++) {
        // Some events arrive later: by a few minutes (out of order), up to an hour (late or too
        // late).
        int from = r.nextInt(arrival.size());
        ClickEvent e = arrival.remove(from);
        arrival.add(Math.min(arrival.size(), from + 1 + r.nextInt(r.nextBoolean() ? 3 : 40)), e);
      }
      for (int d = 0; d < 5; d++) {
        arrival.add(r.nextInt(arrival.size()), arrival.get(r.nextInt(arrival.size())));
      }
      // The partition closes a session (stream time passes its expiry) while the watermark may
      // lag; then an event of that user within a gap of its end arrives, late but not too late.
      ClickEvent last = arrival.get(arrival.size() - 1);
      Instant closer = last.timestamp().plus(Duration.standardHours(3));
      arrival.add(TestEvents.view("closer" + p, "c" + p, closer, "/x"));
      arrival.add(
          TestEvents.view("lonely" + p, "l0", closer.plus(Duration.standardMinutes(40)), "/a"));
      arrival.add(
          TestEvents.view("lonely" + p, "l1", closer.plus(Duration.standardMinutes(50)), "/b"));
      arrival.add(
          TestEvents.view("closer" + p, "c2", closer.plus(Duration.standardMinutes(101)), "/y"));
      // lonely's session ends at +50 min and expires at +85 min; the stream time is now +101 min,
      // so +96 min is the partition's horizon: the session is final for the next event, which is
      // late (before the stream time) but not too late (+70 + 35 > +96).
      arrival.add(
          TestEvents.view("lonely" + p, "l2", closer.plus(Duration.standardMinutes(70)), "/c"));
      long offset = 0;
      for (ClickEvent e : arrival) {
        String json = EventJson.toJson(e);
        if (offset % 7 == 3) {
          // Fields the parser does not know: a dead letter must keep them.
          json =
              json.substring(0, json.length() - 1) + ",\"app_version\":\"5.3.0\",\"os\":\"ios\"}";
        }
        records.add(RawRecord.of(json.getBytes(StandardCharsets.UTF_8), "clicks", p, offset++));
      }
    }
    return records;
  }
}
