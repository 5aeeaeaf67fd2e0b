package dev.sessionize.pipeline;

import dev.sessionize.pipeline.batch.WriteEventsToIceberg;
import dev.sessionize.pipeline.files.WriteToFiles;
import dev.sessionize.pipeline.iceberg.WriteSessionsToIceberg;
import dev.sessionize.pipeline.kafka.WriteDeadLettersToKafka;
import dev.sessionize.pipeline.redis.WriteDashboardToRedis;
import dev.sessionize.pipeline.redis.WriteLatestSessionsToRedis;
import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Session;
import java.util.Optional;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;

/** The job's sinks by name: where sessions, the dashboard and dead letters go. */
public final class Sinks {
  /** {@code --sessionsSink}: JSON lines of every emission, or one row per session in Iceberg. */
  public enum SessionsSink {
    FILE,
    ICEBERG
  }

  /** {@code --dashboardSink}: JSON lines, or documents in Redis. */
  public enum DashboardSink {
    FILE,
    REDIS
  }

  /** {@code --deadLetterSink}: a Kafka topic, or JSON lines. */
  public enum DeadLetterSink {
    KAFKA,
    FILE
  }

  private Sinks() {}

  /** The sessions, to {@code --sessionsSink}. */
  public static PTransform<PCollection<Session>, PDone> sessions(Settings s) {
    switch (s.sessionsSink()) {
      case ICEBERG:
        return WriteSessionsToIceberg.to(s.catalog(), s.options().getSessionsTable())
            .withCommitInterval(s.commitInterval())
            .withMaxOutage(s.icebergMaxOutage());
      case FILE:
      default:
        return WriteToFiles.sessions(s.output()).withFlushInterval(s.commitInterval());
    }
  }

  /** The dashboard's minutes, to {@code --dashboardSink}. */
  public static PTransform<PCollection<DashboardMinute>, PDone> dashboard(Settings s) {
    switch (s.dashboardSink()) {
      case REDIS:
        return new WriteDashboardToRedis(s.redis(), s.dashboardTtl(), s.redisFlushTimeout());
      case FILE:
      default:
        return WriteToFiles.dashboard(s.output()).withFlushInterval(s.commitInterval());
    }
  }

  /** Each user's latest session, to Redis when the dashboard goes there; else nothing. */
  public static Optional<PTransform<PCollection<Session>, PDone>> latestSessions(Settings s) {
    if (s.dashboardSink() != DashboardSink.REDIS) {
      return Optional.empty();
    }
    return Optional.of(
        new WriteLatestSessionsToRedis(s.redis(), s.sessionTtl(), s.redisFlushTimeout()));
  }

  /** The dead letters, to {@code --deadLetterSink}. */
  public static PTransform<PCollection<DeadLetter>, PDone> deadLetters(Settings s) {
    SessionizationPipeline.Options o = s.options();
    switch (s.deadLetterSink()) {
      case KAFKA:
        WriteDeadLettersToKafka kafka =
            WriteDeadLettersToKafka.to(o.getBootstrapServers(), o.getDeadLetterTopic())
                .withClientProperties(s.kafkaProperties())
                .withPayloadsUnder(o.getWarehouse());
        return o.getDeadLetterExactlyOnce()
            ? kafka.withExactlyOnce(o.getGroupId() + "-dead-letters")
            : kafka;
      case FILE:
      default:
        return WriteToFiles.deadLetters(s.output());
    }
  }

  /** Every record read, before parsing, to the raw archive table (the backfill replays it). */
  public static PTransform<PCollection<RawRecord>, PDone> rawArchive(Settings s) {
    return new WriteEventsToIceberg(
        s.catalog(), s.options().getEventsTable(), s.commitInterval(), Clock.system());
  }
}
