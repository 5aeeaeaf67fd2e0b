package dev.sessionize.pipeline.redis;

import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.junit.Rule;
import org.junit.Test;

/** The dashboard's Redis writes keep the newest pane of each minute. */
public class WriteDashboardToRedisTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  /**
   * Panes of one minute that reach the writer out of order (pane 2 before pane 1): the older one is
   * not written after the newer, so Redis is not left with a stale document; other minutes are
   * independent.
   */
  @Test
  public void anOlderPaneArrivingLateIsNotWritten() {
    KvCoder<String, KV<Long, String>> coder =
        KvCoder.of(StringUtf8Coder.of(), KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of()));
    TestStream<KV<String, KV<Long, String>>> panes =
        TestStream.create(coder)
            .addElements(KV.of("dash:minute:a", KV.of(0L, "a0")))
            .advanceProcessingTime(Duration.standardSeconds(1))
            .addElements(KV.of("dash:minute:a", KV.of(2L, "a2")))
            .advanceProcessingTime(Duration.standardSeconds(1))
            .addElements(KV.of("dash:minute:a", KV.of(1L, "a1")))
            .advanceProcessingTime(Duration.standardSeconds(1))
            .addElements(KV.of("dash:minute:b", KV.of(1L, "b1")))
            .advanceProcessingTime(Duration.standardSeconds(1))
            .addElements(KV.of("dash:minute:a", KV.of(2L, "a2 again")))
            .advanceProcessingTime(Duration.standardSeconds(1))
            .addElements(KV.of("dash:minute:a", KV.of(3L, "a3")))
            .advanceWatermarkToInfinity();
    PCollection<KV<String, String>> written =
        pipeline.apply(panes).apply(ParDo.of(new WriteDashboardToRedis.NewestPaneFn()));
    PAssert.that(written)
        .containsInAnyOrder(
            KV.of("dash:minute:a", "a0"),
            KV.of("dash:minute:a", "a2"),
            KV.of("dash:minute:b", "b1"),
            KV.of("dash:minute:a", "a2 again"),
            KV.of("dash:minute:a", "a3"));
    pipeline.run();
  }
}
