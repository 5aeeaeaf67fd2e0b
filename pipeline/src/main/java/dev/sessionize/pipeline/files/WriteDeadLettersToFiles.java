package dev.sessionize.pipeline.files;

import dev.sessionize.transforms.model.DeadLetter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/** Each dead letter as a JSON line: the record's bytes, the reason and the source position. */
public final class WriteDeadLettersToFiles extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String folder;
  private final Duration flushInterval;

  private WriteDeadLettersToFiles(String folder, Duration flushInterval) {
    this.folder = folder;
    this.flushInterval = flushInterval;
  }

  /** Into {@code <folder>/dead-letters-*.jsonl}. */
  public static WriteDeadLettersToFiles to(String folder) {
    return new WriteDeadLettersToFiles(folder, Duration.standardSeconds(10));
  }

  /** How often an unbounded input is flushed to a new file. */
  public WriteDeadLettersToFiles withFlushInterval(Duration interval) {
    return new WriteDeadLettersToFiles(folder, interval);
  }

  @Override
  public PDone expand(PCollection<DeadLetter> input) {
    return input
        .apply(
            "DeadLettersToJson",
            MapElements.into(TypeDescriptors.strings()).via(DeadLetter::toJson))
        .apply(
            "WriteJsonLines",
            WriteJsonLines.to(folder + "/dead-letters").withFlushInterval(flushInterval));
  }
}
