package dev.sessionize.pipeline;

import dev.sessionize.transforms.model.Session;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.FluentBackoff;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.deletes.EqualityDeleteWriter;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Types;
import org.joda.time.Instant;

/**
 * The Iceberg {@code sessions} table (format v2, partitioned by {@code day(start_time)}) and its
 * upsert commit: one {@link RowDelta} per batch that deletes, by equality on {@code session_id} and
 * within the partition of each session's own start, every row the batch replaces (the sessions it
 * re-emits and the ones it supersedes) and inserts the batch's latest rows. Rows added in a commit
 * are not affected by its own equality deletes (same sequence number), so readers see exactly one
 * row per session after every commit. A commit carries its id in the snapshot summary and is
 * skipped if a snapshot with that id exists: a retried batch is never applied twice.
 */
public final class SessionsTable {
  public static final String COMMIT_ID = "sessionize.commit-id";

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

  private SessionsTable() {}

  /** The table in a Hadoop catalog at {@code warehouse}, created (format v2) if missing. */
  public static Table openOrCreate(String warehouse, String tableName) {
    return openOrCreate(IcebergCatalog.hadoop(warehouse), tableName);
  }

  /** The table in {@code catalog}, created (format v2, with its namespace) if missing. */
  public static Table openOrCreate(IcebergCatalog catalog, String tableName) {
    return IcebergFiles.openOrCreate(catalog, tableName, SCHEMA, SPEC);
  }

  /** A deterministic id for a batch: the same rows give the same id. */
  public static String commitId(Collection<Session> rows) {
    List<String> keys = new ArrayList<>();
    for (Session s : rows) {
      keys.add(s.sessionId() + "/" + s.version() + "/" + s.isFinal() + "/" + s.eventCount());
    }
    return IcebergFiles.commitId("", null, keys);
  }

  /**
   * Applies a batch of session emissions; returns false when a snapshot with {@code commitId}
   * already exists (nothing is written then).
   */
  public static boolean commit(Table table, Collection<Session> rows, String commitId) {
    table.refresh();
    if (committed(table, commitId)) {
      return false;
    }
    Map<String, Session> latest = new HashMap<>();
    Set<String> superseded = new HashSet<>();
    for (Session s : rows) {
      latest.merge(s.sessionId(), s, (a, b) -> a.version() >= b.version() ? a : b);
      superseded.addAll(s.supersededSessionIds());
    }
    latest.keySet().removeAll(superseded);
    Set<String> deletes = new HashSet<>(superseded);
    deletes.addAll(latest.keySet());

    // Group by the partition of each session's own start (derivable from the id).
    Map<String, PartitionKey> keys = new TreeMap<>();
    Map<String, List<Record>> inserts = new HashMap<>();
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
      Session row = latest.get(id);
      if (row != null) {
        inserts.computeIfAbsent(path, p -> new ArrayList<>()).add(toRecord(row));
      }
    }

    List<DataFile> dataFiles = new ArrayList<>();
    List<DeleteFile> deleteFiles = new ArrayList<>();
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
        List<Record> rowsHere = inserts.get(path);
        if (rowsHere != null) {
          dataFiles.add(
              IcebergFiles.writeData(table, SCHEMA, SPEC, key, prefix + "-data.parquet", rowsHere));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Iceberg retries a commit that lost a race with another writer (refresh, re-apply, up to
    // commit.retry.num-retries times); when another writer keeps winning beyond that, wait and
    // try again with the same files (up to 30 times), unless the commit got in after all.
    BackOff backoff = CONFLICT_BACKOFF.backoff();
    while (true) {
      RowDelta delta = table.newRowDelta();
      deleteFiles.forEach(delta::addDeletes);
      dataFiles.forEach(delta::addRows);
      try {
        delta.set(COMMIT_ID, commitId).commit();
        return true;
      } catch (CommitFailedException e) {
        long wait;
        try {
          wait = backoff.nextBackOffMillis();
          if (wait == BackOff.STOP) {
            throw e;
          }
          Thread.sleep(wait);
        } catch (IOException | InterruptedException stop) {
          throw e;
        }
        table.refresh();
        if (committed(table, commitId)) {
          return false;
        }
      }
    }
  }

  private static final FluentBackoff CONFLICT_BACKOFF =
      FluentBackoff.DEFAULT
          .withInitialBackoff(org.joda.time.Duration.millis(200))
          .withMaxBackoff(org.joda.time.Duration.standardSeconds(10))
          .withMaxRetries(30);

  /** Whether a snapshot of the table carries {@code commitId}. */
  static boolean committed(Table table, String commitId) {
    for (Snapshot snapshot : table.snapshots()) {
      if (commitId.equals(snapshot.summary().get(COMMIT_ID))) {
        return true;
      }
    }
    return false;
  }

  static Record toRecord(Session s) {
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
