package dev.sessionize.pipeline.files;

import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Session;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * The file sinks of the job: each element as one line of {@code <folder>/<name>-*.jsonl} ({@link
 * WriteJsonLines}): every session emission, each firing of a dashboard minute (its Redis key, a
 * tab, the document), each dead letter (the record's bytes, the reason and the source position).
 */
public final class WriteToFiles<T> extends PTransform<PCollection<T>, PDone> {
  private final String step;
  private final SerializableFunction<T, String> toLine;
  private final String prefix;
  private final Duration flushInterval;

  private WriteToFiles(
      String step, SerializableFunction<T, String> toLine, String prefix, Duration flushInterval) {
    this.step = step;
    this.toLine = toLine;
    this.prefix = prefix;
    this.flushInterval = flushInterval;
  }

  /** Sessions into {@code <folder>/sessions-*.jsonl}. */
  public static WriteToFiles<Session> sessions(String folder) {
    return new WriteToFiles<>(
        "SessionsToJson", Session::toJson, folder + "/sessions", Duration.standardSeconds(10));
  }

  /** Dashboard minutes into {@code <folder>/dashboard-*.jsonl}. */
  public static WriteToFiles<DashboardMinute> dashboard(String folder) {
    return new WriteToFiles<>(
        "DashboardToJson",
        (DashboardMinute d) -> d.redisKey() + "\t" + d.toJson(),
        folder + "/dashboard",
        Duration.standardSeconds(10));
  }

  /** Dead letters into {@code <folder>/dead-letters-*.jsonl}. */
  public static WriteToFiles<DeadLetter> deadLetters(String folder) {
    return new WriteToFiles<>(
        "DeadLettersToJson",
        DeadLetter::toJson,
        folder + "/dead-letters",
        Duration.standardSeconds(10));
  }

  /** How often an unbounded input is flushed to a new file. */
  public WriteToFiles<T> withFlushInterval(Duration interval) {
    return new WriteToFiles<>(step, toLine, prefix, interval);
  }

  @Override
  public PDone expand(PCollection<T> input) {
    return input
        .apply(step, MapElements.into(TypeDescriptors.strings()).via(toLine))
        .apply("WriteJsonLines", WriteJsonLines.to(prefix).withFlushInterval(flushInterval));
  }
}
