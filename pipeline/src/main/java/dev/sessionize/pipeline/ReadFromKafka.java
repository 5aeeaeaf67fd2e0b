package dev.sessionize.pipeline;

import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.joda.time.Duration;
import org.joda.time.Instant;

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
  private final KafkaClientProperties clientProperties;

  ReadFromKafka(
      String bootstrapServers,
      String topic,
      String groupId,
      String startingOffsets,
      EventParser parser,
      Duration maxOutOfOrderness,
      Duration idleTimeout,
      KafkaClientProperties clientProperties) {
    this.clientProperties = clientProperties;
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
                .withConsumerFactoryFn(clientProperties.consumers())
                .withTimestampPolicyFactory(
                    EventTimePolicy.factory(parser, maxOutOfOrderness, idleTimeout, Clock.system()))
                .commitOffsetsInFinalize())
        .apply("ToRawRecords", ParDo.of(new ToRawRecordFn()))
        .setCoder(RawRecord.RawRecordCoder.of())
        .apply(
            "KeyBySourcePartition",
            WithKeys.of((RawRecord r) -> r.sourceTopic() + "/" + r.sourcePartition())
                .withKeyType(TypeDescriptors.strings()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), RawRecord.RawRecordCoder.of()))
        .apply("DropRereadRecords", ParDo.of(new DropRereadsFn()))
        .setCoder(RawRecord.RawRecordCoder.of());
  }

  /**
   * Passes each offset of a partition once. Beam 2.62's FlinkRunner re-creates a source's splits
   * when a job is restored from a checkpoint or savepoint, next to the restored ones, so every
   * partition is then read twice (apache/beam#31313, #34890; measured by {@code FlinkRecoveryIT}:
   * each rejected record of the restored run reached the dead-letter topic twice). Each reader
   * reads a partition in offset order, so keeping the highest offset passed per partition (in
   * checkpointed state, consistent with the source's restored offsets) and dropping anything at or
   * below it lets each record through exactly once, whichever reader delivers it first.
   */
  static class DropRereadsFn extends DoFn<KV<String, RawRecord>, RawRecord> {
    private final Counter dropped = SessionizeMetrics.counter("source_rereads_dropped");

    @StateId("highest")
    private final StateSpec<ValueState<Long>> highestSpec = StateSpecs.value(VarLongCoder.of());

    @ProcessElement
    public void process(
        @Element KV<String, RawRecord> element,
        @StateId("highest") ValueState<Long> highest,
        OutputReceiver<RawRecord> out) {
      long offset = element.getValue().sourceOffset();
      Long seen = highest.read();
      if (seen != null && offset <= seen) {
        dropped.inc();
        return;
      }
      highest.write(offset);
      out.output(element.getValue());
    }
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
              record.getOffset(),
              // Kafka's NO_TIMESTAMP (-1) and any other negative value: none.
              record.getTimestamp() < 0 ? null : new Instant(record.getTimestamp())));
    }
  }
}
