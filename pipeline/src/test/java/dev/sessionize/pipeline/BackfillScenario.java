package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import dev.sessionize.pipeline.batch.BackfillEdgesTest;
import dev.sessionize.pipeline.batch.BackfillSessions;
import dev.sessionize.pipeline.batch.EventsTable;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.Table;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The backfill as a bounded job on a real Iceberg catalog on disk, per runner: the ITs in runners/
 * extend it with their runner's arguments (the DirectRunner's backfills are {@link BackfillIT} and
 * {@link BackfillEdgesTest}).
 *
 * <p>A raw archive of three partitions read over four days: generated clicks (duplicates, malformed
 * records, records too late for the gate) read when the generator delivers them, and in a partition
 * of their own the edge cases of {@link BackfillEdgesTest} (a session running past the range's end,
 * a too-late event bridging a session of the day before with one of the range, a late event that
 * finds its session final); a tenth of the records archived a second time an hour later, as after a
 * replay. The sessions table holds a stale row and a damaged row (a real session's id, wrong
 * counts) in the range and rows before and after the replaced days. The backfill of one day, with
 * the gate and then with the TOO_LATE records, must leave exactly the sessions an independent model
 * gives for the replaced days (the stream's rules record by record, and sort-and-split of
 * everything), and not touch the others.
 */
public abstract class BackfillScenario {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  static final Instant D0 = Instant.parse("2026-11-19T00:00:00Z");
  static final Instant D1 = Instant.parse("2026-11-20T00:00:00Z");
  static final Instant D2 = Instant.parse("2026-11-21T00:00:00Z");
  static final Duration M = Duration.standardMinutes(1);
  static final Duration GAP = Duration.standardMinutes(30);
  static final Duration LATENESS = Duration.standardMinutes(5);

  /** The runner's arguments. */
  protected abstract List<String> runnerArgs();

  /**
   * Whether the run's sessions step closes a session for a late event whose gate horizon is past
   * the session's expiry, as the stream's state implementation does ({@code --sessionImpl=state});
   * the windows implementation in a batch run merges every event within the gap.
   */
  protected boolean closesSessionsAtTheGateHorizon() {
    return true;
  }

  /** A session row as the streaming job could have written it. */
  public static Session session(String user, Instant start, Instant end, int events) {
    return SessionRows.session(user, start, end, events, 1, true);
  }

  /** One record before offsets are given: they follow the order records were read in. */
  private record Pending(
      byte[] payload, int partition, Instant ingestedAt, String user, String id, Instant t) {}

  private static Instant at(Instant day, int minutes) {
    return day.plus(M.multipliedBy(minutes));
  }

  private static void edge(List<Pending> out, String user, String id, int minutes, int readAfter) {
    Instant t = at(D1, minutes);
    out.add(
        new Pending(
            RawArchive.json(user, id, t, "/" + id),
            2,
            t.plus(M.multipliedBy(readAfter)).plus(1000),
            user,
            id,
            t));
  }

