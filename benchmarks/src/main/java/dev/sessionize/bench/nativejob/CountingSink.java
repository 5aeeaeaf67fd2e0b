package dev.sessionize.bench.nativejob;

import dev.sessionize.bench.InputProgress;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;

/**
 * A sink that only counts, in the accumulator {@code <name>}, and in {@code <name>BeforeInputEnd}
 * what it received while the input was still being read ({@link InputProgress}).
 */
public class CountingSink<T> extends RichSinkFunction<T> {
  private static final long serialVersionUID = 1L;

  private final String name;
  private transient LongCounter all;
  private transient LongCounter beforeEnd;

  public CountingSink(String name) {
    this.name = name;
  }

  @Override
  public void open(Configuration parameters) {
    all = getRuntimeContext().getLongCounter(name);
    beforeEnd = getRuntimeContext().getLongCounter(name + "BeforeInputEnd");
  }

  @Override
  public void invoke(T value, Context context) {
    all.add(1);
    if (!InputProgress.ended()) {
      beforeEnd.add(1);
    }
  }
}
