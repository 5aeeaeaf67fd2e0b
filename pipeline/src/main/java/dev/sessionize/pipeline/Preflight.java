package dev.sessionize.pipeline;

import dev.sessionize.pipeline.kafka.DeadLetterTopic;
import dev.sessionize.pipeline.kafka.KafkaClientProperties;
import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.redis.RedisSinks;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.joda.time.Duration;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Connection checks at launch, before the job starts: the Kafka broker answers and accepts the
 * credentials of {@code --kafkaPropertiesFile}, and Redis answers and accepts the password, each
 * within {@code --preflightTimeout}. A failure is one line naming the option to fix; no line ever
 * carries a secret (the messages are written here, not copied from the exception when it could echo
 * a configuration value). {@code --preflight=false} skips the checks, e.g. when the launcher cannot
 * reach servers that the workers can.
 */
public final class Preflight {
  private Preflight() {}

  /** One line per server that cannot be used; empty when all answer. */
  static List<String> check(Settings settings) {
    SessionizationPipeline.Options options = settings.options();
    List<String> problems = new ArrayList<>();
    Duration timeout = settings.preflightTimeout();
    if (settings.source() == Sources.Source.KAFKA) {
      KafkaClientProperties client = settings.kafkaProperties();
      String problem =
          kafka(options.getBootstrapServers(), client, options.getKafkaPropertiesFile(), timeout);
      if (problem == null) {
        problem = topics(options, client, timeout);
      }
      if (problem != null) {
        problems.add(problem);
      }
    }
    if (settings.dashboardSink() == Sinks.DashboardSink.REDIS) {
      String problem = redis(settings.redis(), options, timeout);
      if (problem != null) {
        problems.add(problem);
      }
    }
    return problems;
  }

  static String kafka(
      String bootstrapServers,
      KafkaClientProperties clientProperties,
      String propertiesFile,
      Duration timeout) {
    int millis = (int) timeout.getMillis();
    Map<String, Object> config = new HashMap<>();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis);
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
    config.put(AdminClientConfig.CLIENT_ID_CONFIG, "sessionize-preflight");
    String file =
        propertiesFile == null || propertiesFile.isBlank()
            ? "--kafkaPropertiesFile (not set)"
            : "--kafkaPropertiesFile=" + propertiesFile;
    try (Admin admin = Admin.create(clientProperties.merge(config))) {
      admin.describeCluster().clusterId().get(millis, TimeUnit.MILLISECONDS);
      return null;
    } catch (TimeoutException e) {
      return unreachable(bootstrapServers, timeout);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof SslAuthenticationException) {
        return "--bootstrapServers="
            + bootstrapServers
            + ": the TLS handshake with the broker failed: check the ssl.* settings of "
            + file;
      }
      if (cause instanceof AuthenticationException) {
        return "--bootstrapServers="
            + bootstrapServers
            + ": the broker rejected the credentials: check the sasl.* settings of "
            + file;
      }
      if (cause instanceof org.apache.kafka.common.errors.TimeoutException) {
        return unreachable(bootstrapServers, timeout);
      }
      return "--bootstrapServers="
          + bootstrapServers
          + ": the broker could not be used ("
          + (cause == null ? e : cause).getClass().getSimpleName()
          + "; see "
          + file
          + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return unreachable(bootstrapServers, timeout);
    } catch (org.apache.kafka.common.KafkaException e) {
      // A bad client setting (e.g. an unknown SASL mechanism): Kafka names it, not its value.
      return "--kafkaPropertiesFile="
          + propertiesFile
          + " has a setting the Kafka client rejects ("
          + e.getClass().getSimpleName()
          + ")";
    }
  }

  /**
   * The topics: the input topic exists, the dead-letter topic holds the dead letter of any input
   * record or is created so ({@link DeadLetterTopic#check}).
   */
  static String topics(
      SessionizationPipeline.Options options, KafkaClientProperties client, Duration timeout) {
    int millis = (int) timeout.getMillis();
    try (Admin admin = DeadLetterTopic.admin(options.getBootstrapServers(), client, millis)) {
      return DeadLetterTopic.check(
          admin,
          options.getBootstrapServers(),
          options.getInputTopic(),
          options.getDeadLetterTopic(),
          millis);
    } catch (TimeoutException e) {
      return unreachable(options.getBootstrapServers(), timeout);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      return "--deadLetterTopic="
          + options.getDeadLetterTopic()
          + ": the topics of --inputTopic and --deadLetterTopic could not be checked or created ("
          + cause.getClass().getSimpleName()
          + "; --preflight=false skips this check)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return unreachable(options.getBootstrapServers(), timeout);
    }
  }

  private static String unreachable(String bootstrapServers, Duration timeout) {
    return "--bootstrapServers="
        + bootstrapServers
        + " is unreachable: no Kafka broker answered within "
        + DurationOption.format(timeout)
        + " (--preflight=false skips this check)";
  }

  static String redis(
      RedisSinks.Endpoint endpoint, SessionizationPipeline.Options options, Duration timeout) {
    String where =
        "--redisHost=" + options.getRedisHost() + " --redisPort=" + options.getRedisPort();
    try (Jedis jedis =
        new Jedis(endpoint.hostAndPort(), endpoint.clientConfig((int) timeout.getMillis()))) {
      jedis.ping();
      return null;
    } catch (JedisConnectionException e) {
      if (causedBy(e, SSLException.class)) {
        return where + ": the TLS handshake with Redis failed (check --redisTls and --redisCaFile)";
      }
      return where
          + " is unreachable: Redis did not answer within "
          + DurationOption.format(timeout)
          + (options.getRedisTls() ? " over TLS" : "")
          + " (--preflight=false skips this check)";
    } catch (JedisDataException e) {
      String error = e.getMessage() == null ? "" : e.getMessage();
      String env = options.getRedisPasswordEnv();
      if (error.startsWith("NOAUTH")) {
        return "--redisPasswordEnv="
            + env
            + ": Redis requires a password and the environment variable "
            + env
            + " is not set";
      }
      if (error.startsWith("WRONGPASS")
          || error.contains("invalid password")
          || error.contains("AUTH")) {
        return "--redisPasswordEnv="
            + env
            + ": Redis rejected the password in the environment variable "
            + env;
      }
      return where + ": Redis answered with an error (" + e.getClass().getSimpleName() + ")";
    } catch (JedisException | IllegalArgumentException e) {
      return where + ": Redis could not be used (" + e.getClass().getSimpleName() + ")";
    }
  }

  private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }
}
