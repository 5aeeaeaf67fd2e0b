package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergFiles;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.model.ClickEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;
import org.joda.time.Instant;

/**
 * The Iceberg {@code events} table, the raw events archive of the batch layer: one row per event
 * that passed the lateness gate (duplicates included, as parsed), with its Kafka position,
 * partitioned by {@code day(event_time)}. The job appends with Beam's IcebergIO ({@link
 * ArchiveEvents}, into the table made by {@link #openOrCreate}), the re-injection with {@link
 * #append}; the backfill reads a time range with {@link #scan}.
 */
public final class EventsTable {
  public static final Schema SCHEMA =
      new Schema(
          Types.NestedField.required(1, "event_time", Types.TimestampType.withZone()),
          Types.NestedField.required(2, "user_id", Types.StringType.get()),
          Types.NestedField.optional(3, "event_id", Types.StringType.get()),
          Types.NestedField.required(4, "event_type", Types.StringType.get()),
          Types.NestedField.optional(5, "client_session_id", Types.StringType.get()),
          Types.NestedField.optional(6, "page_url", Types.StringType.get()),
          Types.NestedField.optional(7, "referrer", Types.StringType.get()),
          Types.NestedField.optional(8, "device_type", Types.StringType.get()),
          Types.NestedField.optional(9, "country", Types.StringType.get()),
          // The amount exactly as parsed (any scale), as a plain decimal string.
          Types.NestedField.optional(10, "amount", Types.StringType.get()),
          Types.NestedField.required(11, "currency", Types.StringType.get()),
          Types.NestedField.optional(12, "source_topic", Types.StringType.get()),
          Types.NestedField.required(13, "source_partition", Types.IntegerType.get()),
          Types.NestedField.required(14, "source_offset", Types.LongType.get()));

  public static final PartitionSpec SPEC =
      PartitionSpec.builderFor(SCHEMA).day("event_time").build();

  private EventsTable() {}

  /** The table in {@code catalog}, created (format v2, with its namespace) if missing. */
  public static Table openOrCreate(IcebergCatalog catalog, String tableName) {
    return IcebergFiles.openOrCreate(catalog, tableName, SCHEMA, SPEC);
  }

  /** The event as an Iceberg record of {@link #SCHEMA}. */
  public static Record toRecord(ClickEvent e) {
    Record r = GenericRecord.create(SCHEMA);
    r.setField("event_time", time(e.timestamp()));
    r.setField("user_id", e.userId());
    r.setField("event_id", e.eventId());
    r.setField("event_type", e.eventType());
    r.setField("client_session_id", e.clientSessionId());
    r.setField("page_url", e.pageUrl());
    r.setField("referrer", e.referrer());
    r.setField("device_type", e.deviceType());
    r.setField("country", e.country());
    r.setField("amount", e.amount() == null ? null : e.amount().toPlainString());
    r.setField("currency", e.currency());
    r.setField("source_topic", e.sourceTopic());
    r.setField("source_partition", e.sourcePartition());
    r.setField("source_offset", e.sourceOffset());
    return r;
  }

  /** The archived event back, as the parser made it ({@code opens_session} unset). */
  public static ClickEvent fromRecord(Record r) {
    String amount = (String) r.getField("amount");
    return ClickEvent.builder()
        .setTimestamp(instant(r.getField("event_time")))
        .setUserId((String) r.getField("user_id"))
        .setEventId((String) r.getField("event_id"))
        .setEventType((String) r.getField("event_type"))
        .setClientSessionId((String) r.getField("client_session_id"))
        .setPageUrl((String) r.getField("page_url"))
        .setReferrer((String) r.getField("referrer"))
        .setDeviceType((String) r.getField("device_type"))
        .setCountry((String) r.getField("country"))
        .setAmount(amount == null ? null : new BigDecimal(amount))
        .setCurrency((String) r.getField("currency"))
        .setOpensSession(false)
        .setSourceTopic((String) r.getField("source_topic"))
        .setSourcePartition((Integer) r.getField("source_partition"))
        .setSourceOffset((Long) r.getField("source_offset"))
        .build();
  }

