package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Session;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Instant;

/**
 * Accepted events to session rows: key by user, session windows of the gap ({@link CappedSessions}:
 * Beam's {@code Sessions}, cut at {@code maxSessionDuration}) with the allowed lateness, fire when
 * the watermark passes the end of the session and again for each late event, accumulating panes,
 * and always a final pane when the session expires. Each emission is a whole {@link Session}:
 * {@code is_final} on the last pane, {@code version} and the superseded ids from {@link
 * TrackSessionVersions}. The output is in the global window.
 *
 * <p>The input must come from {@link DedupEvents} with the same config: that step routes events the
 * session windows would drop to the dead-letter output.
 */
public class Sessionize extends PTransform<PCollection<ClickEvent>, PCollection<Session>> {
  private final SessionizeConfig config;

  private Sessionize(SessionizeConfig config) {
    this.config = config;
  }

  public static Sessionize of(SessionizeConfig config) {
    return new Sessionize(config);
  }

  /**
   * Only the windowed half: rows still in their session windows, with {@code version} = the pane
   * index within the current window and no superseded ids. For tests that assert on panes.
   */
  public static PTransform<PCollection<ClickEvent>, PCollection<Session>> windowedRows(
      SessionizeConfig config) {
    return new WindowedRows(config);
  }

  @Override
  public PCollection<Session> expand(PCollection<ClickEvent> events) {
    return events
        .apply("WindowedSessionRows", new WindowedRows(config))
        .apply("TrackSessionVersions", TrackSessionVersions.create());
  }

  private static class WindowedRows
      extends PTransform<PCollection<ClickEvent>, PCollection<Session>> {
    private final SessionizeConfig config;

    WindowedRows(SessionizeConfig config) {
      this.config = config;
    }

    @Override
    public PCollection<Session> expand(PCollection<ClickEvent> events) {
      return events
          .apply(
              "KeyByUser",
              WithKeys.of((ClickEvent e) -> e.userId()).withKeyType(TypeDescriptors.strings()))
          .setCoder(KvCoder.of(StringUtf8Coder.of(), ClickEvent.ClickEventCoder.of()))
          .apply(
              "WindowIntoSessions",
              Window.<KV<String, ClickEvent>>into(
                      CappedSessions.of(config.sessionGap(), config.maxSessionDuration()))
                  .triggering(
                      AfterWatermark.pastEndOfWindow()
                          .withLateFirings(AfterPane.elementCountAtLeast(1)))
                  .withAllowedLateness(config.allowedLateness(), Window.ClosingBehavior.FIRE_ALWAYS)
                  .withOnTimeBehavior(Window.OnTimeBehavior.FIRE_ALWAYS)
                  .accumulatingFiredPanes())
          .apply(
              "CombineSessionMetrics",
              Combine.perKey(new SessionCombineFn(config.maxPagesPerSession())))
          .apply("BuildSessionRows", ParDo.of(new BuildRowFn(config)))
          .setCoder(Session.SessionCoder.of());
    }
  }

  static class BuildRowFn extends DoFn<KV<String, SessionAccumulator>, Session> {
    private final String reportingCurrency;
    private final Clock clock;
    private final Counter emitted = SessionizeMetrics.counter("session_emissions");
    private final Counter finals = SessionizeMetrics.counter("sessions_final");
    private final Counter atPageCap = SessionizeMetrics.counter("sessions_final_at_page_cap");
    private final int maxPages;

    BuildRowFn(SessionizeConfig config) {
      this.maxPages = config.maxPagesPerSession();
      this.reportingCurrency = config.reportingCurrency();
      this.clock = config.clock();
    }

    @ProcessElement
    public void process(
        @Element KV<String, SessionAccumulator> element,
        PaneInfo pane,
        OutputReceiver<Session> out) {
      SessionAccumulator acc = element.getValue();
      if (acc.isEmpty()) {
        return; // accumulating panes of a real session are never empty
      }
      emitted.inc();
      Session row = toSession(element.getKey(), acc, pane, clock.now(), reportingCurrency);
      if (pane.isLast()) {
        finals.inc();
        if (row.pagesVisited().size() >= maxPages) {
          atPageCap.inc(); // pages_visited is full: pages first visited later were dropped
        }
      }
      out.output(row);
    }
  }

  /** Builds the row for {@code userId}'s session from its accumulator and pane. */
  static Session toSession(
      String userId,
      SessionAccumulator acc,
      PaneInfo pane,
      Instant emittedAt,
      String reportingCurrency) {
    return toSession(
        userId, acc, (int) pane.getIndex(), pane.isLast(), emittedAt, reportingCurrency, List.of());
  }

  /** Builds a row with its version, finality and superseded ids. */
  static Session toSession(
      String userId,
      SessionAccumulator acc,
      int version,
      boolean isFinal,
      Instant emittedAt,
      String reportingCurrency,
      List<String> supersededSessionIds) {
    Instant start = new Instant(acc.startMillis());
    Instant end = new Instant(acc.endMillis());
    Map<String, BigDecimal> byCurrency = new TreeMap<>();
    for (Map.Entry<String, Long> e : acc.centsByCurrency().entrySet()) {
      byCurrency.put(e.getKey(), BigDecimal.valueOf(e.getValue(), 2));
    }
    return Session.builder()
        .setSessionId(Session.idFor(userId, start))
        .setUserId(userId)
        .setClientSessionId(acc.clientSessionId())
        .setStartTime(start)
        .setEndTime(end)
        .setDurationSeconds((acc.endMillis() - acc.startMillis()) / 1000)
        .setEventCount(acc.eventCount())
        .setPageViewCount(acc.pageViewCount())
        .setClickCount(acc.clickCount())
        .setPurchaseCount(acc.purchaseCount())
        .setPagesVisited(acc.pagesInVisitOrder())
        .setEntryPage(acc.entryPage())
        .setExitPage(acc.exitPage())
        .setReferrer(acc.referrer())
        .setDeviceType(acc.deviceType())
        .setCountry(acc.country())
        .setConversion(acc.purchaseCount() > 0)
        .setRevenue(byCurrency.getOrDefault(reportingCurrency, BigDecimal.valueOf(0, 2)))
        .setRevenueByCurrency(byCurrency)
        .setVersion(version)
        .setIsFinal(isFinal)
        .setEmittedAt(emittedAt)
        .setSupersededSessionIds(supersededSessionIds)
        .build();
  }
}
