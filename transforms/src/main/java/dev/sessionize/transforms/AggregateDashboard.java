package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DashboardMinute;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Accepted events to live dashboard documents: fixed windows (1 minute), an early firing every
 * {@code dashboardFiring} of processing time while events arrive, one when the watermark passes the
 * end of the minute, and late firings (batched the same way) for late events; accumulating, so each
 * document is the whole minute so far. Allowed lateness is gap + allowed lateness, so every event
 * that reaches a session also reaches its minute.
 */
public class AggregateDashboard
    extends PTransform<PCollection<ClickEvent>, PCollection<DashboardMinute>> {
  private final SessionizeConfig config;

  private AggregateDashboard(SessionizeConfig config) {
    this.config = config;
  }

  public static AggregateDashboard of(SessionizeConfig config) {
    return new AggregateDashboard(config);
  }

  @Override
  public PCollection<DashboardMinute> expand(PCollection<ClickEvent> events) {
    return events
        .apply(
            "WindowIntoMinutes",
            Window.<ClickEvent>into(FixedWindows.of(config.dashboardWindow()))
                .triggering(
                    AfterWatermark.pastEndOfWindow()
                        .withEarlyFirings(
                            AfterProcessingTime.pastFirstElementInPane()
                                .plusDelayOf(config.dashboardFiring()))
                        .withLateFirings(
                            AfterProcessingTime.pastFirstElementInPane()
                                .plusDelayOf(config.dashboardFiring())))
                .withAllowedLateness(config.lateness())
                .accumulatingFiredPanes())
        // Combiner lifting by hand: the FlinkRunner (2.62) does not lift combiners in streaming, so
        // without this every event went to the one key of Combine.globally and was added to the
        // minute's state on its own (a read and write of the whole accumulator per event).
        .apply("AddPerBundle", ParDo.of(new AddPerBundleFn(config.reportingCurrency())))
        .setCoder(new DashboardAccumulator.Coder())
        .apply("CombineMinute", Combine.globally(new MergeFn()).withoutDefaults())
        .apply("BuildDashboardDocuments", ParDo.of(new BuildDocumentFn(config)))
        .setCoder(DashboardMinute.DashboardMinuteCoder.of());
  }

  /**
   * Adds a bundle's events into one accumulator per window and emits them when the bundle ends, in
   * their window. A partial is on time only if the runner sends what a bundle emitted before the
   * watermark it held while the bundle was open: the DirectRunner does; the FlinkRunner (2.62) does
   * too, except for a bundle it finishes while taking a checkpoint, whose output it buffers and
   * sends after that watermark, so the minute drops the partial as late (a backlog read fast moves
   * the watermark hours in one bundle). On Flink, run with {@code
   * --finishBundleBeforeCheckpointing=true} (the production preset and the demo do): the bundle is
   * then finished before the checkpoint, its output sent first.
   */
  static class AddPerBundleFn extends DoFn<ClickEvent, DashboardAccumulator> {
    private final String reportingCurrency;
    private transient @Nullable Map<BoundedWindow, DashboardAccumulator> partials;

    AddPerBundleFn(String reportingCurrency) {
      this.reportingCurrency = reportingCurrency;
    }

    @StartBundle
    public void startBundle() {
      partials = new HashMap<>();
    }

    @ProcessElement
    public void process(@Element ClickEvent event, BoundedWindow window) {
      Map<BoundedWindow, DashboardAccumulator> open = Objects.requireNonNull(partials);
      open.computeIfAbsent(window, w -> new DashboardAccumulator()).add(event, reportingCurrency);
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) {
      Map<BoundedWindow, DashboardAccumulator> open = Objects.requireNonNull(partials);
      open.forEach((window, acc) -> context.output(acc, window.maxTimestamp(), window));
      open.clear();
    }
  }

  /** Merges the per-bundle accumulators of a minute. */
  static class MergeFn
      extends CombineFn<DashboardAccumulator, DashboardAccumulator, DashboardAccumulator> {
    @Override
    public DashboardAccumulator createAccumulator() {
      return new DashboardAccumulator();
    }

    /**
     * Returns a new accumulator and leaves {@code acc} as it was: the runner may share the object
     * it read from state with a running snapshot (Flink's heap state backend with {@code
     * --fasterCopy=true}), so it must never change. One copy per bundle's partial, not per event.
     */
    @Override
    public DashboardAccumulator addInput(DashboardAccumulator acc, DashboardAccumulator partial) {
      DashboardAccumulator next = new DashboardAccumulator();
      next.merge(acc);
      next.merge(partial);
      return next;
    }

    @Override
    public DashboardAccumulator mergeAccumulators(Iterable<DashboardAccumulator> accumulators) {
      DashboardAccumulator merged = new DashboardAccumulator();
      for (DashboardAccumulator a : accumulators) {
        merged.merge(a);
      }
      return merged;
    }

    @Override
    public DashboardAccumulator extractOutput(DashboardAccumulator acc) {
      DashboardAccumulator copy = new DashboardAccumulator();
      copy.merge(acc);
      return copy;
    }

    @Override
    public Coder<DashboardAccumulator> getAccumulatorCoder(
        CoderRegistry registry, Coder<DashboardAccumulator> inputCoder) {
      return new DashboardAccumulator.Coder();
    }

    @Override
    public Coder<DashboardAccumulator> getDefaultOutputCoder(
        CoderRegistry registry, Coder<DashboardAccumulator> inputCoder) {
      return new DashboardAccumulator.Coder();
    }
  }

  static class BuildDocumentFn extends DoFn<DashboardAccumulator, DashboardMinute> {
    private final int topPages;
    private final Clock clock;
    private final org.apache.beam.sdk.metrics.Counter emptyPanes =
        SessionizeMetrics.counter("dashboard_empty_panes_dropped");

    BuildDocumentFn(SessionizeConfig config) {
      this.topPages = config.dashboardTopPages();
      this.clock = config.clock();
    }

    @ProcessElement
    public void process(
        @Element DashboardAccumulator acc,
        BoundedWindow window,
        OutputReceiver<DashboardMinute> out) {
      // An accumulating pane of a minute with events is never empty. The FlinkRunner was seen to
      // fire a pending processing-time trigger after the window's state was cleared, emitting an
      // empty document that would overwrite the real one in Redis; such panes are dropped.
      if (acc.events == 0) {
        emptyPanes.inc();
        return;
      }
      out.output(toDocument(acc, ((IntervalWindow) window).start(), topPages, clock));
    }
  }

  static DashboardMinute toDocument(
      DashboardAccumulator acc, org.joda.time.Instant windowStart, int topN, Clock clock) {
    List<Map.Entry<String, Long>> pages = new ArrayList<>(acc.pageViewsByPage.entrySet());
    pages.sort(
        Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
            .thenComparing(Map.Entry.comparingByKey()));
    List<DashboardMinute.PageViews> top = new ArrayList<>();
    for (int i = 0; i < Math.min(topN, pages.size()); i++) {
      top.add(DashboardMinute.PageViews.of(pages.get(i).getKey(), pages.get(i).getValue()));
    }
    return DashboardMinute.builder()
        .setWindowStart(windowStart)
        .setEvents(acc.events)
        .setPageViews(acc.pageViews)
        .setClicks(acc.clicks)
        .setPurchases(acc.purchases)
        .setRevenue(BigDecimal.valueOf(acc.revenueCents, 2))
        .setUniqueUsers(acc.uniqueUsers())
        .setSessionsStarted(acc.sessionsStarted)
        .setTopPages(top)
        .setByCountry(new TreeMap<>(acc.eventsByCountry))
        .setByDevice(new TreeMap<>(acc.eventsByDevice))
        .setUpdatedAt(clock.now())
        .build();
  }
}
