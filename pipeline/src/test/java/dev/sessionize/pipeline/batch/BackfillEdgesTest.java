package dev.sessionize.pipeline.batch;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.sessionize.pipeline.BackfillScenario;
import dev.sessionize.pipeline.RawArchive;
import dev.sessionize.pipeline.SessionRows;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.util.List;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.Table;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The edges of a backfill's range (issue 16 item 3), each on a small raw archive in an Iceberg
 * catalog on disk, on the DirectRunner: a session that runs past the range's end is written whole,
 * a session that starts before the range and absorbs in-range events through a late bridging event
 * replaces both rows, sessions are cut at {@code --maxSessionDuration} as the stream cut them, a
 * late event that finds its session final starts a new one as in the stream, and read days that
 * cannot hold a replaced session stop the backfill before it writes.
 *
 * <p>Expected rows are worked out by hand from the spec's rules (stated at each case), not by the
 * code under test. Each archive ends with a "clock" record two days later, read two days later, so
 * that the partition's stream time has closed every session of the range.
 */
@RunWith(JUnit4.class)
public class BackfillEdgesTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  static final Instant D0 = Instant.parse("2026-11-19T00:00:00Z");
  static final Instant D1 = Instant.parse("2026-11-20T00:00:00Z");
  static final Instant D2 = Instant.parse("2026-11-21T00:00:00Z");
  static final Instant D3 = Instant.parse("2026-11-22T00:00:00Z");
  static final Duration M = Duration.standardMinutes(1);
  static final Duration READ_DELAY = Duration.standardSeconds(1);

  private File warehouse;
  private IcebergCatalog catalog;
  private Table sessions;
  private Table events;

  @Before
  public void tables() throws Exception {
    warehouse = tmp.newFolder("warehouse");
    catalog = IcebergCatalog.hadoop(warehouse.getPath());
    events = EventsTable.openOrCreate(catalog, "edges.events");
    sessions = SessionsTable.openOrCreate(catalog, "edges.sessions");
  }

  private static Instant at(Instant day, int minutes) {
    return day.plus(M.multipliedBy(minutes));
  }

  /** An event read one second after its event time, in partition 0. */
  private static void onTime(RawArchive archive, String user, String id, Instant t) {
    archive.event(user, id, t, 0, t.plus(READ_DELAY));
  }

  /** The clock: a record two days on, which closes every session of the range. */
  private static void clock(RawArchive archive) {
    Instant t = D3.plus(Duration.standardHours(12));
    archive.event("clock", "tick", t, 0, t.plus(READ_DELAY));
  }

  private void archive(RawArchive archive) {
    EventsTable.append(events, archive.archived(), null);
  }

  private void table(Session... rows) {
    List<Session> list = List.of(rows);
    SessionsTable.commit(sessions, list, SessionsTable.commitId(list));
  }

  private BackfillSessions.Outcome backfill(String... args) {
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    BackfillSessions.Options options =
        PipelineOptionsFactory.fromArgs(
                Stream.concat(
                        Stream.of(
                            "--runner=DirectRunner",
                            "--warehouse=" + warehouse,
                            "--eventsTable=edges.events",
                            "--sessionsTable=edges.sessions"),
                        Stream.of(args))
                    .toArray(String[]::new))
            .as(BackfillSessions.Options.class);
    BackfillSessions.Outcome outcome = BackfillSessions.backfill(options);
    System.out.println("BackfillEdgesTest: " + BackfillSessions.summary(outcome, options));
    return outcome;
  }

  /** The table's rows as "user start end events", sorted. */
  private List<String> rows() throws Exception {
    return sorted(SessionRows.describe(SessionRows.byId(sessions)));
  }

  private static List<String> sorted(List<String> rows) {
    List<String> out = new java.util.ArrayList<>(rows);
    out.sort(null);
    return out;
  }

  private static String row(String user, Instant start, Instant end, int events) {
    return RawArchive.describe(user, start.getMillis(), end.getMillis(), events);
  }

  /**
   * "night" clicks every 10 minutes from 23:50 on the range's last day to 02:00 the next day: one
   * session of 14 events (each within the gap of the one before), written whole in the range's
   * partition. An event at 00:40 read at 00:20 was 20 minutes in the future when the job read it
   * (FUTURE_TIMESTAMP, beyond the 5-minute skew): it is not counted, though it is in the past now.
   */
  @Test
  public void sessionRunningPastTheRangesEndIsWrittenWhole() throws Exception {
    RawArchive archive = new RawArchive();
    for (int i = 0; i <= 13; i++) {
      Instant t = at(D2, -10 + 10 * i);
      if (i == 4) {
        archive.event("night", "future", at(D2, 40), 0, at(D2, 20));
      }
      onTime(archive, "night", "n" + i, t);
    }
    clock(archive);
    archive(archive);

    BackfillSessions.Outcome outcome = backfill("--days=2026-11-20");

    assertEquals(List.of(row("night", at(D2, -10), at(D2, 120), 14)), rows());
    assertEquals(1, SessionizeMetrics.read(outcome.result(), "backfill_future_at_ingestion"));
  }

  /**
   * "bridged" has A = 23:00, 23:20, 23:40 on the day before the range and B = 00:30, 00:50 in it;
   * the stream wrote both rows. An event at 00:05, read two hours later, was TOO_LATE; it is within
   * the gap of both (25 minutes each side). A backfill of its day that skips the gate must write
   * the merged session (23:00 to 00:50, 6 events) in the day before and delete B's row; the same
   * backfill with the gate keeps the stream's rows.
   */
  @Test
  public void sessionStartingBeforeTheRangeAbsorbsInRangeEventsThroughALateBridge()
      throws Exception {
    RawArchive archive = new RawArchive();
    onTime(archive, "bridged", "a1", at(D1, -60));
    onTime(archive, "bridged", "a2", at(D1, -40));
    onTime(archive, "bridged", "a3", at(D1, -20));
    onTime(archive, "bridged", "b1", at(D1, 30));
    onTime(archive, "bridged", "b2", at(D1, 50));
    archive.event("bridged", "bridge", at(D1, 5), 0, at(D1, 125));
    clock(archive);
    archive(archive);
    Session a = BackfillScenario.session("bridged", at(D1, -60), at(D1, -20), 3);
    Session b = BackfillScenario.session("bridged", at(D1, 30), at(D1, 50), 2);
    table(a, b);

    backfill("--days=2026-11-20");
    assertEquals(
        "with the gate, the bridge is TOO_LATE: the stream's rows",
        List.of(
            row("bridged", at(D1, -60), at(D1, -20), 3), row("bridged", at(D1, 30), at(D1, 50), 2)),
        rows());

    backfill("--days=2026-11-20", "--includeTooLate=true");
    assertEquals(List.of(row("bridged", at(D1, -60), at(D1, 50), 6)), rows());
  }

  /**
   * With {@code --maxSessionDuration=1h} the stream cuts "bot" (a click every 5 minutes from 10:00
   * to 12:30, never a gap) into sessions of less than an hour: 10:00-10:55 (12 events), 11:00-11:55
   * (12), 12:00-12:30 (7). The backfill, given the same option, cuts at the same events.
   */
  @Test
  public void sessionsAreCutAtMaxSessionDurationAsInTheStream() throws Exception {
    RawArchive archive = new RawArchive();
    Instant t0 = D1.plus(Duration.standardHours(10));
    for (int i = 0; i <= 30; i++) {
      onTime(archive, "bot", "b" + i, t0.plus(M.multipliedBy(5 * i)));
    }
    clock(archive);
    archive(archive);

    backfill("--days=2026-11-20", "--maxSessionDuration=1h");

    Duration h = Duration.standardHours(1);
    assertEquals(
        sorted(
            List.of(
                row("bot", t0, t0.plus(M.multipliedBy(55)), 12),
                row("bot", t0.plus(h), t0.plus(h).plus(M.multipliedBy(55)), 12),
                row("bot", t0.plus(h.multipliedBy(2)), t0.plus(M.multipliedBy(150)), 7))),
        rows());
  }

  /**
   * "closer" has 10:00 and 10:10; "other" in the same partition then moves its stream time to 10:52
   * (horizon 10:47, past 10:10 + gap + allowed lateness = 10:45). "closer"'s event at 10:30 arrives
   * then: accepted (10:30 + 35 min is after 10:47), but its session is final for it, so it starts a
   * new session, as the stream did: 10:00-10:10 (2) and 10:30 (1), whatever order the batch run
   * meets the user's events in.
   */
  @Test
  public void lateEventAfterItsSessionIsFinalStartsANewSessionAsInTheStream() throws Exception {
    RawArchive archive = new RawArchive();
    onTime(archive, "closer", "c1", at(D1, 600));
    onTime(archive, "closer", "c2", at(D1, 610));
    for (int m : new int[] {620, 630, 640, 652}) {
      onTime(archive, "other", "o" + m, at(D1, m));
    }
    archive.event("closer", "c3", at(D1, 630), 0, at(D1, 653));
    clock(archive);
    archive(archive);
    List<String> expected =
        sorted(
            List.of(
                row("closer", at(D1, 600), at(D1, 610), 2),
                row("closer", at(D1, 630), at(D1, 630), 1),
                row("other", at(D1, 620), at(D1, 652), 4)));
    assertEquals(
        "the model agrees",
        expected,
        sorted(
            RawArchive.startingIn(
                RawArchive.stream(
                    archive.records,
                    Duration.standardMinutes(30),
                    Duration.standardMinutes(5),
                    Duration.standardMinutes(5)),
                D1,
                D2)));

    backfill("--days=2026-11-20");

    assertEquals(expected, rows());
  }

  /**
   * Read days fixed with {@code --readDays} that miss the records that close the range stop the
   * backfill before it writes: the table keeps its rows, and the message names the read days.
   */
  @Test
  public void readDaysThatCannotHoldTheRangeStopTheBackfillBeforeItWrites() throws Exception {
    RawArchive archive = new RawArchive();
    onTime(archive, "night", "n1", at(D2, -10));
    onTime(archive, "night", "n2", at(D2, 10));
    clock(archive);
    archive(archive);
    Session kept = BackfillScenario.session("kept", at(D1, 300), at(D1, 310), 5);
    table(kept);

    BackfillSessions.BackfillException e =
        assertThrows(
            BackfillSessions.BackfillException.class,
            () -> backfill("--days=2026-11-20", "--readDays=2026-11-20..2026-11-21"));
    assertThat(e.getMessage(), containsString("the read days 2026-11-20..2026-11-21 are not"));
    assertThat(e.getMessage(), containsString("later=true"));
    assertEquals(List.of(row("kept", at(D1, 300), at(D1, 310), 5)), rows());

    // Without --readDays the backfill reads on until the clock's day; the stale row goes.
    BackfillSessions.Outcome outcome = backfill("--days=2026-11-20");
    assertEquals(List.of(row("night", at(D2, -10), at(D2, 10), 2)), rows());
    assertEquals("2026-11-18..2026-11-22", outcome.plan().read().toString());
    assertEquals(2, outcome.attempts());
  }
}
