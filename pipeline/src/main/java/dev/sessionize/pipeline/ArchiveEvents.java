package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.StableEncodingSchemas;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.ClickEvent;
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

/**
 * Events to the {@link EventsTable} archive with Beam's IcebergIO ({@code
 * beam-sdks-java-io-iceberg}): each event becomes a Beam {@link Row} of {@link #BEAM_SCHEMA} (the
 * table's columns, {@code event_time} as DATETIME for Iceberg's {@code timestamptz}) and IcebergIO
 * appends them, committing every {@code commitInterval} for an unbounded input. The table is
 * created first with {@link EventsTable#openOrCreate} (our schema, partitioned by {@code
 * day(event_time)}), so IcebergIO appends to it rather than create an unpartitioned one.
 */
public class ArchiveEvents extends PTransform<PCollection<ClickEvent>, PDone> {
  /** The Beam schema of the rows IcebergIO writes: {@link EventsTable#SCHEMA}, field by field. */
  static final Schema BEAM_SCHEMA =
      Schema.builder()
          .addDateTimeField("event_time")
          .addStringField("user_id")
          .addNullableStringField("event_id")
          .addStringField("event_type")
          .addNullableStringField("client_session_id")
          .addNullableStringField("page_url")
          .addNullableStringField("referrer")
          .addNullableStringField("device_type")
          .addNullableStringField("country")
          .addNullableStringField("amount")
          .addStringField("currency")
          .addNullableStringField("source_topic")
          .addInt32Field("source_partition")
          .addInt64Field("source_offset")
          .build();

  private final IcebergCatalog catalog;
  private final String tableName;
  private final Duration commitInterval;

  ArchiveEvents(IcebergCatalog catalog, String tableName, Duration commitInterval) {
    this.catalog = catalog;
    this.tableName = tableName;
    this.commitInterval = commitInterval;
  }

  @Override
  public PDone expand(PCollection<ClickEvent> events) {
    EventsTable.openOrCreate(catalog, tableName); // fail at launch, and partitioned by day
    // IcebergIO keeps written files in state between commits: encode them alike in every JVM, or
    // a restored job cannot read them.
    StableEncodingSchemas.registerIcebergIo(events.getPipeline());
    IcebergIO.WriteRows write =
        IcebergIO.writeRows(
                IcebergCatalogConfig.builder()
                    .setCatalogName("sessionize")
                    .setCatalogProperties(catalog.resolvedProperties())
                    .build())
            .to(TableIdentifier.parse(tableName));
    if (!events.isBounded().equals(PCollection.IsBounded.BOUNDED)) {
      write = write.withTriggeringFrequency(commitInterval);
    }
    events
        .apply("ToRows", ParDo.of(new ToRowFn()))
        .setRowSchema(BEAM_SCHEMA)
        .apply("AppendEvents", write);
    return PDone.in(events.getPipeline());
  }

  /** The event as a row of {@link #BEAM_SCHEMA}. */
  static Row toRow(ClickEvent e) {
    return Row.withSchema(BEAM_SCHEMA)
        .withFieldValue("event_time", e.timestamp())
        .withFieldValue("user_id", e.userId())
        .withFieldValue("event_id", e.eventId())
        .withFieldValue("event_type", e.eventType())
        .withFieldValue("client_session_id", e.clientSessionId())
        .withFieldValue("page_url", e.pageUrl())
        .withFieldValue("referrer", e.referrer())
        .withFieldValue("device_type", e.deviceType())
        .withFieldValue("country", e.country())
        .withFieldValue("amount", e.amount() == null ? null : e.amount().toPlainString())
        .withFieldValue("currency", e.currency())
        .withFieldValue("source_topic", e.sourceTopic())
        .withFieldValue("source_partition", e.sourcePartition())
        .withFieldValue("source_offset", e.sourceOffset())
        .build();
  }

  static class ToRowFn extends DoFn<ClickEvent, Row> {
    private final Counter archived = SessionizeMetrics.counter("events_archived");

    @ProcessElement
    public void process(@Element ClickEvent e, OutputReceiver<Row> out) {
      out.output(toRow(e));
      archived.inc();
    }
  }
}