  /** The archived events with {@code from <= event_time < to} (partitions outside are skipped). */
  public static List<ClickEvent> read(Table table, Instant from, Instant to) {
    List<ClickEvent> events = new ArrayList<>();
    scan(table, from, to, events::add);
    return events;
  }

  /** Streams the archived events with {@code from <= event_time < to} to {@code sink}. */
  public static void scan(Table table, Instant from, Instant to, Consumer<ClickEvent> sink) {
    table.refresh();
    if (table.currentSnapshot() == null) {
      return;
    }
    try (CloseableIterable<Record> records =
        IcebergGenerics.read(table)
            .where(
                Expressions.and(
                    Expressions.greaterThanOrEqual("event_time", from.getMillis() * 1000),
                    Expressions.lessThan("event_time", to.getMillis() * 1000)))
            .build()) {
      for (Record r : records) {
        ClickEvent e = fromRecord(r);
        // where() prunes files; the residual rows are checked here.
        if (!e.timestamp().isBefore(from) && e.timestamp().isBefore(to)) {
          sink.accept(e);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The Kafka position of an event: {@code topic/partition/offset}. */
  public static String position(ClickEvent e) {
    return e.sourceTopic() + "/" + e.sourcePartition() + "/" + e.sourceOffset();
  }

  /**
   * Appends {@code events} in one commit (one Parquet file per day); the ones whose {@link
   * #position} is in {@code skip} are left out. Returns how many were appended.
   */
  public static int append(Table table, Collection<ClickEvent> events, Set<String> skip) {
    return append(table, events, skip, null);
  }

  /**
   * As {@link #append(Table, Collection, Set)}, but skipped entirely (returns 0) when a snapshot
   * with {@code commitId} exists: a retried batch is never appended twice.
   */
  public static int append(
      Table table, Collection<ClickEvent> events, Set<String> skip, String commitId) {
    if (commitId != null) {
      table.refresh();
      for (org.apache.iceberg.Snapshot snapshot : table.snapshots()) {
        if (commitId.equals(snapshot.summary().get(SessionsTable.COMMIT_ID))) {
          return 0;
        }
      }
    }
    Map<String, PartitionKey> keys = new HashMap<>();
    Map<String, List<Record>> byPartition = new HashMap<>();
    InternalRecordWrapper wrapper = new InternalRecordWrapper(SCHEMA.asStruct());
    int appended = 0;
    for (ClickEvent e : events) {
      if (skip.contains(position(e))) {
        continue;
      }
      Record r = toRecord(e);
      PartitionKey key = new PartitionKey(SPEC, SCHEMA);
      key.partition(wrapper.wrap(r));
      String path = SPEC.partitionToPath(key);
      keys.putIfAbsent(path, key);
      byPartition.computeIfAbsent(path, p -> new ArrayList<>()).add(r);
      appended++;
    }
    if (appended == 0) {
      return 0;
    }
    AppendFiles append = table.newAppend();
    if (commitId != null) {
      append.set(SessionsTable.COMMIT_ID, commitId);
    }
    String prefix = "events-" + UUID.randomUUID();
    try {
      for (Map.Entry<String, List<Record>> partition : byPartition.entrySet()) {
        PartitionKey key = keys.get(partition.getKey());
        append.appendFile(
            IcebergFiles.writeData(
                table, SCHEMA, SPEC, key, prefix + ".parquet", partition.getValue()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    append.commit();
    return appended;
  }

  static OffsetDateTime time(Instant instant) {
    return java.time.Instant.ofEpochMilli(instant.getMillis()).atOffset(ZoneOffset.UTC);
  }

  static Instant instant(Object time) {
    return new Instant(((OffsetDateTime) time).toInstant().toEpochMilli());
  }
}
