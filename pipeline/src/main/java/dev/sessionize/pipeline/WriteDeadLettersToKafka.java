package dev.sessionize.pipeline;

import dev.sessionize.transforms.model.DeadLetter;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.kafka.common.serialization.StringSerializer;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Dead letters to a Kafka topic: the spec's JSON record, keyed by {@code user_id} where known.
 * At-least-once by default; with a sink group id, KafkaIO's exactly-once sink (transactions tied to
 * the runner's checkpoints), so a restart from a checkpoint never writes a dead letter twice.
 */
public class WriteDeadLettersToKafka extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String bootstrapServers;
  private final String topic;
  private final @Nullable String exactlyOnceGroup;
  private final KafkaClientProperties clientProperties;

  WriteDeadLettersToKafka(
      String bootstrapServers,
      String topic,
      @Nullable String exactlyOnceGroup,
      KafkaClientProperties clientProperties) {
    this.clientProperties = clientProperties;
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.exactlyOnceGroup = exactlyOnceGroup;
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    KafkaIO.Write<String, String> write =
        KafkaIO.<String, String>write()
            .withBootstrapServers(bootstrapServers)
            .withTopic(topic)
            .withKeySerializer(StringSerializer.class)
            .withValueSerializer(StringSerializer.class)
            .withProducerFactoryFn(clientProperties.<String, String>producers());
    return deadLetters
        .apply(
            "KeyByUser",
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((DeadLetter d) -> KV.of(d.userId(), d.toJson())))
        .setCoder(KvCoder.of(NullableCoder.of(StringUtf8Coder.of()), StringUtf8Coder.of()))
        .apply(
            "WriteKafka",
            exactlyOnceGroup == null
                ? write
                : write
                    .withEOS(1, exactlyOnceGroup)
                    .withConsumerFactoryFn(clientProperties.consumers()));
  }
}
