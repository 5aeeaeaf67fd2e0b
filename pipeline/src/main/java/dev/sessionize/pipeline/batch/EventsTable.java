package dev.sessionize.pipeline.batch;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergFiles;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableScan;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Conversions;
import org.apache.iceberg.types.Types;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The Iceberg {@code events} table, the batch layer's raw master dataset: <b>every record the job
 * read</b> (after the Kafka source's re-read filter, before parsing), as its exact bytes with its
 * source topic, partition and offset, the Kafka record's timestamp and the time the job read it
 * ({@code ingested_at}), partitioned by {@code day(ingested_at)}: a record that does not parse has
 * no event time, the day it was read it always has. Records that fail to parse are in it too, so a
 * corrected parser can recompute what an older one rejected.
 *
 * <p>The job appends with Beam's IcebergIO ({@link WriteEventsToIceberg}, into the table made by
 * {@link #openOrCreate}); the backfill lists the data files of the read days at launch ({@link
 * #dataFiles}) and reads each one on a worker ({@link #readFile}); tests append with {@link
 * #append}.
 */
public final class EventsTable {
  public static final Schema SCHEMA =
      new Schema(
          // The record's value exactly as read (never re-serialized, never truncated).
          Types.NestedField.required(1, "record", Types.BinaryType.get()),
          Types.NestedField.optional(2, "source_topic", Types.StringType.get()),
          Types.NestedField.required(3, "source_partition", Types.IntegerType.get()),
          Types.NestedField.required(4, "source_offset", Types.LongType.get()),
          // Kafka's own timestamp of the record (CreateTime or LogAppendTime); null for files.
          Types.NestedField.optional(5, "kafka_timestamp", Types.TimestampType.withZone()),
          // Processing time when the job read the record.
          Types.NestedField.required(6, "ingested_at", Types.TimestampType.withZone()));

  public static final PartitionSpec SPEC =
      PartitionSpec.builderFor(SCHEMA).day("ingested_at").build();

  private EventsTable() {}

  /** One archived record: the record as the source delivered it, and when the job read it. */
  public record Archived(RawRecord record, Instant ingestedAt) {
    /** The record's source position, {@code topic/partition/offset}: its identity. */
    public String position() {
      return EventsTable.position(record);
    }
  }

  /** Hand-written coder of {@link Archived}: the raw record's coder and the ingestion time. */
  public static final class ArchivedCoder extends CustomCoder<Archived> {
    private static final ArchivedCoder INSTANCE = new ArchivedCoder();

    public static ArchivedCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Archived value, OutputStream out) throws IOException {
      RawRecord.RawRecordCoder.of().encode(value.record(), out);
      Wire.writeInstant(value.ingestedAt(), out);
    }

    @Override
    public Archived decode(InputStream in) throws IOException {
      return new Archived(RawRecord.RawRecordCoder.of().decode(in), Wire.readInstant(in));
    }

    @Override
    public void verifyDeterministic() {}
  }

  /**
   * The table in {@code catalog}, created (format v2, with its namespace) if missing. A table of
   * the former layout (parsed events by {@code day(event_time)}) is refused with one line naming
   * the option: the raw archive needs a table of its own.
   */
  public static Table openOrCreate(IcebergCatalog catalog, String tableName) {
    Table table = IcebergFiles.openOrCreate(catalog, tableName, SCHEMA, SPEC);
    if (table.schema().findField("record") == null
        || table.schema().findField("ingested_at") == null) {
      throw new InvalidOptionsException(
          List.of(
              "--eventsTable="
                  + tableName
                  + " holds the former events archive (parsed events by day(event_time)), not raw"
                  + " records: give the raw archive a table of its own"));
    }
    return table;
  }

  /** The Kafka position of a record: {@code topic/partition/offset}. */
  public static String position(RawRecord r) {
    return r.sourceTopic() + "/" + r.sourcePartition() + "/" + r.sourceOffset();
  }

  /** The archived record as an Iceberg record of {@link #SCHEMA}. */
  public static Record toRecord(Archived a) {
    RawRecord r = a.record();
    Record out = GenericRecord.create(SCHEMA);
    out.setField("record", ByteBuffer.wrap(r.payload()));
    out.setField("source_topic", r.sourceTopic());
    out.setField("source_partition", r.sourcePartition());
    out.setField("source_offset", r.sourceOffset());
    out.setField("kafka_timestamp", r.kafkaTimestamp() == null ? null : time(r.kafkaTimestamp()));
    out.setField("ingested_at", time(a.ingestedAt()));
    return out;
  }

  /** The archived record back from a row of the table. */
  public static Archived fromRecord(Record r) {
    ByteBuffer buffer = ((ByteBuffer) r.getField("record")).duplicate();
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    Object kafkaTime = r.getField("kafka_timestamp");
    return new Archived(
        RawRecord.of(
            bytes,
            (String) r.getField("source_topic"),
            (Integer) r.getField("source_partition"),
            (Long) r.getField("source_offset"),
            kafkaTime == null ? null : instant(kafkaTime)),
        instant(r.getField("ingested_at")));
  }

  /**
   * The data files holding the records read in {@code [from, to)} (whole days: the spec's
   * partitions), as of the current snapshot: the backfill's unit of work. Empty for an empty table.
   */
  public static List<String> dataFiles(Table table, Instant from, Instant to) {
    table.refresh();
    List<String> paths = new ArrayList<>();
    if (table.currentSnapshot() == null) {
      return paths;
    }
    try (CloseableIterable<FileScanTask> tasks = scanOf(table, from, to).planFiles()) {
      for (FileScanTask task : tasks) {
        paths.add(task.file().path().toString());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    paths.sort(null);
    return paths;
  }

  /** Every row of one data file (the archive is append-only: no delete files apply). */
  public static void readFile(Table table, String path, Consumer<Archived> sink) {
    try (CloseableIterable<Record> rows =
        Parquet.read(table.io().newInputFile(path))
            .project(SCHEMA)
            .createReaderFunc(fileSchema -> GenericParquetReaders.buildReader(SCHEMA, fileSchema))
            .build()) {
      for (Record r : rows) {
        sink.accept(fromRecord(r));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The source positions ({@link #position}) of the records read in {@code [from, to)}: only the
   * three position columns are read from the files.
   */
  public static java.util.Set<String> positions(Table table, Instant from, Instant to) {
    Schema columns = SCHEMA.select("source_topic", "source_partition", "source_offset");
    java.util.Set<String> out = new java.util.HashSet<>();
    for (String path : dataFiles(table, from, to)) {
      try (CloseableIterable<Record> rows =
          Parquet.read(table.io().newInputFile(path))
              .project(columns)
              .createReaderFunc(fs -> GenericParquetReaders.buildReader(columns, fs))
              .build()) {
        for (Record r : rows) {
          out.add(
              r.getField("source_topic")
                  + "/"
                  + r.getField("source_partition")
                  + "/"
                  + r.getField("source_offset"));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  /** The archived records read in {@code [from, to)}, in no particular order. */
  public static List<Archived> read(Table table, Instant from, Instant to) {
    List<Archived> out = new ArrayList<>();
    for (String path : dataFiles(table, from, to)) {
      readFile(
          table,
          path,
          a -> {
            if (!a.ingestedAt().isBefore(from) && a.ingestedAt().isBefore(to)) {
              out.add(a);
            }
          });
    }
    return out;
  }

  /**
   * The days (UTC) on which the archive holds records, from the table's metadata (no data file is
   * opened).
   */
  public static TreeSet<LocalDate> days(Table table) {
    table.refresh();
    TreeSet<LocalDate> days = new TreeSet<>();
    if (table.currentSnapshot() == null) {
      return days;
    }
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        Integer day = task.file().partition().get(0, Integer.class);
        if (day != null) {
          days.add(LocalDate.ofEpochDay(day));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return days;
  }

  /**
   * The source partition numbers that may have records read at or after {@code from}, from the data
   * files' column bounds (a file holding several partitions counts for every number between its
   * lowest and highest; topics are not told apart: their bounds are truncated).
   */
  public static TreeSet<Integer> partitionsReadFrom(Table table, Instant from) {
    table.refresh();
    TreeSet<Integer> partitions = new TreeSet<>();
    if (table.currentSnapshot() == null) {
      return partitions;
    }
    int field = SCHEMA.findField("source_partition").fieldId();
    try (CloseableIterable<FileScanTask> tasks =
        table
            .newScan()
            .filter(Expressions.greaterThanOrEqual("ingested_at", micros(from)))
            .includeColumnStats()
            .planFiles()) {
      for (FileScanTask task : tasks) {
        DataFile file = task.file();
        Integer low = bound(file.lowerBounds(), field);
        Integer high = bound(file.upperBounds(), field);
        if (low == null || high == null) {
          throw new IllegalStateException(
              "archive file " + file.path() + " has no bounds of source_partition");
        }
        for (int p = low; p <= high; p++) {
          partitions.add(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return partitions;
  }

  private static @Nullable Integer bound(@Nullable Map<Integer, ByteBuffer> bounds, int field) {
    if (bounds == null || bounds.get(field) == null) {
      return null;
    }
    return Conversions.fromByteBuffer(Types.IntegerType.get(), bounds.get(field));
  }

  private static TableScan scanOf(Table table, Instant from, Instant to) {
    return table
        .newScan()
        .filter(
            Expressions.and(
                Expressions.greaterThanOrEqual("ingested_at", micros(from)),
                Expressions.lessThan("ingested_at", micros(to))));
  }

  /**
   * Appends {@code records} in one commit (one Parquet file per day); skipped (returns 0) when a
   * snapshot with {@code commitId} exists, so a retried batch is never appended twice. A null
   * {@code commitId} always appends: the same records appended twice are in the table twice, as
   * after a replay (the backfill keeps one per source position).
   */
  public static int append(Table table, Collection<Archived> records, @Nullable String commitId) {
    if (commitId != null) {
      table.refresh();
      for (Snapshot snapshot : table.snapshots()) {
        if (commitId.equals(snapshot.summary().get(SessionsTable.COMMIT_ID))) {
          return 0;
        }
      }
    }
    if (records.isEmpty()) {
      return 0;
    }
    Map<String, PartitionKey> keys = new HashMap<>();
    Map<String, List<Record>> byPartition = new HashMap<>();
    InternalRecordWrapper wrapper = new InternalRecordWrapper(SCHEMA.asStruct());
    for (Archived a : records) {
      Record r = toRecord(a);
      PartitionKey key = new PartitionKey(SPEC, SCHEMA);
      key.partition(wrapper.wrap(r));
      String path = SPEC.partitionToPath(key);
      keys.putIfAbsent(path, key);
      byPartition.computeIfAbsent(path, p -> new ArrayList<>()).add(r);
    }
    AppendFiles append = table.newAppend();
    if (commitId != null) {
      append.set(SessionsTable.COMMIT_ID, commitId);
    }
    String prefix = "records-" + UUID.randomUUID();
    try {
      for (Map.Entry<String, List<Record>> partition : byPartition.entrySet()) {
        append.appendFile(
            IcebergFiles.writeData(
                table,
                SCHEMA,
                SPEC,
                keys.get(partition.getKey()),
                prefix + ".parquet",
                partition.getValue()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    append.commit();
    return records.size();
  }

  /** Midnight (UTC) of a day. */
  public static Instant midnight(LocalDate day) {
    return new Instant(day.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli());
  }

  /** The day (UTC) of an instant. */
  public static LocalDate day(Instant t) {
    return java.time.Instant.ofEpochMilli(t.getMillis()).atOffset(ZoneOffset.UTC).toLocalDate();
  }

  static Instant endOf(LocalDate day) {
    return midnight(day).plus(Duration.standardDays(1));
  }

  private static long micros(Instant t) {
    return t.getMillis() * 1000;
  }

  static OffsetDateTime time(Instant instant) {
    return java.time.Instant.ofEpochMilli(instant.getMillis()).atOffset(ZoneOffset.UTC);
  }

  static Instant instant(Object time) {
    return new Instant(((OffsetDateTime) time).toInstant().toEpochMilli());
  }
}
