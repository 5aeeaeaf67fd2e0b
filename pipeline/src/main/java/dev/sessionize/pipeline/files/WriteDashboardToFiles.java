package dev.sessionize.pipeline.files;

import dev.sessionize.transforms.model.DashboardMinute;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/** Each firing of a dashboard minute as a line: its Redis key, a tab, the document. */
public final class WriteDashboardToFiles extends PTransform<PCollection<DashboardMinute>, PDone> {
  private final String folder;
  private final Duration flushInterval;

  private WriteDashboardToFiles(String folder, Duration flushInterval) {
    this.folder = folder;
    this.flushInterval = flushInterval;
  }

  /** Into {@code <folder>/dashboard-*.jsonl}. */
  public static WriteDashboardToFiles to(String folder) {
    return new WriteDashboardToFiles(folder, Duration.standardSeconds(10));
  }

  /** How often an unbounded input is flushed to a new file. */
  public WriteDashboardToFiles withFlushInterval(Duration interval) {
    return new WriteDashboardToFiles(folder, interval);
  }

  @Override
  public PDone expand(PCollection<DashboardMinute> input) {
    return input
        .apply(
            "DashboardToJson",
            MapElements.into(TypeDescriptors.strings())
                .via((DashboardMinute d) -> d.redisKey() + "\t" + d.toJson()))
        .apply(
            "WriteJsonLines",
            WriteJsonLines.to(folder + "/dashboard").withFlushInterval(flushInterval));
  }
}
