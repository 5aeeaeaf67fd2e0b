package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.joda.time.Instant;
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
    assertTrue(SessionsTable.commit(table, first, SessionsTable.commitId(first)));
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
    assertTrue(SessionsTable.commit(table, second, secondId));
    List<String> expected =
        List.of(
            "alice 2026-11-24T10:00Z events=3 v2 final", "bob 2026-11-23T23:58Z events=2 v1 open");
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));

    // The same batch again (a retry after a lost acknowledgement): skipped, nothing changes.
    long snapshots = snapshotCount(table);
    assertFalse(SessionsTable.commit(table, second, secondId));
    table.refresh();
    assertEquals(snapshots, snapshotCount(table));
    assertThat(rows(table), containsInAnyOrder(expected.toArray()));
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
      assertTrue(SessionsTable.commit(table, batch, SessionsTable.commitId(batch)));
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
    assertFalse(SessionsTable.commit(table, batch, SessionsTable.commitId(batch)));
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

  private void runHappyPath(int times, String... catalogArgs) throws Exception {
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--input=" + FixturesTest.testdata().resolve("events/happy-path.jsonl"),
                "--output=" + tmp.newFolder(),
                "--sessionsSink=iceberg",
                "--sessionsTable=sessionize.sessions"));
    args.addAll(List.of(catalogArgs));
    for (int run = 0; run < times; run++) {
      SessionizationPipeline.run(
              PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
                  .as(SessionizationPipeline.Options.class))
          .waitUntilFinish();
    }
  }

  @Test
  public void theJobWritesOneRowPerSessionAndARerunChangesNothing() throws Exception {
    File warehouse = tmp.newFolder("wh");
    runHappyPath(2, "--warehouse=" + warehouse);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    List<String> rows = rows(table);
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
