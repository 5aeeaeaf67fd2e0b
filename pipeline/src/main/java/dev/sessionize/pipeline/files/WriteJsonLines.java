package dev.sessionize.pipeline.files;

import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Repeatedly;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.joda.time.Duration;

/**
 * File sink: one JSON document per line. Every emission is kept (sessions are re-emitted with a
 * higher version). A bounded input is written once, to {@code <prefix>-00000-of-00001.jsonl}; an
 * unbounded one is flushed to a new file every {@code flushInterval} of processing time while lines
 * arrive ({@code <prefix><window>-pane-<n>-00000-of-00001.jsonl}).
 */
public class WriteJsonLines extends PTransform<PCollection<String>, PDone> {
  private final String prefix;
  private final Duration flushInterval;

  private WriteJsonLines(String prefix, Duration flushInterval) {
    this.prefix = prefix;
    this.flushInterval = flushInterval;
  }

  public static WriteJsonLines to(String prefix) {
    return new WriteJsonLines(prefix, Duration.standardSeconds(10));
  }

  public WriteJsonLines withFlushInterval(Duration interval) {
    return new WriteJsonLines(prefix, interval);
  }

  @Override
  public PDone expand(PCollection<String> lines) {
    if (lines.isBounded() == PCollection.IsBounded.UNBOUNDED) {
      return lines
          .apply(
              "InGlobalWindow",
              Window.<String>into(new GlobalWindows())
                  .triggering(
                      Repeatedly.forever(
                          AfterProcessingTime.pastFirstElementInPane().plusDelayOf(flushInterval)))
                  .withAllowedLateness(Duration.ZERO)
                  .discardingFiredPanes())
          .apply(
              "WriteFiles",
              TextIO.write().to(prefix).withSuffix(".jsonl").withWindowedWrites().withNumShards(1));
    }
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
