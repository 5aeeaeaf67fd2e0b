package dev.sessionize.pipeline.iceberg;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.sessionize.pipeline.SessionRows;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@code ./sessionize maintain} on a real Hadoop catalog on disk after many upserts and a backfill
 * overwrite: files no remaining snapshot needs and old orphans are deleted from disk, young orphans
 * are kept, every remaining snapshot still reads, the table reads the same rows, and the printed
 * figures are what the disk shows.
 */
@RunWith(JUnit4.class)
public class MaintenanceIT {
  private static final long DAY = 86_400_000L;
  private static final String[] DAYS = {"2026-11-20", "2026-11-21", "2026-11-22"};
  private static final int USERS = 6;
  private static final int ROUNDS = 12;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void deletesWhatNoSnapshotNeedsAndOldOrphansKeepsRowsAndYoungOrphans() throws Exception {
    File warehouse = tmp.newFolder("warehouse");
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    Path location = warehouse.toPath().resolve("sessionize/sessions");
    assertTrue(
        location + " is the table's folder", Files.isDirectory(location.resolve("metadata")));

    Map<String, Session> model = upserts(table);
    Map<String, Record> rowsBefore = SessionRows.byId(table);
    assertEquals(expected(model), rowsBefore);

    // Orphans: two written long ago (a failed write's leftovers), one recent (a write in progress).
    Path oldData = write(location.resolve("data/start_time_day=2026-11-20/orphan-old.parquet"), 4);
    Path oldMeta = write(location.resolve("metadata/orphan-old-m0.avro"), 5);
    Path young = write(location.resolve("data/start_time_day=2026-11-21/orphan-young.parquet"), 2);

    Map<Long, Set<String>> plannedBefore = new HashMap<>();
    for (Snapshot s : table.snapshots()) {
      plannedBefore.put(s.snapshotId(), dataFiles(table, s.snapshotId()));
    }
    long diskBefore = sum(files(location, true));

    MaintainSessionsTable.Report report = measuredRun(location, warehouse, "--retainLast=3");
    assertThat("files deleted", report.expiredFiles(), greaterThan(0L));
    // The rows are the same, in every column.
    assertEquals(rowsBefore, SessionRows.byId(table));

    // Old orphans deleted, the young one kept (and it is the only unreferenced file left).
    assertFalse(oldData.toString(), Files.exists(oldData));
    assertFalse(oldMeta.toString(), Files.exists(oldMeta));
    assertTrue(young.toString(), Files.exists(young));
    assertEquals(2, report.orphanFiles());
    assertEquals(1, report.youngOrphansKept());

    // Three snapshots kept plus the manifest rewrite's; each still reads, all its files exist.
    table.refresh();
    List<Snapshot> remaining = new ArrayList<>();
    table.snapshots().forEach(remaining::add);
    assertEquals(report.toString(), 4, remaining.size());
    Set<String> stillPlanned = new HashSet<>();
    for (Snapshot s : remaining) {
      assertTrue(Files.exists(local(s.manifestListLocation())));
      for (ManifestFile m : s.allManifests(table.io())) {
        assertTrue(m.path(), Files.exists(local(m.path())));
      }
      try (CloseableIterable<FileScanTask> tasks =
          table.newScan().useSnapshot(s.snapshotId()).planFiles()) {
        for (FileScanTask task : tasks) {
          assertTrue(Files.exists(local(task.file().path().toString())));
          for (DeleteFile d : task.deletes()) {
            assertTrue(Files.exists(local(d.path().toString())));
          }
        }
      }
      long rows = 0;
      try (CloseableIterable<Record> records =
          IcebergGenerics.read(table).useSnapshot(s.snapshotId()).build()) {
        for (Record ignored : records) {
          rows++;
        }
      }
      assertEquals(model.size(), rows);
      stillPlanned.addAll(dataFiles(table, s.snapshotId()));
    }
    // Compaction rewrote each day (many data files and equality deletes) into one data file.
    assertEquals(report.toString(), DAYS.length, report.compactedPartitions());
    assertEquals(report.toString(), DAYS.length, report.compactedInto());
    assertThat(report.toString(), report.compactedDeleteFiles(), greaterThan(0));
    // Every data file only expired snapshots read is gone from disk.
    Set<String> onlyExpired = new HashSet<>();
    plannedBefore.values().forEach(onlyExpired::addAll);
    onlyExpired.removeAll(stillPlanned);
    assertThat("data files only expired snapshots read", onlyExpired, not(empty()));
    for (String path : onlyExpired) {
      assertFalse(path, Files.exists(local(path)));
    }

    // Once the snapshots before the compaction expire too, the data folder holds the live rows'
    // files only: one data file per day, no delete file, and the young orphan.
    measuredRun(location, warehouse, "--retainLast=1");
    assertEquals(rowsBefore, SessionRows.byId(table));
    Set<String> needed = new HashSet<>();
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        needed.add(local(task.file().path().toString()).toString());
        assertThat(task.deletes(), empty());
      }
    }
    assertEquals(DAYS.length, needed.size());
    needed.add(young.toString());
    Set<String> dataFolder = new HashSet<>();
    files(location.resolve("data"), false).forEach((path, size) -> dataFolder.add(path));
    assertEquals(needed, dataFolder);
    long diskAfter = sum(files(location, true));
    System.out.printf(
        "MaintenanceIT: the table's folder on disk: %d bytes -> %d bytes%n", diskBefore, diskAfter);
    assertThat("bytes on disk", diskAfter, lessThan(diskBefore));
  }

  /**
   * {@code maintain --expireOlderThan=0s} with {@code args}; checks that the figures it reports are
   * what the disk shows (walked with java.nio before and after).
   */
  private static MaintainSessionsTable.Report measuredRun(
      Path location, File warehouse, String... args) throws IOException {
    Map<String, Long> before = files(location, false);
    List<String> all = new ArrayList<>(List.of("--warehouse=" + warehouse, "--expireOlderThan=0s"));
    all.addAll(List.of(args));
    PipelineOptionsFactory.register(MaintainSessionsTable.Options.class);
    MaintainSessionsTable.Report report =
        MaintainSessionsTable.maintain(
            PipelineOptionsFactory.fromArgs(all.toArray(String[]::new))
                .as(MaintainSessionsTable.Options.class));
    System.out.println("MaintenanceIT: " + report);
    Map<String, Long> after = files(location, false);
    Set<String> gone = new HashSet<>(before.keySet());
    gone.removeAll(after.keySet());
    assertEquals(report.toString(), gone.size(), report.expiredFiles() + report.orphanFiles());
    assertEquals(
        report.toString(),
        gone.stream().mapToLong(before::get).sum(),
        report.expiredBytes() + report.orphanBytes());
    assertEquals(before.size(), report.filesBefore());
    assertEquals(sum(before), report.bytesBefore());
    assertEquals(after.size(), report.filesAfter());
    assertEquals(sum(after), report.bytesAfter());
    return report;
  }

  /**
   * The job commits an upsert while the compaction runs (after it read the rows, before it
   * commits): the compacted files keep the data sequence number of the snapshot they were read
   * from, so the upsert's equality deletes still apply to them and no replaced row comes back.
   */
  @Test
  public void compactionKeepsAnUpsertCommittedMeanwhile() throws Exception {
    File warehouse = tmp.newFolder("warehouse");
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    Map<String, Session> model = upserts(table);
    MaintainSessionsTable.Report.Builder report =
        new MaintainSessionsTable.Report.Builder("sessionize.sessions", Duration.standardDays(3));
    Table job = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    MaintainSessionsTable.compact(
        table, report, () -> model.putAll(reemit(job, DAYS[1], ROUNDS + 1)));
    MaintainSessionsTable.Report compacted = report.build();
    assertEquals(compacted.toString(), DAYS.length, compacted.compactedPartitions());
    assertEquals(expected(model), SessionRows.byId(table));
  }

  /**
   * {@link #ROUNDS} commits of the sink, each re-emitting every session of one day with one more
   * event (a new version), so every round adds a data file and an equality-delete file and replaces
   * rows; halfway, a backfill overwrites the first day. Returns the independent model: the latest
   * emission of each session.
   */
  private static Map<String, Session> upserts(Table table) throws IOException {
    Map<String, Session> model = new TreeMap<>();
    for (int round = 1; round <= ROUNDS; round++) {
      model.putAll(reemit(table, DAYS[round % DAYS.length], round));
      if (round == ROUNDS / 2) {
        backfill(table, DAYS[0], model);
      }
    }
    return model;
  }

  /** One commit re-emitting the sessions of {@code day} as version {@code round}. */
  private static Map<String, Session> reemit(Table table, String day, int round) {
    Map<String, Session> batch = new TreeMap<>();
    for (int u = 0; u < USERS; u++) {
      Instant start = Instant.parse(day + "T08:00:00Z").plus(u * 60_000L);
      Session s =
          SessionRows.session("u" + u, start, start.plus(round * 1_000L), round + 1, round, false);
      batch.put(s.sessionId(), s);
    }
    assertEquals(
        SessionsTable.Result.COMMITTED,
        SessionsTable.commit(
                table, batch.values(), SessionsTable.commitId(List.copyOf(batch.values())))
            .result());
    return batch;
  }

  /** An overwrite of one day with the model's rows of that day, as the backfill commits it. */
  private static void backfill(Table table, String day, Map<String, Session> model)
      throws IOException {
    long from = Instant.parse(day + "T00:00:00Z").getMillis();
    List<Record> rows = new ArrayList<>();
    for (Session s : model.values()) {
      long start = s.startTime().getMillis();
      if (start >= from && start < from + DAY) {
        rows.add(SessionsTable.toRecord(s));
      }
    }
    PartitionKey key = new PartitionKey(SessionsTable.SPEC, SessionsTable.SCHEMA);
    key.partition(new InternalRecordWrapper(SessionsTable.SCHEMA.asStruct()).wrap(rows.get(0)));
    DataFile file =
        IcebergFiles.writeData(
            table, SessionsTable.SCHEMA, SessionsTable.SPEC, key, "backfill.parquet", rows);
    Expression range =
        Expressions.and(
            Expressions.greaterThanOrEqual("start_time", from * 1000),
            Expressions.lessThan("start_time", (from + DAY) * 1000));
    table.newOverwrite().overwriteByRowFilter(range).addFile(file).commit();
  }

  private static Map<String, Record> expected(Map<String, Session> model) {
    Map<String, Record> rows = new TreeMap<>();
    model.forEach((id, s) -> rows.put(id, SessionsTable.toRecord(s)));
    return rows;
  }

  /** The data files a scan of the snapshot reads. */
  private static Set<String> dataFiles(Table table, long snapshotId) throws IOException {
    Set<String> paths = new HashSet<>();
    try (CloseableIterable<FileScanTask> tasks =
        table.newScan().useSnapshot(snapshotId).planFiles()) {
      tasks.forEach(t -> paths.add(t.file().path().toString()));
    }
    return paths;
  }

  /** A location of the local file system as a path ({@code /w/t} or {@code file:/w/t}). */
  private static Path local(String location) {
    return location.startsWith("file:") ? Path.of(URI.create(location)) : Path.of(location);
  }

  /** A file of random bytes last modified {@code daysAgo} days ago. */
  private static Path write(Path file, int daysAgo) throws IOException {
    byte[] bytes = new byte[1_000 + daysAgo];
    new Random(daysAgo).nextBytes(bytes);
    Files.write(file, bytes);
    Files.setLastModifiedTime(
        file, FileTime.fromMillis(System.currentTimeMillis() - daysAgo * DAY));
    return file;
  }

  /**
   * The files under {@code folder} and their sizes, walked with java.nio; without {@code
   * withChecksums} the {@code .name.crc} files Hadoop's local file system writes beside each file
   * (and hides from its listings) are left out.
   */
  private static Map<String, Long> files(Path folder, boolean withChecksums) throws IOException {
    Map<String, Long> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(folder)) {
      for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
        String name = p.getFileName().toString();
        if (withChecksums || !(name.startsWith(".") && name.endsWith(".crc"))) {
          files.put(p.toString(), Files.size(p));
        }
      }
    }
    return files;
  }

  private static long sum(Map<String, Long> files) {
    return files.values().stream().mapToLong(Long::longValue).sum();
  }
}