  @Test
  public void backfillOfOneDayMatchesTheModelsAndLeavesTheOtherDays() throws Exception {
    String namespace = getClass().getSimpleName().toLowerCase(Locale.ROOT);
    File warehouse = tmp.newFolder("warehouse");
    IcebergCatalog catalog = IcebergCatalog.hadoop(warehouse.getPath());

    List<Pending> pending = new ArrayList<>();
    List<ClickstreamGenerator.Record> generated =
        new ClickstreamGenerator()
            .seed(99L)
            .start(Instant.parse("2026-11-19T22:00:00Z"))
            .events(300)
            .users(15)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .lateRate(0.01)
            .generate();
    int malformed = 0;
    for (ClickstreamGenerator.Record r : generated) {
      int partition = r.userId == null ? malformed++ % 2 : Math.floorMod(r.userId.hashCode(), 2);
      pending.add(
          new Pending(r.payload, partition, r.deliveredAt, r.userId, r.eventId, r.eventTime));
    }
    // The edge cases, in partition 2 (times in minutes after the range's midnight).
    for (int i = 0; i <= 13; i++) {
      edge(pending, "night", "n" + i, 1430 + 10 * i, 0); // 23:50 to 02:00 the next day
    }
    for (int m : new int[] {-60, -40, -20, 30, 50}) {
      edge(pending, "bridged", "b" + m, m, 0);
    }
    edge(pending, "bridged", "bridge", 5, 120); // TOO_LATE: read two hours later
    edge(pending, "closer", "c1", 600, 0);
    edge(pending, "closer", "c2", 610, 0);
    for (int m : new int[] {620, 630, 640, 652}) {
      edge(pending, "other", "o" + m, m, 0);
    }
    edge(pending, "closer", "c3", 630, 23); // after 10:52: its session is final for it
    // A clock per partition the next day: every session of the range is closed.
    for (int p = 0; p < 3; p++) {
      Instant noon = D2.plus(Duration.standardHours(12));
      pending.add(
          new Pending(
              RawArchive.json("clock", "tick" + p, noon, "/"), p, noon, "clock", "tick" + p, noon));
    }
    pending.sort(Comparator.comparing(Pending::ingestedAt));
    RawArchive archive = new RawArchive();
    for (Pending p : pending) {
      archive.add(p.payload(), p.partition(), p.ingestedAt(), p.user(), p.id(), p.t());
    }
    List<EventsTable.Archived> archived = archive.archived();
    // Every tenth record read again an hour later (a replay after a restore): the same position.
    List<EventsTable.Archived> replayed = new ArrayList<>();
    for (int i = 0; i < archived.size(); i += 10) {
      EventsTable.Archived a = archived.get(i);
      replayed.add(
          new EventsTable.Archived(a.record(), a.ingestedAt().plus(Duration.standardHours(1))));
    }
    Table events = EventsTable.openOrCreate(catalog, namespace + ".events");
    EventsTable.append(events, archived, null);
    EventsTable.append(events, replayed, null);

    // The sessions table before: a stale row in the range, rows before and after the replaced
    // days (the day before the range is replaced too: sessions that run into the range start
    // there).
    Table sessions = SessionsTable.openOrCreate(catalog, namespace + ".sessions");
    Session ghost = session("ghost", D1.plus(Duration.standardHours(3)), at(D1, 190), 9);
    Instant before = D0.minus(Duration.standardDays(1)).plus(Duration.standardHours(10));
    Session keeperBefore = session("keeper", before, before.plus(M.multipliedBy(10)), 2);
    Session keeperAfter = session("keeper", D2.plus(Duration.standardHours(10)), at(D2, 610), 3);
    // And a damaged row of a real session (its id, wrong counts): the backfill rewrites it.
    Session damaged = session("night", at(D1, 1430), at(D1, 1431), 99);
    List<Session> existing = List.of(ghost, keeperBefore, keeperAfter, damaged);
    SessionsTable.commit(sessions, existing, SessionsTable.commitId(existing));
    // The rows of the other days must stay as they were written.
    List<SessionModel.Row> kept =
        List.of(SessionRows.rowOf(keeperBefore), SessionRows.rowOf(keeperAfter));

    // 1. With the gate: the stream's sessions.
    // Every column of every row, one row per session_id, by the spec's rules.
    List<SessionModel.Row> stream =
        RawArchive.rowsStartingIn(
            RawArchive.streamRows(
                archive.records,
                GAP,
                LATENESS,
                LATENESS,
                new ArrayList<>(),
                closesSessionsAtTheGateHorizon()),
            D0,
            D2,
            Set.of());
    assertFalse(stream.isEmpty());
    List<SessionModel.Row> expected = new ArrayList<>(stream);
    expected.addAll(kept);
    BackfillSessions.Outcome gated = backfill(warehouse, namespace);
    SessionRows.assertRows(expected, sessions, Set.of());
    assertEquals(
        "one copy per position",
        archived.size(),
        SessionizeMetrics.read(gated.result(), "backfill_records_distinct"));
    assertEquals(
        archived.size() + replayed.size(),
        SessionizeMetrics.read(gated.result(), "backfill_records_read"));
    assertEquals(1, gated.attempts());

    // 2. With the TOO_LATE records: sort-and-split of every event.
    List<SessionModel.Row> batch =
        RawArchive.rowsStartingIn(
            RawArchive.batchRows(archive.records, GAP, Duration.standardHours(24)),
            D0,
            D2,
            Set.of());
    assertFalse("the models differ on this archive", batch.equals(stream));
    expected = new ArrayList<>(batch);
    expected.addAll(kept);
    BackfillSessions.Outcome all = backfill(warehouse, namespace, "--includeTooLate=true");
    SessionRows.assertRows(expected, sessions, Set.of());
    assertEquals(0, SessionizeMetrics.read(all.result(), "dead_letter_TOO_LATE"));
  }

  private BackfillSessions.Outcome backfill(File warehouse, String namespace, String... args) {
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    BackfillSessions.Options options =
        PipelineOptionsFactory.fromArgs(
                Stream.of(
                        runnerArgs().stream(),
                        Stream.of(
                            "--days=2026-11-20",
                            "--warehouse=" + warehouse,
                            "--eventsTable=" + namespace + ".events",
                            "--sessionsTable=" + namespace + ".sessions"),
                        Stream.of(args))
                    .flatMap(s -> s)
                    .toArray(String[]::new))
            .as(BackfillSessions.Options.class);
    BackfillSessions.Outcome outcome = BackfillSessions.backfill(options);
    System.out.println(BackfillSessions.summary(outcome, options));
    return outcome;
  }
}
