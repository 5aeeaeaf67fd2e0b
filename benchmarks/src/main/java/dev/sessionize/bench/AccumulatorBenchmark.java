package dev.sessionize.bench;

import dev.sessionize.transforms.SessionAccumulator;
import dev.sessionize.transforms.model.ClickEvent;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.coders.Coder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * JMH: the session accumulator's hot path, per session: adding its events one by one, merging two
 * halves (what session windows do when they merge), encoding and decoding (what the runner does
 * when it keeps the accumulator in state). Run by the suite, or alone: {@code java -cp ...
 * org.openjdk.jmh.Main AccumulatorBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AccumulatorBenchmark {
  /** events:pages of the session. */
  @Param({"10:5", "500:200"})
  public String shape;

  private List<ClickEvent> events;
  private SessionAccumulator first;
  private SessionAccumulator second;
  private SessionAccumulator whole;
  private byte[] encoded;
  private Coder<SessionAccumulator> coder;

  @Setup
  public void setup() {
    String[] s = shape.split(":");
    events = StateSize.session("user-00042", Integer.parseInt(s[0]), Integer.parseInt(s[1]));
    coder = StateSize.coder();
    whole = StateSize.accumulate(events);
    first = StateSize.accumulate(events.subList(0, events.size() / 2));
    second = StateSize.accumulate(events.subList(events.size() / 2, events.size()));
    encoded = StateSize.encode(coder, whole);
  }

  @Benchmark
  public SessionAccumulator addAll() {
    return StateSize.accumulate(events);
  }

  @Benchmark
  public SessionAccumulator mergeHalves() {
    return StateSize.FN.mergeAccumulators(List.of(first, second));
  }

  @Benchmark
  public byte[] encode() {
    return StateSize.encode(coder, whole);
  }

  @Benchmark
  public SessionAccumulator decode() throws IOException {
    return coder.decode(new ByteArrayInputStream(encoded));
  }
}
