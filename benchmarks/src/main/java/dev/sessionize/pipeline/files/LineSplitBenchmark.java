package dev.sessionize.pipeline.files;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * JMH: the file source's line splitting, before and after it read blocks: 20 000 generated event
 * lines (about 5 MB) split per op, with the old byte-by-byte loop (kept here as it was) and {@link
 * ReadJsonLines.LinesFn#split}. In this package to reach the package-private splitter.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LineSplitBenchmark {
  private byte[] text;

  @Setup
  public void setup() {
    StringBuilder b = new StringBuilder();
    for (ClickstreamGenerator.Record r :
        new ClickstreamGenerator().seed(42).events(20_000).users(2_000).generate()) {
      b.append(new String(r.payload, StandardCharsets.UTF_8)).append('\n');
    }
    text = b.toString().getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  public void blocks(Blackhole bh) throws IOException {
    ReadJsonLines.LinesFn.split(new ByteArrayInputStream(text), (bytes, n) -> bh.consume(bytes));
  }

  /** The splitting loop as it was before (commit 22ce4ed). */
  @Benchmark
  public void byteByByte(Blackhole bh) throws IOException {
    try (InputStream in = new BufferedInputStream(new ByteArrayInputStream(text))) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int b;
      while (true) {
        b = in.read();
        if (b == '\n' || b < 0) {
          byte[] bytes = line.toByteArray();
          int length = bytes.length;
          if (length > 0 && bytes[length - 1] == '\r') {
            bytes = Arrays.copyOf(bytes, length - 1);
          }
          bh.consume(bytes);
          line.reset();
          if (b < 0) {
            return;
          }
        } else {
          line.write(b);
        }
      }
    }
  }
}
