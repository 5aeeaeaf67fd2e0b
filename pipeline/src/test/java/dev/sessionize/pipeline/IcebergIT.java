package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.MaintainSessionsTable;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.pipeline.iceberg.SessionsTable.Result;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.BaseTable;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.TableOperations;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.LocationProvider;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The sessions table on a real Iceberg Hadoop catalog on disk, read back with IcebergGenerics. */
@RunWith(JUnit4.class)
public class IcebergIT {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static Session session(
      String user,
      String start,
      String end,
      int events,
      int version,
      boolean fin,
      String... superseded) {
    return SessionRows.session(
        user, Instant.parse(start), Instant.parse(end), events, version, fin, superseded);
  }

  private static long snapshotCount(Table table) {
    long n = 0;
    for (org.apache.iceberg.Snapshot ignored : table.snapshots()) {
      n++;
    }
    return n;
  }

  private static List<String> rows(Table table) throws Exception {
    table.refresh();
    List<String> rows = new ArrayList<>();
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        rows.add(
            r.getField("user_id")
                + " "
                + r.getField("start_time")
                + " events="
                + r.getField("event_count")
                + " v"
                + r.getField("version")
                + (Boolean.TRUE.equals(r.getField("is_final")) ? " final" : " open"));
      }
    }
    return rows;
  }

  @Test
  public void upsertsReplaceRowsDeleteSupersededOnesAndRetriesAreSkipped() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    List<Session> first =
        List.of(
            session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 0, false),
            session("bob", "2026-11-24T23:50:00Z", "2026-11-24T23:55:00Z", 1, 0, false));
    assertEquals(
        Result.COMMITTED,
        SessionsTable.commit(table, first, SessionsTable.commitId(first)).result());
    assertThat(
        rows(table),
        containsInAnyOrder(
            "alice 2026-11-24T10:00Z events=2 v0 open", "bob 2026-11-24T23:50Z events=1 v0 open"));

    // alice re-emitted with a late event; bob's session gets an earlier start on the previous day
    // (a late event moved it across midnight), superseding the old row in its own partition.
    String oldBob = Session.idFor("bob", Instant.parse("2026-11-24T23:50:00Z"));
    List<Session> second =
        List.of(
            session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:12:00Z", 3, 1, false),
            session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:12:00Z", 3, 2, true),
            session("bob", "2026-11-23T23:58:00Z", "2026-11-24T23:55:00Z", 2, 1, false, oldBob));
    String secondId = SessionsTable.commitId(second);
    assertEquals(Result.COMMITTED, SessionsTable.commit(table, second, secondId).result());
    List<String> expected =
        List.of(
            "alice 2026-11-24T10:00Z events=3 v2 final", "bob 2026-11-23T23:58Z events=2 v1 open");
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));

    // The same batch again (a retry after a lost acknowledgement): skipped, nothing changes.
    long snapshots = snapshotCount(table);
    assertEquals(Result.ALREADY_COMMITTED, SessionsTable.commit(table, second, secondId).result());
    table.refresh();
    assertEquals(snapshots, snapshotCount(table));
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));
  }

  /** The current row of {@code sessionId}, as {@link #rows} describes it, or null. */
  private static Record row(Table table, String sessionId) throws Exception {
    return SessionRows.byId(table).get(sessionId);
  }

  /**
   * A restore from checkpoint K replays the sink's buffer as it was at K: its rows (v1, not final)
   * were committed after K, and a later batch committed v2 (final). Flushed again, together with a
   * row that arrived since (so under another commit id), the old batch must not roll the newer row
   * back; nor may the replay's own re-emission of v2 change anything.
   */
  @Test
  public void aBatchFlushedAgainAfterARestoreNeverRollsARowBack() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    Session v1 = session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 1, false);
    Session v2 = session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:20:00Z", 3, 2, true);
    List<Session> heldAtK = List.of(v1);
    SessionsTable.commit(table, heldAtK, SessionsTable.commitId(heldAtK));
    SessionsTable.commit(table, List.of(v2), SessionsTable.commitId(List.of(v2)));

    Session bob = session("bob", "2026-11-24T11:00:00Z", "2026-11-24T11:05:00Z", 1, 0, false);
    List<Session> replayed = List.of(v1, bob);
    SessionsTable.commit(table, replayed, SessionsTable.commitId(replayed));
    List<String> expected =
        List.of(
            "alice 2026-11-24T10:00Z events=3 v2 final", "bob 2026-11-24T11:00Z events=1 v0 open");
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));

    long snapshots = snapshotCount(table);
    SessionsTable.commit(table, List.of(v2), SessionsTable.commitId(List.of(v2)));
    assertEquals(
        "no new snapshot for a row the table already holds", snapshots, snapshotCount(table));
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));
  }

  /**
   * A replay may fire fewer panes than the original run: its final row can have a lower version
   * than a non-final row the original run committed after the checkpoint. Final ranks first, so it
   * replaces that row (else the session would stay open in the table for good).
   */
  @Test
  public void aReplayedFinalRowReplacesANonFinalRowOfAHigherVersion() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    List<Session> original =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:15:00Z", 3, 3, false));
    SessionsTable.commit(table, original, SessionsTable.commitId(original));
    List<Session> replay =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:20:00Z", 4, 2, true));
    SessionsTable.Outcome outcome =
        SessionsTable.commit(table, replay, SessionsTable.commitId(replay));
    assertEquals(Result.COMMITTED, outcome.result());
    assertThat(rows(table), contains("alice 2026-11-24T10:00Z events=4 v2 final"));
    // ... and a non-final row of the replay does not replace the final one.
    List<Session> late =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:15:00Z", 3, 4, false));
    outcome = SessionsTable.commit(table, late, SessionsTable.commitId(late));
    assertEquals(Result.NOTHING_NEW, outcome.result());
    assertEquals(1, outcome.staleRows());
    assertThat(rows(table), contains("alice 2026-11-24T10:00Z events=4 v2 final"));
  }

  /**
   * A session superseded by a later one (a late event moved its start) must not come back when the
   * batch that wrote it is flushed again after a restore.
   */
  @Test
  public void aSupersededSessionFlushedAgainDoesNotComeBack() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    Session moved = session("bob", "2026-11-24T10:05:00Z", "2026-11-24T10:10:00Z", 2, 0, false);
    Session merged =
        session(
            "bob", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 3, 1, false, moved.sessionId());
    SessionsTable.commit(table, List.of(moved), SessionsTable.commitId(List.of(moved)));
    SessionsTable.commit(table, List.of(merged), SessionsTable.commitId(List.of(merged)));

    Session carol = session("carol", "2026-11-24T12:00:00Z", "2026-11-24T12:01:00Z", 1, 0, false);
    List<Session> replayed = List.of(moved, carol);
    SessionsTable.commit(table, replayed, SessionsTable.commitId(replayed));
    assertThat(
        rows(table),
        containsInAnyOrder(
            "bob 2026-11-24T10:00Z events=3 v1 open", "carol 2026-11-24T12:00Z events=1 v0 open"));
  }

  /**
   * One batch holding a chain of moved starts (A superseded by M, M by N): only N is written, and
   * the rows of A and M already in the table go with it.
   */
  @Test
  public void aChainOfSupersededSessionsInOneBatchLeavesTheLastOnly() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    Session a = session("bob", "2026-11-24T10:05:00Z", "2026-11-24T10:10:00Z", 2, 0, false);
    SessionsTable.commit(table, List.of(a), SessionsTable.commitId(List.of(a)));
    Session m =
        session("bob", "2026-11-24T10:03:00Z", "2026-11-24T10:10:00Z", 3, 1, false, a.sessionId());
    Session n =
        session("bob", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 4, 2, false, m.sessionId());
    List<Session> batch = List.of(a, m, n);
    SessionsTable.commit(table, batch, SessionsTable.commitId(batch));
    assertThat(rows(table), contains("bob 2026-11-24T10:00Z events=4 v2 open"));
  }

  /**
   * The commit id covers every column (but {@code emitted_at}): a re-emission with the same id,
   * version, finality and event count but other content is a different batch, and it is written.
   */
  @Test
  public void aReEmissionWithOtherContentIsNotTakenForARetry() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    Session first = session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 3, 1, false);
    Session other =
        first.toBuilder()
            .setPagesVisited(List.of("/", "/cart"))
            .setExitPage("/cart")
            .setPageViewCount(2)
            .setClickCount(1)
            .build();
    Session laterEmission =
        first.toBuilder().setEmittedAt(Instant.parse("2026-11-26T11:00:00Z")).build();
    assertNotEquals(SessionsTable.commitId(List.of(first)), SessionsTable.commitId(List.of(other)));
    assertEquals(
        "emitted_at is not part of the id",
        SessionsTable.commitId(List.of(first)),
        SessionsTable.commitId(List.of(laterEmission)));

    SessionsTable.commit(table, List.of(first), SessionsTable.commitId(List.of(first)));
    SessionsTable.commit(table, List.of(other), SessionsTable.commitId(List.of(other)));
    Record r = row(table, first.sessionId());
    assertEquals("/cart", r.getField("exit_page"));
    assertEquals(List.of("/", "/cart"), r.getField("pages_visited"));
    assertEquals(1, r.getField("click_count"));
  }

  /**
   * Idempotency does not depend on snapshot retention: after maintenance expired every snapshot but
   * the current one, neither the last batch nor an older one changes the table when applied again.
   */
  @Test
  public void retriesAreHarmlessAfterEverySnapshotOfTheirCommitsExpired() throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    List<Session> b1 =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 1, false));
    List<Session> b2 =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:20:00Z", 3, 2, true));
    List<Session> b3 =
        List.of(session("bob", "2026-11-24T11:00:00Z", "2026-11-24T11:05:00Z", 1, 0, true));
    for (List<Session> batch : List.of(b1, b2, b3)) {
      SessionsTable.commit(table, batch, SessionsTable.commitId(batch));
    }
    table.expireSnapshots().expireOlderThan(System.currentTimeMillis() + 1).retainLast(1).commit();
    table.refresh();
    assertEquals(1, snapshotCount(table));
    List<String> expected =
        List.of(
            "alice 2026-11-24T10:00Z events=3 v2 final", "bob 2026-11-24T11:00Z events=1 v0 final");
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));

    for (List<Session> batch : List.of(b3, b1, b2)) {
      SessionsTable.commit(table, batch, SessionsTable.commitId(batch));
      table.refresh();
      assertEquals("no new snapshot", 1, snapshotCount(table));
      assertThat(rows(table), containsInAnyOrder(expected.toArray()));
    }
  }

  @After
  public void storageUp() {
    UnreachableFileIO.up();
  }

  /** A Hadoop catalog whose file IO is {@link UnreachableFileIO}. */
  private IcebergCatalog unreliableCatalog() throws Exception {
    return IcebergCatalog.of(
        "hadoop",
        tmp.newFolder("warehouse").getPath(),
        Map.of("io-impl", UnreachableFileIO.class.getName()));
  }

  /** As the sink opens the table: once, and anew from the catalog after a failed attempt. */
  private static SessionsTable.TableSource source(IcebergCatalog catalog, Table table) {
    return again -> again ? SessionsTable.openOrCreate(catalog, "db.sessions") : table;
  }

  private static final SessionsTable.Committer FIVE_MINUTES =
      new SessionsTable.Committer(SessionsTable.STREAM_WRITER, Duration.standardMinutes(5));

  /** Every commit id in the table's snapshots, in commit order. */
  private static List<String> commitIds(Table table) {
    table.refresh();
    List<String> ids = new ArrayList<>();
    for (org.apache.iceberg.Snapshot snapshot : table.snapshots()) {
      ids.add(snapshot.summary().get(SessionsTable.COMMIT_ID));
    }
    return ids;
  }

  /**
   * The warehouse does not answer for a few seconds (every file read, write and delete fails) just
   * as a batch is committed: the commit waits it out and gets in once.
   */
  @Test
  public void aStorageOutageIsWaitedOutAndTheBatchCommitsOnce() throws Exception {
    IcebergCatalog catalog = unreliableCatalog();
    Table table = SessionsTable.openOrCreate(catalog, "db.sessions");
    List<Session> first =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 0, false));
    SessionsTable.commit(table, first, SessionsTable.commitId(first));
    List<Session> batch =
        List.of(
            session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:20:00Z", 3, 1, true),
            session("bob", "2026-11-24T11:00:00Z", "2026-11-24T11:05:00Z", 1, 0, false));
    long failuresBefore = UnreachableFileIO.FAILURES.get();
    UnreachableFileIO.downFor(3_000, "");
    SessionsTable.Outcome outcome =
        SessionsTable.commit(
            source(catalog, table), batch, SessionsTable.commitId(batch), FIVE_MINUTES, () -> {});
    assertTrue(
        "the outage made operations fail", UnreachableFileIO.FAILURES.get() > failuresBefore);
    assertEquals(Result.COMMITTED, outcome.result());
    assertTrue("retried " + outcome.retries(), outcome.retries() > 0);
    assertEquals(
        List.of(SessionsTable.commitId(first), SessionsTable.commitId(batch)), commitIds(table));
    assertThat(
        rows(table),
        containsInAnyOrder(
            "alice 2026-11-24T10:00Z events=3 v1 final", "bob 2026-11-24T11:00Z events=1 v0 open"));
  }

  /**
   * An outage longer than the committer's limit: the commit gives up with one line naming the
   * limit, and the table is as it was.
   */
  @Test
  public void anOutageLongerThanTheLimitFailsWithOneLine() throws Exception {
    IcebergCatalog catalog = unreliableCatalog();
    Table table = SessionsTable.openOrCreate(catalog, "db.sessions");
    List<Session> batch =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 0, false));
    UnreachableFileIO.downFor(600_000, "");
    try {
      SessionsTable.commit(
          source(catalog, table),
          batch,
          SessionsTable.commitId(batch),
          new SessionsTable.Committer(SessionsTable.STREAM_WRITER, Duration.standardSeconds(1)),
          () -> {});
      throw new AssertionError("the commit went through an outage");
    } catch (SessionsTable.CommitGaveUpException e) {
      assertFalse(e.getMessage(), e.getMessage().contains("\n"));
      assertThat(
          e.getMessage(),
          org.hamcrest.Matchers.startsWith("could not commit 1 session rows to the Iceberg table"));
      assertThat(e.getMessage(), org.hamcrest.Matchers.containsString("--icebergMaxOutage=1s"));
      assertThat(e.getMessage(), org.hamcrest.Matchers.containsString("injected outage"));
    }
    UnreachableFileIO.up();
    // (Reloaded: the table object whose refresh failed half-way holds no metadata any more.)
    assertEquals(List.of(), commitIds(SessionsTable.openOrCreate(catalog, "db.sessions")));
  }

  /**
   * Table operations that lose the catalog's answer to the next {@code lose} commits: the commit
   * lands ({@code land}) or not, and the writer is told its state is unknown either way.
   */
  private static final class LostAnswerOps implements TableOperations {
    private final TableOperations real;
    private final boolean land;
    private int lose;

    LostAnswerOps(TableOperations real, boolean land, int lose) {
      this.real = real;
      this.land = land;
      this.lose = lose;
    }

    @Override
    public TableMetadata current() {
      return real.current();
    }

    @Override
    public TableMetadata refresh() {
      return real.refresh();
    }

    @Override
    public void commit(TableMetadata base, TableMetadata metadata) {
      if (lose > 0) {
        lose--;
        if (land) {
          real.commit(base, metadata);
        }
        throw new CommitStateUnknownException(
            new java.net.SocketTimeoutException("injected: the catalog's answer was lost"));
      }
      real.commit(base, metadata);
    }

    @Override
    public FileIO io() {
      return real.io();
    }

    @Override
    public String metadataFileLocation(String fileName) {
      return real.metadataFileLocation(fileName);
    }

    @Override
    public LocationProvider locationProvider() {
      return real.locationProvider();
    }

    @Override
    public TableOperations temp(TableMetadata uncommitted) {
      return real.temp(uncommitted);
    }

    @Override
    public long newSnapshotId() {
      return real.newSnapshotId();
    }
  }

  private Table losingAnswers(boolean land, int lose) throws Exception {
    Table table = SessionsTable.openOrCreate(tmp.newFolder("warehouse").getPath(), "db.sessions");
    return new BaseTable(
        new LostAnswerOps(((HasTableOperations) table).operations(), land, lose), table.name());
  }

  /**
   * A commit that landed, but whose answer was lost ({@link CommitStateUnknownException}): the
   * writer looks for its commit id before committing again, finds it, and does not apply the batch
   * a second time.
   */
  @Test
  public void aCommitThatLandedButWhoseAnswerWasLostIsNotAppliedTwice() throws Exception {
    Table table = losingAnswers(true, 1);
    List<Session> batch =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 0, false));
    SessionsTable.Outcome outcome =
        SessionsTable.commit(table, batch, SessionsTable.commitId(batch));
    assertEquals(Result.COMMITTED, outcome.result());
    assertEquals(1, outcome.retries());
    assertEquals(1, outcome.rowsWritten());
    assertEquals(List.of(SessionsTable.commitId(batch)), commitIds(table));
    assertThat(rows(table), contains("alice 2026-11-24T10:00Z events=2 v0 open"));
  }

  /** The same, but the commit did not land: the writer commits again, once. */
  @Test
  public void aCommitThatDidNotLandAndWhoseAnswerWasLostIsMadeAgain() throws Exception {
    Table table = losingAnswers(false, 2);
    List<Session> batch =
        List.of(session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", 2, 0, false));
    SessionsTable.Outcome outcome =
        SessionsTable.commit(table, batch, SessionsTable.commitId(batch));
    assertEquals(Result.COMMITTED, outcome.result());
    assertEquals(2, outcome.retries());
    assertEquals(List.of(SessionsTable.commitId(batch)), commitIds(table));
    assertThat(rows(table), contains("alice 2026-11-24T10:00Z events=2 v0 open"));
  }

  @Test
  public void maintenanceExpiresOldSnapshotsAndKeepsRowsAndIdempotency() throws Exception {
    File warehouse = tmp.newFolder("maintained");
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    List<Session> batch = List.of();
    for (int i = 1; i <= 6; i++) {
      batch =
          List.of(
              session("alice", "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z", i, i, false),
              session(
                  "bob",
                  "2026-11-2" + i + "T08:00:00Z",
                  "2026-11-2" + i + "T08:01:00Z",
                  1,
                  0,
                  true));
      assertEquals(
          Result.COMMITTED,
          SessionsTable.commit(table, batch, SessionsTable.commitId(batch)).result());
    }
    List<String> before = rows(table);
    assertEquals(7, before.size());
    assertEquals(6, snapshotCount(table));

    PipelineOptionsFactory.register(MaintainSessionsTable.Options.class);
    String report =
        MaintainSessionsTable.run(
            PipelineOptionsFactory.fromArgs(
                    "--warehouse=" + warehouse, "--expireOlderThan=0s", "--retainLast=2")
                .as(MaintainSessionsTable.Options.class));
    table.refresh();
    // Two kept, plus the manifest rewrite's own snapshot.
    assertEquals(report, 3, snapshotCount(table));
    assertThat(report, org.hamcrest.Matchers.containsString("snapshots 6 -> 3"));
    assertThat(rows(table), containsInAnyOrder(before.toArray()));
    // The newest commit's id survived, so its retry is still skipped.
    assertEquals(
        Result.ALREADY_COMMITTED,
        SessionsTable.commit(table, batch, SessionsTable.commitId(batch)).result());
    assertThat(rows(table), containsInAnyOrder(before.toArray()));
  }

  /** The sessions of {@code events/happy-path.jsonl}, worked out by hand in its README. */
  private static final List<String> HAPPY_PATH =
      List.of(
          "alice 2026-11-24T10:00Z events=4 v0 final",
          "alice 2026-11-24T11:00Z events=2 v0 final",
          "bob 2026-11-24T10:01Z events=3 v0 final",
          "bob 2026-11-24T11:20Z events=1 v0 final",
          "carol 2026-11-24T10:30Z events=1 v0 final");

  /** Runs the job on the happy path {@code times} times; returns the last run's result. */
  private PipelineResult runHappyPath(int times, String... catalogArgs) throws Exception {
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--input=" + FixturesTest.testdata().resolve("events/happy-path.jsonl"),
                "--output=" + tmp.newFolder(),
                "--sessionsSink=iceberg",
                "--sessionsTable=sessionize.sessions"));
    args.addAll(List.of(catalogArgs));
    PipelineResult result = null;
    for (int run = 0; run < times; run++) {
      result =
          SessionizationPipeline.run(
              PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
                  .as(SessionizationPipeline.Options.class));
      result.waitUntilFinish();
    }
    return result;
  }

  /**
   * The job run twice on the same input: the second run's batch is recognised as the last commit of
   * the writer (same rows, same id) and skipped, so the table keeps the first run's snapshots and
   * rows; a skipped commit is told from a re-applied one by the snapshots and the counters.
   */
  @Test
  public void theJobWritesOneRowPerSessionAndARerunChangesNothing() throws Exception {
    File warehouse = tmp.newFolder("wh");
    runHappyPath(1, "--warehouse=" + warehouse);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    List<String> rows = rows(table);
    rows.sort(null);
    assertThat(rows, contains(HAPPY_PATH.toArray()));
    List<String> commitsAfterFirst = commitIds(table);
    long snapshotAfterFirst = table.currentSnapshot().snapshotId();
    assertEquals(1, commitsAfterFirst.size());

    PipelineResult again = runHappyPath(1, "--warehouse=" + warehouse);
    assertEquals("the rerun's commit", commitsAfterFirst, commitIds(table));
    assertEquals(snapshotAfterFirst, table.currentSnapshot().snapshotId());
    assertEquals(0, SessionizeMetrics.read(again, "iceberg_commits"));
    assertEquals(1, SessionizeMetrics.read(again, "iceberg_batches_already_committed"));
    rows = rows(table);
    rows.sort(null);
    assertThat(rows, contains(HAPPY_PATH.toArray()));
  }

  @Test
  public void aJdbcCatalogOnSqliteHoldsTheSameTable() throws Exception {
    File warehouse = tmp.newFolder("jdbc-wh");
    File db = new File(tmp.getRoot(), "catalog.db");
    // SQLite locks the whole file: in its default journal mode an open read (a statement not yet
    // closed on another connection of the catalog's pool) blocks every writer, which failed this
    // test now and then; in WAL mode readers never block the writer, and writers wait for each
    // other up to 30 s instead of failing at once.
    String uri = "jdbc:sqlite:" + db + "?journal_mode=WAL&busy_timeout=30000";
    runHappyPath(
        1,
        "--catalogType=jdbc",
        "--warehouse=" + warehouse,
        "--catalogProperties=uri=" + uri + ",jdbc.schema-version=V1");
    // The table is registered in the database, not in a Hadoop catalog's version-hint files.
    assertTrue("the catalog database " + db, db.length() > 0);
    assertFalse(new File(warehouse, "sessionize/sessions/metadata/version-hint.text").exists());
    Table table =
        SessionsTable.openOrCreate(
            IcebergCatalog.of("jdbc", warehouse.getPath(), Map.of("uri", uri)),
            "sessionize.sessions");
    List<String> rows = rows(table);
    rows.sort(null);
    assertThat(rows, contains(HAPPY_PATH.toArray()));
  }
}
