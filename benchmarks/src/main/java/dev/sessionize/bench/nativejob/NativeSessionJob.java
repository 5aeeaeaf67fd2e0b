package dev.sessionize.bench.nativejob;

import dev.sessionize.bench.InputProgress;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.util.OutputTag;

/**
 * The native Flink yardstick: the design of the Beam job written directly on Flink 1.19's
 * DataStream API, without Beam. JSON lines parsed with Jackson in the file source, event time and a
 * bounded-out-of-orderness watermark (5 min) at the source, sessions keyed by user in {@code
 * EventTimeSessionWindows} (gap 30 min, allowed lateness 5 min, the default trigger: a firing when
 * the watermark passes the end and one per late event) with an {@code AggregateFunction}, too-late
 * events to a side output, and 1-minute event-time windows over all events for the dashboard
 * (firings 1 s after the first element of a pane, and at the end; allowed lateness gap + lateness).
 * Every output goes to a counting sink. No deduplication and no TOO_LATE dead letters with the
 * record's bytes, which the Beam job does on top.
 *
 * <p>Each file is read by a source subtask of its own (source parallelism = number of files): a
 * {@code FileSource} reader reads its splits one after the other, so one reader of several files
 * would have the watermark at the end of the first file while it starts the second, and every later
 * file would be too late. One file per reader keeps each file's watermark apart, as Kafka's
 * per-partition watermarks do.
 */
public final class NativeSessionJob {
  public static final Duration GAP = Duration.ofMinutes(30);
  public static final Duration LATENESS = Duration.ofMinutes(5);
  public static final Duration OUT_OF_ORDERNESS = Duration.ofMinutes(5);
  public static final Duration DASHBOARD_WINDOW = Duration.ofMinutes(1);
  public static final long DASHBOARD_FIRING_MILLIS = 1_000;

  private NativeSessionJob() {}

  /**
   * Adds the job to {@code env}: reads {@code files}; with {@code dashboard} false only the
   * sessions branch (to see what the dashboard costs). Returns the sessions (for tests).
   */
  public static DataStream<SessionRow> build(
      StreamExecutionEnvironment env, List<String> files, boolean streaming, boolean dashboard) {
    WatermarkStrategy<Click> watermarks =
        WatermarkStrategy.<Click>forBoundedOutOfOrderness(OUT_OF_ORDERNESS)
            .withTimestampAssigner((click, previous) -> click.timestamp);
    DataStream<Click> clicks;
    if (streaming) {
      // One source per file, each a single reader: the files are the partitions.
      clicks = null;
      for (int i = 0; i < files.size(); i++) {
        DataStream<Click> part =
            env.fromSource(fileSource(files.get(i)), watermarks, "ReadClicks" + i)
                .setParallelism(1)
                .filter(new CountValid())
                .setParallelism(1)
                .name("DropInvalid" + i);
        clicks = clicks == null ? part : clicks.union(part);
      }
    } else {
      clicks =
          env.fromSource(fileSource(files.toArray(String[]::new)), watermarks, "ReadClicks")
              .filter(new CountValid())
              .name("DropInvalid");
    }

    OutputTag<Click> tooLate = new OutputTag<>("too-late") {};
    SingleOutputStreamOperator<SessionRow> sessions =
        clicks
            .keyBy(click -> click.userId)
            .window(EventTimeSessionWindows.withGap(GAP))
            .allowedLateness(LATENESS)
            .sideOutputLateData(tooLate)
            .aggregate(new SessionAggregate(), new SessionRow.Emit())
            .name("Sessions");
    sessions.addSink(new CountingSink<>("sessions")).name("CountSessions");
    sessions.getSideOutput(tooLate).addSink(new CountingSink<>("tooLate")).name("CountTooLate");

    if (dashboard) {
      clicks
          .windowAll(TumblingEventTimeWindows.of(DASHBOARD_WINDOW))
          .trigger(new EarlyFiringTrigger(DASHBOARD_FIRING_MILLIS))
          .allowedLateness(GAP.plus(LATENESS))
          .aggregate(new MinuteAggregate(), new MinuteAggregate.Emit())
          .name("Dashboard")
          .addSink(new CountingSink<>("dashboard"))
          .name("CountDashboard");
    }
    return sessions;
  }

  private static FileSource<Click> fileSource(String... files) {
    Path[] paths = new Path[files.length];
    for (int i = 0; i < files.length; i++) {
      paths[i] = new Path(files[i]);
    }
    return FileSource.forRecordStreamFormat(new ClickFormat(), paths).build();
  }

  /**
   * Counts every record read ({@code records}) and the invalid ones ({@code invalid}); tells {@link
   * InputProgress} when a file's end marker comes by, and drops it.
   */
  static class CountValid extends RichFilterFunction<Click> {
    private static final long serialVersionUID = 1L;
    private transient LongCounter records;
    private transient LongCounter invalid;

    @Override
    public void open(Configuration parameters) {
      records = getRuntimeContext().getLongCounter("records");
      invalid = getRuntimeContext().getLongCounter("invalid");
    }

    @Override
    public boolean filter(Click click) {
      if (click.endOfFile != null) {
        InputProgress.finished(click.endOfFile);
        return false;
      }
      records.add(1);
      if (!click.valid) {
        invalid.add(1);
      }
      return click.valid;
    }
  }
}
