package dev.sessionize.pipeline;

import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.model.RawRecord;
import java.util.Map;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.joda.time.Duration;

/**
 * Kafka source: the raw record values of a topic with their topic, partition and offset, stamped
 * with event time by {@link EventTimePolicy}; offsets are committed when a checkpoint finalizes.
 */
public class ReadFromKafka extends PTransform<PBegin, PCollection<RawRecord>> {
  private final String bootstrapServers;
  private final String topic;
  private final String groupId;
  private final String startingOffsets;
  private final EventParser parser;
  private final Duration maxOutOfOrderness;
  private final Duration idleTimeout;

  ReadFromKafka(
      String bootstrapServers,
      String topic,
      String groupId,
      String startingOffsets,
      EventParser parser,
      Duration maxOutOfOrderness,
      Duration idleTimeout) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.groupId = groupId;
    this.startingOffsets = startingOffsets;
    this.parser = parser;
    this.maxOutOfOrderness = maxOutOfOrderness;
    this.idleTimeout = idleTimeout;
  }

  @Override
  public PCollection<RawRecord> expand(PBegin input) {
    return input
        .apply(
            "ReadKafka",
            KafkaIO.<byte[], byte[]>read()
                .withBootstrapServers(bootstrapServers)
                .withTopic(topic)
                .withKeyDeserializer(ByteArrayDeserializer.class)
                .withValueDeserializer(ByteArrayDeserializer.class)
                .withConsumerConfigUpdates(
                    Map.of(
                        ConsumerConfig.GROUP_ID_CONFIG, groupId,
                        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, startingOffsets))
                .withTimestampPolicyFactory(
                    EventTimePolicy.factory(parser, maxOutOfOrderness, idleTimeout, Clock.system()))
                .commitOffsetsInFinalize())
        .apply("ToRawRecords", ParDo.of(new ToRawRecordFn()))
        .setCoder(RawRecord.RawRecordCoder.of());
  }

  static class ToRawRecordFn extends DoFn<KafkaRecord<byte[], byte[]>, RawRecord> {
    @ProcessElement
    public void process(
        @Element KafkaRecord<byte[], byte[]> record, OutputReceiver<RawRecord> out) {
      byte[] value = record.getKV().getValue();
      out.output(
          RawRecord.of(
              value == null ? new byte[0] : value,
              record.getTopic(),
              record.getPartition(),
              record.getOffset()));
    }
  }
}
