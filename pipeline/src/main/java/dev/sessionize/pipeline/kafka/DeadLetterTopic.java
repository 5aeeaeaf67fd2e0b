package dev.sessionize.pipeline.kafka;

import dev.sessionize.pipeline.Preflight;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * How big a dead-letter record may be, and what the dead-letter topic needs.
 *
 * <p>A dead letter carries the rejected record's exact bytes in a JSON envelope: as JSON-escaped
 * UTF-8 text, or base64 when they are not UTF-8 (4/3 of the bytes). Kafka bounds an input record by
 * its topic's {@code max.message.bytes} (only roughly: the bound applies to the compressed batch).
 * A dead-letter topic that accepts {@link #requiredFor} that, twice the input's limit plus 16 KiB,
 * holds the dead letter of any input record whose text escaping at most doubles it (base64, JSON
 * full of quotes). At launch ({@link Preflight}) the job creates the dead-letter topic with that
 * limit when it is missing, and refuses to start when an existing one accepts less than the input
 * topic (then even the dead letters of ordinary large records could not be written). The sink reads
 * the topic's limit ({@link #recordLimit}) and sets its producer's {@code max.request.size} and
 * {@code buffer.memory} to hold it; a dead letter that still does not fit (a topic with less room
 * than {@link #requiredFor}, a compressed record bigger than its topic's limit, text of control
 * characters that escaping multiplies by six) keeps its bytes in a file instead ({@link
 * DeadLetterPayloads}), never truncated.
 */
public final class DeadLetterTopic {
  /** Room for everything of a dead letter but its payload. */
  static final int ENVELOPE = 16 << 10;

  /** Kafka's default {@code max.message.bytes}, for a topic whose limit cannot be read. */
  static final int KAFKA_DEFAULT = 1_048_588;

  private static final Map<String, Integer> LIMITS = new ConcurrentHashMap<>();

  private DeadLetterTopic() {}

  /** What the dead-letter topic must accept for an input topic that accepts {@code input}. */
  public static int requiredFor(int input) {
    return (int) Math.min(Integer.MAX_VALUE - 1, 2L * input + ENVELOPE);
  }

  /** The producer settings that let a record of {@code limit} bytes through. */
  static Map<String, Object> producerSizes(int limit) {
    return Map.of(
        "max.request.size", limit, "buffer.memory", Math.max(32L << 20, 2L * limit + (1 << 20)));
  }

  /**
   * The largest dead letter (key and value) the sink sends inline: the topic's {@code
   * max.message.bytes} less room for the batch and record headers. Read once per JVM.
   */
  static int recordLimit(String bootstrapServers, String topic, KafkaClientProperties client) {
    return LIMITS.computeIfAbsent(
        bootstrapServers + "/" + topic,
        k -> {
          try (Admin admin = admin(bootstrapServers, client, 30_000)) {
            return maxMessageBytes(admin, topic, 30_000).orElse(KAFKA_DEFAULT);
          } catch (Exception e) {
            throw new IllegalStateException(
                "cannot read max.message.bytes of the dead-letter topic " + topic, e);
          }
        });
  }

  /** The bytes a record's key and value may take in a batch of one under {@code limit}. */
  static int inlineBytes(int limit) {
    return limit - 1024;
  }

  /**
   * The launch check of the topics: {@code inputTopic} exists, and {@code deadLetterTopic} accepts
   * records at least as big as it, or is created with {@link #requiredFor} its limit. Null when
   * fine, else one line naming the option to fix.
   */
  public static String check(
      Admin admin, String bootstrapServers, String inputTopic, String deadLetterTopic, int millis)
      throws ExecutionException, InterruptedException, TimeoutException {
    Optional<Integer> input = maxMessageBytes(admin, inputTopic, millis);
    if (input.isEmpty()) {
      return "--inputTopic="
          + inputTopic
          + " does not exist on --bootstrapServers="
          + bootstrapServers
          + ": create it first";
    }
    int required = requiredFor(input.get());
    Optional<Integer> existing = maxMessageBytes(admin, deadLetterTopic, millis);
    if (existing.isEmpty()) {
      try {
        admin
            .createTopics(
                List.of(
                    new NewTopic(deadLetterTopic, Optional.empty(), Optional.empty())
                        .configs(
                            Map.of(
                                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(required)))))
            .all()
            .get(millis, TimeUnit.MILLISECONDS);
        return null;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw e;
        }
        existing = maxMessageBytes(admin, deadLetterTopic, millis);
      }
    }
    if (existing.isPresent() && existing.get() < input.get()) {
      return "--deadLetterTopic="
          + deadLetterTopic
          + " accepts records up to "
          + existing.get()
          + " bytes (max.message.bytes), less than --inputTopic="
          + inputTopic
          + " ("
          + input.get()
          + " bytes): raise it to "
          + required
          + " (kafka-configs.sh --alter --entity-type topics --entity-name "
          + deadLetterTopic
          + " --add-config max.message.bytes="
          + required
          + ") or give another --deadLetterTopic";
    }
    return null;
  }

  /** The topic's effective {@code max.message.bytes}; empty when the topic does not exist. */
  public static Optional<Integer> maxMessageBytes(Admin admin, String topic, int millis)
      throws ExecutionException, InterruptedException, TimeoutException {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    try {
      Config config =
          admin
              .describeConfigs(List.of(resource))
              .all()
              .get(millis, TimeUnit.MILLISECONDS)
              .get(resource);
      ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
      return Optional.of(entry == null ? KAFKA_DEFAULT : Integer.parseInt(entry.value()));
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return Optional.empty();
      }
      throw e;
    }
  }

  public static Admin admin(String bootstrapServers, KafkaClientProperties client, int millis) {
    return Admin.create(
        client.merge(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis,
                AdminClientConfig.CLIENT_ID_CONFIG, "sessionize-dead-letters")));
  }
}
