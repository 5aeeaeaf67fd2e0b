package dev.sessionize.pipeline.files;

import dev.sessionize.transforms.model.Session;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/** Every session emission as a JSON line. */
public final class WriteSessionsToFiles extends PTransform<PCollection<Session>, PDone> {
  private final String folder;
  private final Duration flushInterval;

  private WriteSessionsToFiles(String folder, Duration flushInterval) {
    this.folder = folder;
    this.flushInterval = flushInterval;
  }

  /** Into {@code <folder>/sessions-*.jsonl}. */
  public static WriteSessionsToFiles to(String folder) {
    return new WriteSessionsToFiles(folder, Duration.standardSeconds(10));
  }

  /** How often an unbounded input is flushed to a new file. */
  public WriteSessionsToFiles withFlushInterval(Duration interval) {
    return new WriteSessionsToFiles(folder, interval);
  }

  @Override
  public PDone expand(PCollection<Session> input) {
    return input
        .apply("SessionsToJson", MapElements.into(TypeDescriptors.strings()).via(Session::toJson))
        .apply(
            "WriteJsonLines",
            WriteJsonLines.to(folder + "/sessions").withFlushInterval(flushInterval));
  }
}
