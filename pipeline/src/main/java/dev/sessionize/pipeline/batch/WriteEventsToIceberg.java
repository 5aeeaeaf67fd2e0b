package dev.sessionize.pipeline.batch;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.StableEncodingSchemas;
import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import org.apache.beam.sdk.io.iceberg.IcebergCatalogConfig;
import org.apache.beam.sdk.io.iceberg.IcebergIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.Row;
import org.apache.iceberg.catalog.TableIdentifier;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Every record read, to the {@link EventsTable} raw archive with Beam's IcebergIO ({@code
 * beam-sdks-java-io-iceberg}): each record becomes a Beam {@link Row} of {@link #BEAM_SCHEMA} (its
 * exact bytes, source position, Kafka timestamp, and the processing time now as {@code
 * ingested_at}), and IcebergIO appends them, committing every {@code commitInterval} for an
 * unbounded input. The table is created first with {@link EventsTable#openOrCreate} (our schema,
 * partitioned by {@code day(ingested_at)}), so IcebergIO appends to it rather than create an
 * unpartitioned one.
 *
 * <p>Applied to the source's records before parsing, so records that do not parse are archived too,
 * and the backfill replays exactly what the job read.
 */
public class WriteEventsToIceberg extends PTransform<PCollection<RawRecord>, PDone> {
  /** The Beam schema of the rows IcebergIO writes: {@link EventsTable#SCHEMA}, field by field. */
  static final Schema BEAM_SCHEMA =
      Schema.builder()
          .addByteArrayField("record")
          .addNullableStringField("source_topic")
          .addInt32Field("source_partition")
          .addInt64Field("source_offset")
          .addNullableField("kafka_timestamp", Schema.FieldType.DATETIME)
          .addDateTimeField("ingested_at")
          .build();

  private final IcebergCatalog catalog;
  private final String tableName;
  private final Duration commitInterval;
  private final Clock clock;

  public WriteEventsToIceberg(
      IcebergCatalog catalog, String tableName, Duration commitInterval, Clock clock) {
    this.catalog = catalog;
    this.tableName = tableName;
    this.commitInterval = commitInterval;
    this.clock = clock;
  }

  @Override
  public PDone expand(PCollection<RawRecord> records) {
    EventsTable.openOrCreate(catalog, tableName); // fail at launch, and partitioned by day
    // IcebergIO keeps written files in state between commits: encode them alike in every JVM, or
    // a restored job cannot read them.
    StableEncodingSchemas.registerIcebergIo(records.getPipeline());
    IcebergIO.WriteRows write =
        IcebergIO.writeRows(
                IcebergCatalogConfig.builder()
                    .setCatalogName("sessionize")
                    .setCatalogProperties(catalog.resolvedProperties())
                    .build())
            .to(TableIdentifier.parse(tableName));
    if (!records.isBounded().equals(PCollection.IsBounded.BOUNDED)) {
      write = write.withTriggeringFrequency(commitInterval);
    }
    records
        .apply("StampIngestionTime", ParDo.of(new ToRowFn(clock)))
        .setRowSchema(BEAM_SCHEMA)
        .apply("AppendRecords", write);
    return PDone.in(records.getPipeline());
  }

  /** The record as a row of {@link #BEAM_SCHEMA}, read at {@code ingestedAt}. */
  static Row toRow(RawRecord r, Instant ingestedAt) {
    return Row.withSchema(BEAM_SCHEMA)
        .withFieldValue("record", r.payload())
        .withFieldValue("source_topic", r.sourceTopic())
        .withFieldValue("source_partition", r.sourcePartition())
        .withFieldValue("source_offset", r.sourceOffset())
        .withFieldValue("kafka_timestamp", r.kafkaTimestamp())
        .withFieldValue("ingested_at", ingestedAt)
        .build();
  }

  static class ToRowFn extends DoFn<RawRecord, Row> {
    private final Clock clock;
    private final Counter archived = SessionizeMetrics.counter("records_archived");

    ToRowFn(Clock clock) {
      this.clock = clock;
    }

    @ProcessElement
    public void process(@Element RawRecord r, OutputReceiver<Row> out) {
      out.output(toRow(r, clock.now()));
      archived.inc();
    }
  }
}
