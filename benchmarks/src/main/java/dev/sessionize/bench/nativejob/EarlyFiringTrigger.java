package dev.sessionize.bench.nativejob;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.triggers.TriggerResult;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;

/**
 * The dashboard's trigger, as the Beam job's: fires when the watermark passes the end of the window
 * and, while elements arrive, {@code delayMillis} of processing time after the first element of a
 * pane (early firings before the end, late firings after it); the window's contents accumulate.
 */
public class EarlyFiringTrigger extends Trigger<Object, TimeWindow> {
  private static final long serialVersionUID = 1L;

  private final long delayMillis;
  private final ValueStateDescriptor<Long> pending =
      new ValueStateDescriptor<>("pending-firing", Types.LONG);

  public EarlyFiringTrigger(long delayMillis) {
    this.delayMillis = delayMillis;
  }

  @Override
  public TriggerResult onElement(
      Object element, long timestamp, TimeWindow window, TriggerContext ctx) throws Exception {
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) {
      ctx.registerEventTimeTimer(window.maxTimestamp());
    }
    ValueState<Long> firing = ctx.getPartitionedState(pending);
    if (firing.value() == null) {
      long at = ctx.getCurrentProcessingTime() + delayMillis;
      ctx.registerProcessingTimeTimer(at);
      firing.update(at);
    }
    return TriggerResult.CONTINUE;
  }

  @Override
  public TriggerResult onProcessingTime(long time, TimeWindow window, TriggerContext ctx)
      throws Exception {
    ctx.getPartitionedState(pending).clear();
    return TriggerResult.FIRE;
  }

  @Override
  public TriggerResult onEventTime(long time, TimeWindow window, TriggerContext ctx) {
    return time == window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE;
  }

  @Override
  public void clear(TimeWindow window, TriggerContext ctx) throws Exception {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
    ValueState<Long> firing = ctx.getPartitionedState(pending);
    Long at = firing.value();
    if (at != null) {
      ctx.deleteProcessingTimeTimer(at);
    }
    firing.clear();
  }
}
