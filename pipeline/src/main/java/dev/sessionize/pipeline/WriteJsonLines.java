package dev.sessionize.pipeline;

import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.joda.time.Duration;

/**
 * File sink for bounded runs: one JSON document per line in {@code <prefix>-00000-of-00001.jsonl}.
 * Every emission is kept (sessions are re-emitted with a higher version), in the global window.
 */
public class WriteJsonLines extends PTransform<PCollection<String>, PDone> {
  private final String prefix;

  private WriteJsonLines(String prefix) {
    this.prefix = prefix;
  }

  public static WriteJsonLines to(String prefix) {
    return new WriteJsonLines(prefix);
  }

  @Override
  public PDone expand(PCollection<String> lines) {
    return lines
        .apply(
            "InGlobalWindow",
            Window.<String>into(new GlobalWindows())
                .triggering(DefaultTrigger.of())
                .withAllowedLateness(Duration.ZERO)
                .discardingFiredPanes())
        .apply("WriteFile", TextIO.write().to(prefix).withSuffix(".jsonl").withNumShards(1));
  }
}
