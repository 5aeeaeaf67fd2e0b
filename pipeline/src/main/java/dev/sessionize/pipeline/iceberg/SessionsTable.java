package dev.sessionize.pipeline.iceberg;

import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.transforms.model.Session;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.Transaction;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.deletes.EqualityDeleteWriter;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Types;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Iceberg {@code sessions} table (format v2, partitioned by {@code day(start_time)}) and its
 * upsert commit.
 *
 * <p>{@link #commit} applies a batch of session emissions as one {@link RowDelta}: equality deletes
 * on {@code session_id}, each in the partition of the session's own start (read from the id), of
 * every row the batch replaces (the sessions it re-emits and the ones they supersede), and the
 * inserts of the batch's rows. Rows added by a commit are not affected by its own equality deletes
 * (same sequence number), so readers see exactly one row per session after every commit. What makes
 * it safe to apply a batch again, in any order, after a restore from any checkpoint:
 *
 * <ul>
 *   <li><b>Monotonic rows.</b> Before writing, the commit reads the current rows that the batch
 *       touches (same {@code session_id}, a superseded id, or a row of the same user whose span
 *       overlaps), at the snapshot it then validates against. A row of the batch is stale, and
 *       skipped with the deletes it carries, when one of those rows ranks higher: final before not
 *       final, then the higher {@code version}. A final row is thus never replaced by a non-final
 *       one, nor a row by one of a lower version of the same finality, and a session that a later
 *       row superseded never comes back. A row equal to the current one in every column but {@code
 *       emitted_at} is not written again. Concurrent writers into the same rows (the backfill) make
 *       the commit fail validation, and it is planned again on the new snapshot.
 *   <li><b>Commit ids of the whole content.</b> A batch's id is the SHA-256 of its rows, every
 *       column but {@code emitted_at} plus the superseded ids ({@link #commitId}); it is stored in
 *       the snapshot summary ({@link #COMMIT_ID}) and, in the same transaction, in the table
 *       property {@link #LAST_COMMIT_PREFIX}{@code <writer>}, which snapshot expiry does not
 *       remove. A batch whose id is the writer's last commit is skipped without reading rows; any
 *       older batch applied again finds its rows stale or unchanged and commits nothing.
 *   <li><b>Outages.</b> Any failure (a lost race beyond Iceberg's own retries, an I/O error, an
 *       unreachable catalog, a {@link CommitStateUnknownException}) is retried in place, the batch
 *       planned afresh each time, with exponential backoff (200 ms doubling to 30 s) for up to the
 *       committer's {@code maxOutage}; past it the commit fails with one line. Each attempt starts
 *       by looking for the batch's id in the writer's last commit, so a commit whose answer was
 *       lost but that did land is not applied twice.
 * </ul>
 */
public final class SessionsTable {
  private static final Logger LOG = LoggerFactory.getLogger(SessionsTable.class);

  /** Snapshot summary key of a commit's id. */
  public static final String COMMIT_ID = "sessionize.commit-id";

  /** Table property prefix: followed by a writer's name, the id of that writer's last commit. */
  public static final String LAST_COMMIT_PREFIX = "sessionize.last-commit-id.";

  /** The streaming job's writer. */
  public static final String STREAM_WRITER = "stream";

  public static final Schema SCHEMA =
      new Schema(
          List.of(
              Types.NestedField.required(1, "session_id", Types.StringType.get()),
              Types.NestedField.required(2, "user_id", Types.StringType.get()),
              Types.NestedField.optional(3, "client_session_id", Types.StringType.get()),
              Types.NestedField.required(4, "start_time", Types.TimestampType.withZone()),
              Types.NestedField.required(5, "end_time", Types.TimestampType.withZone()),
              Types.NestedField.required(6, "duration_seconds", Types.LongType.get()),
              Types.NestedField.required(7, "event_count", Types.IntegerType.get()),
              Types.NestedField.required(8, "page_view_count", Types.IntegerType.get()),
              Types.NestedField.required(9, "click_count", Types.IntegerType.get()),
              Types.NestedField.required(10, "purchase_count", Types.IntegerType.get()),
              Types.NestedField.required(
                  11, "pages_visited", Types.ListType.ofRequired(23, Types.StringType.get())),
              Types.NestedField.optional(12, "entry_page", Types.StringType.get()),
              Types.NestedField.optional(13, "exit_page", Types.StringType.get()),
              Types.NestedField.optional(14, "referrer", Types.StringType.get()),
              Types.NestedField.optional(15, "device_type", Types.StringType.get()),
              Types.NestedField.optional(16, "country", Types.StringType.get()),
              Types.NestedField.required(17, "conversion", Types.BooleanType.get()),
              Types.NestedField.required(18, "revenue", Types.DecimalType.of(18, 2)),
              Types.NestedField.required(
                  19,
                  "revenue_by_currency",
                  Types.MapType.ofRequired(
                      24, 25, Types.StringType.get(), Types.DecimalType.of(18, 2))),
              Types.NestedField.required(20, "version", Types.IntegerType.get()),
              Types.NestedField.required(21, "is_final", Types.BooleanType.get()),
              Types.NestedField.required(22, "emitted_at", Types.TimestampType.withZone())),
          Set.of(1));

  public static final PartitionSpec SPEC =
      PartitionSpec.builderFor(SCHEMA).day("start_time").build();

  private static final Schema ID_SCHEMA = SCHEMA.select("session_id");

  /** The first wait after a failed attempt; it doubles up to {@link #MAX_WAIT_MILLIS}. */
  static final long FIRST_WAIT_MILLIS = 200;

  static final long MAX_WAIT_MILLIS = 30_000;

  private SessionsTable() {}

  /** The table in a Hadoop catalog at {@code warehouse}, created (format v2) if missing. */
  public static Table openOrCreate(String warehouse, String tableName) {
    return openOrCreate(IcebergCatalog.hadoop(warehouse), tableName);
  }

  /** The table in {@code catalog}, created (format v2, with its namespace) if missing. */
  public static Table openOrCreate(IcebergCatalog catalog, String tableName) {
    return IcebergFiles.openOrCreate(catalog, tableName, SCHEMA, SPEC);
  }

  /**
   * A deterministic id for a batch, whatever the order of its rows: the SHA-256 of every row's
   * columns but {@code emitted_at} (the processing time of the emission, which a replay changes),
   * with its superseded ids. Rows that differ in any other column give another id.
   */
  public static String commitId(Collection<Session> rows) {
    List<String> keys = new ArrayList<>();
    for (Session s : rows) {
      keys.add(s.toBuilder().setEmittedAt(new Instant(0)).build().toJson());
    }
    return IcebergFiles.commitId("", "sessions/2", keys);
  }

  /** How a batch ended. */
  public enum Result {
    /** Its rows were committed, in one snapshot. */
    COMMITTED,
    /** Its id is the writer's last commit already: a retry of a batch that got in. */
    ALREADY_COMMITTED,
    /** Every row was stale or already in the table: nothing was committed. */
    NOTHING_NEW
  }

  /**
   * What a commit did: rows written, sessions whose rows it deleted, rows skipped as stale (a row
   * of the table ranks higher) or as unchanged, and the attempts that failed and were retried.
   */
  public record Outcome(
      Result result,
      int rowsWritten,
      int sessionsDeleted,
      int staleRows,
      int unchangedRows,
      int retries) {}

  /**
   * Who commits (the name under which its last commit id is kept) and the longest time it waits out
   * failures before giving up.
   */
  public record Committer(String writer, Duration maxOutage) implements Serializable {}

  /**
   * Where a commit gets the table: the one it has, or (with {@code again}, after a failed attempt)
   * one loaded anew from the catalog, since a table whose refresh failed half-way may hold a
   * version number without its metadata.
   */
  @FunctionalInterface
  public interface TableSource {
    Table open(boolean again);
  }

  /** The commit did not get in within the committer's {@code maxOutage}. */
  public static final class CommitGaveUpException extends RuntimeException {
    CommitGaveUpException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * {@link #commit(TableSource, Collection, String, Committer, Runnable)} as the stream's writer on
   * {@code table}, retrying failures for up to 2 minutes (on the same table object, which cannot be
   * reloaded here: for tests and tools, not for a long-running writer).
   */
  public static Outcome commit(Table table, Collection<Session> rows, String commitId) {
    return commit(
        again -> table,
        rows,
        commitId,
        new Committer(STREAM_WRITER, Duration.standardMinutes(2)),
        () -> {});
  }

  /**
   * Applies a batch of session emissions (see the class comment); {@code onRetry} runs before each
   * retry. Throws {@link CommitGaveUpException} when no attempt succeeded within {@code
   * committer.maxOutage()}.
   */
  public static Outcome commit(
      TableSource table,
      Collection<Session> rows,
      String commitId,
      Committer committer,
      Runnable onRetry) {
    long started = System.nanoTime();
    long wait = FIRST_WAIT_MILLIS;
    int retries = 0;
    Plan[] lastPlan = {null};
    boolean unknown = false;
    RuntimeException firstFailure = null;
    while (true) {
      try {
        Outcome outcome =
            attempt(table.open(retries > 0), rows, commitId, committer.writer(), lastPlan);
        if (outcome.result() == Result.ALREADY_COMMITTED && unknown && lastPlan[0] != null) {
          // The attempt whose answer was lost got in: it is this call's commit.
          outcome = lastPlan[0].outcome(Result.COMMITTED);
        }
        outcome =
            new Outcome(
                outcome.result(),
                outcome.rowsWritten(),
                outcome.sessionsDeleted(),
                outcome.staleRows(),
                outcome.unchangedRows(),
                retries);
        if (firstFailure != null) {
          LOG.info(
              "Iceberg commit {} of {} session rows got through after {} retries ({})",
              commitId.substring(0, 12),
              rows.size(),
              retries,
              outcome.result());
        }
        return outcome;
      } catch (RuntimeException e) {
        unknown |= e instanceof CommitStateUnknownException;
        long elapsed = (System.nanoTime() - started) / 1_000_000;
        long left = committer.maxOutage().getMillis() - elapsed;
        if (left <= 0) {
          throw new CommitGaveUpException(
              String.format(
                  "could not commit %d session rows to the Iceberg table within %.1f s (%d"
                      + " attempts; the longest wait is --icebergMaxOutage=%s): %s",
                  rows.size(),
                  elapsed / 1000.0,
                  retries + 1,
                  DurationOption.format(committer.maxOutage()),
                  oneLine(e)),
              e);
        }
        if (firstFailure == null) {
          firstFailure = e;
          LOG.warn(
              "Iceberg commit {} of {} session rows failed, retrying for up to {}: {}",
              commitId.substring(0, 12),
              rows.size(),
              DurationOption.format(committer.maxOutage()),
              oneLine(e));
        }
        try {
          Thread.sleep(Math.min(wait, left));
        } catch (InterruptedException stop) {
          Thread.currentThread().interrupt();
          throw e;
        }
        wait = Math.min(wait * 2, MAX_WAIT_MILLIS);
        retries++;
        onRetry.run();
      }
    }
  }

  /** The exception's class and the first line of its message, and its root cause's. */
  private static String oneLine(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String text = e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
    if (root != e) {
      text += " (" + root.getClass().getSimpleName() + ": " + firstLine(root.getMessage()) + ")";
    }
    return text;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  /** One attempt: look for the commit, plan it on the current snapshot, write, commit. */
  private static Outcome attempt(
      Table table, Collection<Session> rows, String commitId, String writer, Plan[] lastPlan) {
    table.refresh();
    if (commitId.equals(table.properties().get(LAST_COMMIT_PREFIX + writer))) {
      return new Outcome(Result.ALREADY_COMMITTED, 0, 0, 0, 0, 0);
    }
    Snapshot base = table.currentSnapshot();
    Plan plan = Plan.of(table, base, rows);
    if (plan.inserts.isEmpty() && plan.deletes.isEmpty()) {
      return plan.outcome(Result.NOTHING_NEW);
    }
    List<DataFile> dataFiles = new ArrayList<>();
    List<DeleteFile> deleteFiles = new ArrayList<>();
    try {
      plan.write(table, commitId, dataFiles, deleteFiles);
      Transaction transaction = table.newTransaction();
      RowDelta delta = transaction.newRowDelta();
      deleteFiles.forEach(delta::addDeletes);
      dataFiles.forEach(delta::addRows);
      delta.set(COMMIT_ID, commitId);
      if (base != null) {
        // Another writer's rows or deletes in the rows read since: plan again (the retry).
        delta
            .validateFromSnapshot(base.snapshotId())
            .conflictDetectionFilter(plan.filter)
            .validateNoConflictingDataFiles()
            .validateNoConflictingDeleteFiles();
      }
      delta.commit();
      transaction.updateProperties().set(LAST_COMMIT_PREFIX + writer, commitId).commit();
      lastPlan[0] = plan;
      transaction.commitTransaction();
    } catch (CommitStateUnknownException e) {
      throw e; // the files may be in the table now: keep them
    } catch (RuntimeException e) {
      deleteQuietly(table, dataFiles, deleteFiles);
      throw e;
    }
    return plan.outcome(Result.COMMITTED);
  }

  private static void deleteQuietly(
      Table table, List<DataFile> dataFiles, List<DeleteFile> deleteFiles) {
    List<String> paths = new ArrayList<>();
    dataFiles.forEach(f -> paths.add(f.path().toString()));
    deleteFiles.forEach(f -> paths.add(f.path().toString()));
    for (String path : paths) {
      try {
        table.io().deleteFile(path);
      } catch (RuntimeException e) {
        // an orphan for the maintenance command, when the storage is what failed
      }
    }
  }

  /** Compares (is_final, version) pairs: final first, then version. */
  static int compareRank(boolean finalA, int versionA, boolean finalB, int versionB) {
    int c = Boolean.compare(finalA, finalB);
    return c != 0 ? c : Integer.compare(versionA, versionB);
  }

  /** What one attempt commits, judged against the current rows of the snapshot it starts from. */
  private static final class Plan {
    final Map<String, Session> inserts = new LinkedHashMap<>();
    final Set<String> deletes = new TreeSet<>();
    int stale;
    int unchanged;
    Expression filter = Expressions.alwaysFalse();

    Outcome outcome(Result result) {
      return new Outcome(result, inserts.size(), deletes.size(), stale, unchanged, 0);
    }

    static Plan of(Table table, Snapshot base, Collection<Session> rows) {
      Plan plan = new Plan();
      // The batch's newest row per session (final first, then version, then the later one).
      Map<String, Session> latest = new LinkedHashMap<>();
      for (Session s : rows) {
        latest.merge(
            s.sessionId(),
            s,
            (a, b) -> compareRank(a.isFinal(), a.version(), b.isFinal(), b.version()) > 0 ? a : b);
      }
      // The ids each session of the batch supersedes, over all its rows (an older row may list
      // ids the newer one does not repeat).
      Map<String, Set<String>> claims = new HashMap<>();
      for (Session s : rows) {
        claims
            .computeIfAbsent(s.sessionId(), id -> new TreeSet<>())
            .addAll(s.supersededSessionIds());
      }
      // Rows the batch itself supersedes with a newer row go, and what they superseded goes with
      // the row that replaced them; a row older than one it claims to supersede is stale.
      boolean changed = true;
      while (changed) {
        changed = false;
        for (Session y : new ArrayList<>(latest.values())) {
          if (latest.get(y.sessionId()) != y) {
            continue;
          }
          for (String id : new ArrayList<>(claims.get(y.sessionId()))) {
            Session x = latest.get(id);
            if (x == null || x == y) {
              continue;
            }
            changed = true;
            if (compareRank(y.isFinal(), y.version(), x.isFinal(), x.version()) > 0) {
              latest.remove(id);
              claims.get(y.sessionId()).addAll(claims.get(id));
            } else {
              latest.remove(y.sessionId());
              plan.stale++;
              break;
            }
          }
        }
      }
      if (latest.isEmpty()) {
        return plan;
      }
      plan.filter = related(latest.values(), claims);
      Map<String, Record> byId = new HashMap<>();
      Map<String, List<Record>> byUser = new HashMap<>();
      if (base != null) {
        try (CloseableIterable<Record> current =
            IcebergGenerics.read(table).useSnapshot(base.snapshotId()).where(plan.filter).build()) {
          for (Record r : current) {
            Record copy = r.copy();
            byId.put((String) copy.getField("session_id"), copy);
            byUser
                .computeIfAbsent((String) copy.getField("user_id"), u -> new ArrayList<>())
                .add(copy);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      for (Session x : latest.values()) {
        Set<String> superseded = claims.get(x.sessionId());
        if (isStale(x, superseded, byId, byUser.getOrDefault(x.userId(), List.of()))) {
          plan.stale++;
          continue;
        }
        Record own = byId.get(x.sessionId());
        if (own != null && sameContent(own, toRecord(x))) {
          plan.unchanged++;
        } else {
          plan.inserts.put(x.sessionId(), x);
          plan.deletes.add(x.sessionId());
        }
        for (String id : superseded) {
          if (plan.inserts.containsKey(x.sessionId()) || byId.containsKey(id)) {
            plan.deletes.add(id);
          }
        }
      }
      return plan;
    }

    /**
     * The rows that can bear on the batch: its users' rows that overlap the batch's time span (a
     * row of the same session, of a superseded one, or one that overlaps in time). Partitions after
     * the span and files whose rows all end before it are pruned by Iceberg.
     */
    private static Expression related(
        Collection<Session> candidates, Map<String, Set<String>> claims) {
      Set<String> users = new TreeSet<>();
      long from = Long.MAX_VALUE;
      long to = Long.MIN_VALUE;
      for (Session x : candidates) {
        users.add(x.userId());
        from = Math.min(from, x.startTime().getMillis());
        to = Math.max(to, x.endTime().getMillis());
        for (String id : claims.get(x.sessionId())) {
          long start = Session.startOf(id).getMillis();
          from = Math.min(from, start);
          to = Math.max(to, start);
        }
      }
      return Expressions.and(
          Expressions.in("user_id", users),
          Expressions.and(
              Expressions.lessThanOrEqual("start_time", to * 1000),
              Expressions.greaterThanOrEqual("end_time", from * 1000)));
    }

    /**
     * Whether a current row ranks above {@code x}: its own, a superseded one, or another row of the
     * user that overlaps it in time (a later row that superseded it).
     */
    private static boolean isStale(
        Session x, Set<String> superseded, Map<String, Record> byId, List<Record> ofUser) {
      List<Record> related = new ArrayList<>();
      Record own = byId.get(x.sessionId());
      if (own != null) {
        related.add(own);
      }
      for (String id : superseded) {
        Record r = byId.get(id);
        if (r != null) {
          related.add(r);
        }
      }
      long start = x.startTime().getMillis();
      long end = x.endTime().getMillis();
      for (Record r : ofUser) {
        if (r != own
            && millis(r.getField("start_time")) <= end
            && millis(r.getField("end_time")) >= start) {
          related.add(r);
        }
      }
      for (Record r : related) {
        if (compareRank(
                (Boolean) r.getField("is_final"),
                (Integer) r.getField("version"),
                x.isFinal(),
                x.version())
            > 0) {
          return true;
        }
      }
      return false;
    }

    /** Writes the equality deletes and the rows, one file each per partition. */
    void write(
        Table table, String commitId, List<DataFile> dataFiles, List<DeleteFile> deleteFiles) {
      // Grouped by the partition of each session's own start (derivable from the id).
      Map<String, PartitionKey> keys = new TreeMap<>();
      Map<String, List<Record>> insertsByPartition = new HashMap<>();
      Map<String, List<String>> deletesByPartition = new HashMap<>();
      InternalRecordWrapper wrapper = new InternalRecordWrapper(SCHEMA.asStruct());
      for (String id : deletes) {
        Record template = GenericRecord.create(SCHEMA);
        template.setField("start_time", time(Session.startOf(id)));
        PartitionKey key = new PartitionKey(SPEC, SCHEMA);
        key.partition(wrapper.wrap(template));
        String path = SPEC.partitionToPath(key);
        keys.putIfAbsent(path, key);
        deletesByPartition.computeIfAbsent(path, p -> new ArrayList<>()).add(id);
        Session row = inserts.get(id);
        if (row != null) {
          insertsByPartition.computeIfAbsent(path, p -> new ArrayList<>()).add(toRecord(row));
        }
      }
      String prefix = commitId.substring(0, 16) + "-" + UUID.randomUUID();
      try {
        for (Map.Entry<String, PartitionKey> partition : keys.entrySet()) {
          String path = partition.getKey();
          PartitionKey key = partition.getValue();
          EqualityDeleteWriter<Record> deleteWriter =
              Parquet.writeDeletes(
                      IcebergFiles.newFile(table, SPEC, key, prefix + "-deletes.parquet"))
                  .forTable(table)
                  .withPartition(key)
                  .rowSchema(ID_SCHEMA)
                  .createWriterFunc(GenericParquetWriter::buildWriter)
                  .overwrite()
                  .equalityFieldIds(SCHEMA.findField("session_id").fieldId())
                  .buildEqualityWriter();
          try (EqualityDeleteWriter<Record> w = deleteWriter) {
            for (String id : deletesByPartition.get(path)) {
              Record r = GenericRecord.create(ID_SCHEMA);
              r.setField("session_id", id);
              w.write(r);
            }
          }
          deleteFiles.add(deleteWriter.toDeleteFile());
          List<Record> rowsHere = insertsByPartition.get(path);
          if (rowsHere != null) {
            dataFiles.add(
                IcebergFiles.writeData(
                    table, SCHEMA, SPEC, key, prefix + "-data.parquet", rowsHere));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** Whether two rows are equal in every column but {@code emitted_at}. */
  static boolean sameContent(Record a, Record b) {
    for (Types.NestedField f : SCHEMA.columns()) {
      if (!f.name().equals("emitted_at")
          && !java.util.Objects.equals(a.getField(f.name()), b.getField(f.name()))) {
        return false;
      }
    }
    return true;
  }

  private static long millis(Object time) {
    return ((OffsetDateTime) time).toInstant().toEpochMilli();
  }

  public static Record toRecord(Session s) {
    Record r = GenericRecord.create(SCHEMA);
    r.setField("session_id", s.sessionId());
    r.setField("user_id", s.userId());
    r.setField("client_session_id", s.clientSessionId());
    r.setField("start_time", time(s.startTime()));
    r.setField("end_time", time(s.endTime()));
    r.setField("duration_seconds", s.durationSeconds());
    r.setField("event_count", s.eventCount());
    r.setField("page_view_count", s.pageViewCount());
    r.setField("click_count", s.clickCount());
    r.setField("purchase_count", s.purchaseCount());
    r.setField("pages_visited", new ArrayList<>(s.pagesVisited()));
    r.setField("entry_page", s.entryPage());
    r.setField("exit_page", s.exitPage());
    r.setField("referrer", s.referrer());
    r.setField("device_type", s.deviceType());
    r.setField("country", s.country());
    r.setField("conversion", s.conversion());
    r.setField("revenue", s.revenue().setScale(2));
    Map<String, BigDecimal> byCurrency = new TreeMap<>();
    s.revenueByCurrency().forEach((k, v) -> byCurrency.put(k, v.setScale(2)));
    r.setField("revenue_by_currency", byCurrency);
    r.setField("version", s.version());
    r.setField("is_final", s.isFinal());
    r.setField("emitted_at", time(s.emittedAt()));
    return r;
  }

  private static OffsetDateTime time(Instant instant) {
    return java.time.Instant.ofEpochMilli(instant.getMillis()).atOffset(ZoneOffset.UTC);
  }
}
