package dev.sessionize.pipeline;

import dev.sessionize.pipeline.Sinks.DashboardSink;
import dev.sessionize.pipeline.Sinks.DeadLetterSink;
import dev.sessionize.pipeline.Sinks.SessionsSink;
import dev.sessionize.pipeline.Sources.Source;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.kafka.KafkaClientProperties;
import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.pipeline.redis.RedisOptions;
import dev.sessionize.pipeline.redis.RedisSinks;
import dev.sessionize.transforms.SessionImpl;
import dev.sessionize.transforms.SessionizeConfig;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * The job's options as typed values, parsed once at launch from valid options: the choices as
 * enums, every duration as a {@link Duration}, the servers as endpoints. Sources and sinks are
 * built from these, never from the option strings.
 */
public record Settings(
    SessionizationPipeline.Options options,
    Source source,
    SessionsSink sessionsSink,
    DashboardSink dashboardSink,
    DeadLetterSink deadLetterSink,
    SessionizeConfig config,
    SessionImpl sessionImpl,
    Duration maxFutureSkew,
    Duration idleTimeout,
    Duration commitInterval,
    Duration icebergMaxOutage,
    Duration dashboardTtl,
    Duration sessionTtl,
    Duration redisFlushTimeout,
    Duration preflightTimeout,
    RedisSinks.Endpoint redis,
    KafkaClientProperties kafkaProperties,
    @Nullable IcebergCatalog catalog) {

  /** The typed values of {@code o}, which {@link SessionizationPipeline#validate} found valid. */
  public static Settings of(SessionizationPipeline.Options o) {
    Source source = OptionChecks.choice(Source.class, o.getSource());
    SessionsSink sessions = OptionChecks.choice(SessionsSink.class, o.getSessionsSink());
    return new Settings(
        o,
        source,
        sessions,
        OptionChecks.choice(DashboardSink.class, o.getDashboardSink()),
        deadLetterSink(o, source),
        SessionizeOptions.config(o),
        OptionChecks.choice(SessionImpl.class, o.getSessionImpl()),
        DurationOption.parse(o.getMaxFutureSkew()),
        DurationOption.parse(o.getIdleTimeout()),
        DurationOption.parse(o.getCommitInterval()),
        DurationOption.parse(o.getIcebergMaxOutage()),
        DurationOption.parse(o.getDashboardTtl()),
        DurationOption.parse(o.getSessionTtl()),
        DurationOption.parse(o.getRedisFlushTimeout()),
        DurationOption.parse(o.getPreflightTimeout()),
        RedisOptions.endpoint(o),
        KafkaClientProperties.of(o.getKafkaPropertiesFile()),
        sessions == SessionsSink.ICEBERG || o.getArchiveEvents()
            ? IcebergOptions.catalog(o)
            : null);
  }

  /** {@code --deadLetterSink}, or unset: Kafka when the source is Kafka, else files. */
  static DeadLetterSink deadLetterSink(SessionizationPipeline.Options o, Source source) {
    String chosen = o.getDeadLetterSink();
    if (chosen == null || chosen.isEmpty()) {
      return source == Source.KAFKA ? DeadLetterSink.KAFKA : DeadLetterSink.FILE;
    }
    return OptionChecks.choice(DeadLetterSink.class, chosen);
  }

  /** The folder of the file outputs. */
  public String output() {
    return options.getOutput();
  }
}
