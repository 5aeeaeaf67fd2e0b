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

/** Dead letters to a Kafka topic: the spec's JSON record, keyed by {@code user_id} where known. */
public class WriteDeadLettersToKafka extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String bootstrapServers;
  private final String topic;

  WriteDeadLettersToKafka(String bootstrapServers, String topic) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    return deadLetters
        .apply(
            "KeyByUser",
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((DeadLetter d) -> KV.of(d.userId(), d.toJson())))
        .setCoder(KvCoder.of(NullableCoder.of(StringUtf8Coder.of()), StringUtf8Coder.of()))
        .apply(
            "WriteKafka",
            KafkaIO.<String, String>write()
                .withBootstrapServers(bootstrapServers)
                .withTopic(topic)
                .withKeySerializer(StringSerializer.class)
                .withValueSerializer(StringSerializer.class));
  }
}
