package dev.sessionize.pipeline;

import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.ClickEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.BagState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.iceberg.Table;
import org.joda.time.Duration;

/**
 * Events to the {@link EventsTable} archive with the Iceberg Java API, as {@link
 * WriteSessionsToIceberg} does for sessions: buffered in state by one writer and appended in one
 * commit (one Parquet file per day) every {@code commitInterval} of processing time and when the
 * input ends. The commit id is derived from the buffered events' Kafka positions, so a retried
 * firing is skipped. (Beam's IcebergIO was tried first; see the README for why it is not used.)
 */
public class ArchiveEvents extends PTransform<PCollection<ClickEvent>, PDone> {
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
    EventsTable.openOrCreate(catalog, tableName); // fail at launch, not on a worker
    events
        .apply("InGlobalWindow", Window.into(new GlobalWindows()))
        .apply(
            "OneWriter",
            WithKeys.<Integer, ClickEvent>of(0).withKeyType(TypeDescriptors.integers()))
        .setCoder(KvCoder.of(VarIntCoder.of(), ClickEvent.ClickEventCoder.of()))
        .apply("AppendEvents", ParDo.of(new AppendFn(catalog, tableName, commitInterval)));
    return PDone.in(events.getPipeline());
  }

  static class AppendFn extends DoFn<KV<Integer, ClickEvent>, Void> {
    private final IcebergCatalog catalog;
    private final String tableName;
    private final Duration commitInterval;
    private final Counter archived = SessionizeMetrics.counter("events_archived");
    private transient Table table;

    @StateId("buffer")
    private final StateSpec<BagState<ClickEvent>> bufferSpec =
        StateSpecs.bag(ClickEvent.ClickEventCoder.of());

    @TimerId("commit")
    private final TimerSpec commitSpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

    AppendFn(IcebergCatalog catalog, String tableName, Duration commitInterval) {
      this.catalog = catalog;
      this.tableName = tableName;
      this.commitInterval = commitInterval;
    }

    @Setup
    public void setup() {
      table = EventsTable.openOrCreate(catalog, tableName);
    }

    @ProcessElement
    public void process(
        @Element KV<Integer, ClickEvent> element,
        @StateId("buffer") BagState<ClickEvent> buffer,
        @TimerId("commit") Timer commit) {
      if (buffer.isEmpty().read()) {
        commit.offset(commitInterval).setRelative();
      }
      buffer.add(element.getValue());
    }

    @OnTimer("commit")
    public void onCommit(@StateId("buffer") BagState<ClickEvent> buffer) {
      flush(buffer);
    }

    @OnWindowExpiration
    public void onExpiration(@StateId("buffer") BagState<ClickEvent> buffer) {
      flush(buffer);
    }

    private void flush(BagState<ClickEvent> buffer) {
      List<ClickEvent> batch = new ArrayList<>();
      buffer.read().forEach(batch::add);
      if (!batch.isEmpty()) {
        archived.inc(EventsTable.append(table, batch, Set.of(), commitId(batch)));
      }
      buffer.clear();
    }

    private static String commitId(List<ClickEvent> batch) {
      List<String> keys = new ArrayList<>();
      for (ClickEvent e : batch) {
        keys.add(EventsTable.position(e) + "/" + e.userId() + "/" + e.eventId());
      }
      return IcebergFiles.commitId("events-", null, keys);
    }
  }
}
