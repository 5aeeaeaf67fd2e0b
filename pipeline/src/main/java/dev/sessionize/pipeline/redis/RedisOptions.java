package dev.sessionize.pipeline.redis;

import static dev.sessionize.pipeline.options.OptionChecks.ONE_DAY;

import dev.sessionize.pipeline.options.OptionChecks;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.joda.time.Duration;

/** Where the live dashboard's Redis is, how to reach it, and how long its documents live. */
public interface RedisOptions extends PipelineOptions {
  @Description("Redis host of the live dashboard.")
  @Default.String("localhost")
  String getRedisHost();

  void setRedisHost(String value);

  @Description("Redis port of the live dashboard.")
  @Default.Integer(6379)
  int getRedisPort();

  void setRedisPort(int value);

  @Description(
      "Name of the environment variable holding the Redis password (passwords never go on the"
          + " command line); unset or empty means no AUTH.")
  @Default.String("SESSIONIZE_REDIS_PASSWORD")
  String getRedisPasswordEnv();

  void setRedisPasswordEnv(String value);

  @Description("Connect to Redis over TLS.")
  @Default.Boolean(false)
  boolean getRedisTls();

  void setRedisTls(boolean value);

  @Description(
      "PEM file of the certificate authorities to trust for Redis over TLS (implies"
          + " --redisTls=true); empty means the JVM's trust store.")
  @Default.String("")
  String getRedisCaFile();

  void setRedisCaFile(String value);

  @Description("Time to live of the dash:minute:* documents.")
  @Default.String("48h")
  String getDashboardTtl();

  void setDashboardTtl(String value);

  @Description("Time to live of the session:latest:<user_id> documents.")
  @Default.String("24h")
  String getSessionTtl();

  void setSessionTtl(String value);

  @Description(
      "How long Redis writes still pending when their window ends (at the end of a bounded"
          + " input, or when a streaming job is drained) are retried while Redis is unreachable;"
          + " if Redis has not taken them by then, the job fails with one line saying so"
          + " instead of finishing without them (0s: one attempt).")
  @Default.String("5m")
  String getRedisFlushTimeout();

  void setRedisFlushTimeout(String value);

  /** Where Redis is; the password stays in the environment until connecting. */
  static RedisSinks.Endpoint endpoint(RedisOptions o) {
    return new RedisSinks.Endpoint(
        o.getRedisHost(),
        o.getRedisPort(),
        o.getRedisPasswordEnv(),
        o.getRedisTls(),
        o.getRedisCaFile());
  }

  /** One line per bad duration or port; the secrets are checked with the other secrets. */
  static List<String> validate(RedisOptions o) {
    List<String> problems = new ArrayList<>();
    Duration year = Duration.standardDays(365);
    Duration second = Duration.standardSeconds(1);
    OptionChecks.duration(problems, "dashboardTtl", o.getDashboardTtl(), second, year);
    OptionChecks.duration(problems, "sessionTtl", o.getSessionTtl(), second, year);
    OptionChecks.duration(
        problems, "redisFlushTimeout", o.getRedisFlushTimeout(), Duration.ZERO, ONE_DAY);
    OptionChecks.range(problems, "redisPort", o.getRedisPort(), 1, 65_535);
    return problems;
  }
}
