package dev.sessionize.pipeline.redis;

import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.DashboardMinute;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * The dashboard in Redis: {@code dash:minute:<yyyy-MM-ddTHH:mmZ>} = the minute's document at each
 * firing, and {@code dash:latest} = the key of the newest minute seen (a late re-firing of an older
 * minute never moves it back). Every write is a SET with a TTL, retried ({@link RedisSinks}).
 */
public final class WriteDashboardToRedis extends RedisSinks.Sink<DashboardMinute> {
  /**
   * To the Redis at {@code endpoint}; documents live {@code ttl}; writes still pending at the end
   * are retried while Redis is unreachable for up to {@code flushTimeout}.
   */
  public WriteDashboardToRedis(RedisSinks.Endpoint endpoint, Duration ttl, Duration flushTimeout) {
    super(endpoint, ttl, flushTimeout);
  }

  @Override
  public PDone expand(PCollection<DashboardMinute> docs) {
    PCollection<KV<String, String>> minutes =
        docs.apply("ToMinuteKeys", ParDo.of(new ToMinuteKeyFn()))
            .setCoder(
                KvCoder.of(
                    StringUtf8Coder.of(), KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of())))
            .apply("MinutesInGlobalWindow", Window.into(new GlobalWindows()))
            .apply("KeepNewestPane", ParDo.of(new NewestPaneFn()))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
    PCollection<KV<String, String>> latest =
        docs.apply("InGlobalWindow", Window.into(new GlobalWindows()))
            .apply(
                "KeyLatest",
                MapElements.into(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.longs()))
                    .via((DashboardMinute d) -> KV.of("dash:latest", d.windowStart().getMillis())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()))
            .apply("KeepNewestMinute", ParDo.of(new NewestMinuteFn()))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
    return set(PCollectionList.of(minutes).and(latest).apply("AllKeys", Flatten.pCollections()));
  }

  /** A minute's document under its Redis key, with the index of the pane it comes from. */
  static class ToMinuteKeyFn extends DoFn<DashboardMinute, KV<String, KV<Long, String>>> {
    @ProcessElement
    public void process(
        @Element DashboardMinute minute,
        PaneInfo pane,
        OutputReceiver<KV<String, KV<Long, String>>> out) {
      out.output(KV.of(minute.redisKey(), KV.of(pane.getIndex(), minute.toJson())));
    }
  }

  /**
   * Passes a minute's document on only when it comes from a later pane than any seen for that
   * minute. Panes are accumulating, so a later pane holds everything an earlier one did; but Beam
   * does not keep the order of elements between steps (the DirectRunner runs two bundles of the
   * same minute's panes through the steps before this one at the same time), and an earlier pane
   * written last would leave a stale document in Redis until the minute fires again. Counter {@code
   * dashboard_stale_panes_skipped}.
   */
  static class NewestPaneFn extends DoFn<KV<String, KV<Long, String>>, KV<String, String>> {
    private final Counter skipped = SessionizeMetrics.counter("dashboard_stale_panes_skipped");

    @StateId("pane")
    private final StateSpec<ValueState<Long>> paneSpec = StateSpecs.value(VarLongCoder.of());

    @ProcessElement
    public void process(
        @Element KV<String, KV<Long, String>> element,
        @StateId("pane") ValueState<Long> newest,
        OutputReceiver<KV<String, String>> out) {
      Long current = newest.read();
      long pane = element.getValue().getKey();
      if (current != null && pane < current) {
        skipped.inc();
        return;
      }
      newest.write(pane);
      out.output(KV.of(element.getKey(), element.getValue().getValue()));
    }
  }

  /** Emits {@code dash:latest -> dash:minute:<minute>} only when a newer minute shows up. */
  static class NewestMinuteFn extends DoFn<KV<String, Long>, KV<String, String>> {
    @StateId("newest")
    private final StateSpec<ValueState<Long>> newestSpec = StateSpecs.value(VarLongCoder.of());

    @ProcessElement
    public void process(
        @Element KV<String, Long> element,
        @StateId("newest") ValueState<Long> newest,
        OutputReceiver<KV<String, String>> out) {
      Long current = newest.read();
      long start = element.getValue();
      if (current == null || start >= current) {
        newest.write(start);
        out.output(
            KV.of(element.getKey(), DashboardMinute.keyFor(new org.joda.time.Instant(start))));
      }
    }
  }
}
