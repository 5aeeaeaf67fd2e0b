package dev.sessionize.pipeline;

import dev.sessionize.transforms.model.ClickEvent;
import org.apache.beam.sdk.io.iceberg.IcebergIO;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.iceberg.catalog.TableIdentifier;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * Events to the {@link EventsTable} archive with Beam's {@code IcebergIO} (the append path it is
 * made for): rows of {@link EventsTable#BEAM_SCHEMA}, written by parallel writers and committed
 * every {@code commitInterval} in a streaming job (once at the end in a bounded one). The table is
 * created at launch, so it has its {@code day(event_time)} partitioning (IcebergIO would create it
 * unpartitioned).
 */
public class ArchiveEvents extends PTransform<PCollection<ClickEvent>, PDone> {
  private final IcebergCatalog catalog;
  private final String tableName;
  private final @Nullable Duration commitInterval;

  ArchiveEvents(IcebergCatalog catalog, String tableName, @Nullable Duration commitInterval) {
    this.catalog = catalog;
    this.tableName = tableName;
    this.commitInterval = commitInterval;
  }

  @Override
  public PDone expand(PCollection<ClickEvent> events) {
    EventsTable.openOrCreate(catalog, tableName);
    IcebergIO.WriteRows write =
        IcebergIO.writeRows(catalog.beamConfig()).to(TableIdentifier.parse(tableName));
    if (commitInterval != null) {
      write = write.withTriggeringFrequency(commitInterval);
    }
    events
        .apply("ToRows", MapElements.into(TypeDescriptor.of(Row.class)).via(EventsTable::toRow))
        .setRowSchema(EventsTable.BEAM_SCHEMA)
        .apply("AppendToEventsTable", write);
    return PDone.in(events.getPipeline());
  }
}
