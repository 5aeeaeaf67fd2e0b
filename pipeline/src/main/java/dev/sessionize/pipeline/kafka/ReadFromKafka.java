package dev.sessionize.pipeline.kafka;

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
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Kafka source: the raw record values of a topic with their topic, partition and offset, stamped
 * with event time by {@link EventTimePolicy}; offsets are committed to the consumer group when a
 * checkpoint finalizes.
 *
 * <p><b>Restores on Beam 2.62's FlinkRunner.</b> When a job is restored from a checkpoint or a
 * savepoint, the runner's split enumerator splits the source again and hands each subtask a fresh
 * split next to the restored one (apache/beam#31313, #34890, fixed upstream after 2.62 in a runner
 * version that is not served here). The fresh split has no checkpoint mark, so its reader starts
 * where the consumer group's committed offsets are; once the restored job has run on, only the
 * fresh reader's position is checkpointed and only its watermark is emitted for that split. After a
 * restore of the latest checkpoint the committed offsets are at or behind the restored ones, and
 * the extra reader only reads again what was read. After a restore of an <em>older</em> checkpoint
 * or savepoint they are ahead (the run after it committed further): the fresh reader would skip the
 * records between the two positions, its watermark would make the restored reader's copies of them
 * late, and its position, not the restored one, would go into the next checkpoint.
 *
 * <p>The fix is to make the extra reader start where the restored one does. KafkaIO's reader seeks
 * its consumer to the checkpointed offset of each partition before it reads anything, and only
 * then; the job's consumers ({@link CommitRestoredOffsets}) commit that offset to the consumer
 * group at the seek, so a fresh reader created after it (the runner creates the restored reader
 * first, in the same subtask) starts from the same offset. Both readers then deliver the same
 * records in the same order, and {@link DropRereadsFn} passes each offset once, in offset order.
 * (Keeping the set of offset ranges passed instead would deliver every record once too, but out of
 * offset order, with the fresh reader's watermark ahead of the records the restored one still has
 * to deliver: they would be judged late.) A first start does not seek, commits nothing and starts
 * from the group's committed offsets ({@code --startingOffsets} for a new group) as before.
 *
 * <p>Limit: when a job is restored with a different parallelism, a restored split and its fresh
 * twin can land in different subtasks, where the order of the two starts is not guaranteed; restore
 * at the parallelism the checkpoint was taken with (rescale once the restored job has completed a
 * checkpoint, from a savepoint of it).
 */
public class ReadFromKafka extends PTransform<PBegin, PCollection<RawRecord>> {
  private final String bootstrapServers;
  private final String topic;
  private String groupId = "sessionize";
  private String startingOffsets = "earliest";
  private EventParser parser = new EventParser(65_536, Duration.standardMinutes(5));
  private Duration maxOutOfOrderness = Duration.standardMinutes(5);
  private Duration idleTimeout = Duration.standardMinutes(1);
  private KafkaClientProperties clientProperties = KafkaClientProperties.of(null);

  private ReadFromKafka(String bootstrapServers, String topic) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
  }

  /** The records of {@code topic} on {@code bootstrapServers}; the other settings by default. */
  public static ReadFromKafka from(String bootstrapServers, String topic) {
    return new ReadFromKafka(bootstrapServers, topic);
  }

  private ReadFromKafka copy() {
    ReadFromKafka c = new ReadFromKafka(bootstrapServers, topic);
    c.groupId = groupId;
    c.startingOffsets = startingOffsets;
    c.parser = parser;
    c.maxOutOfOrderness = maxOutOfOrderness;
    c.idleTimeout = idleTimeout;
    c.clientProperties = clientProperties;
    return c;
  }

  /**
   * The consumer group whose committed offsets a start resumes from, and where a new group starts:
   * {@code earliest} or {@code latest}.
   */
  public ReadFromKafka withConsumerGroup(String groupId, String startingOffsets) {
    ReadFromKafka c = copy();
    c.groupId = groupId;
    c.startingOffsets = startingOffsets;
    return c;
  }

  /**
   * Event time at the source: the parser whose event times stamp the records (the parse step's
   * rules), how far the watermark stays behind the newest event time seen, and after how long
   * without records a partition stops holding the watermark back.
   */
  public ReadFromKafka withEventTime(
      EventParser parser, Duration maxOutOfOrderness, Duration idleTimeout) {
    ReadFromKafka c = copy();
    c.parser = parser;
    c.maxOutOfOrderness = maxOutOfOrderness;
    c.idleTimeout = idleTimeout;
    return c;
  }

  /** Client settings (security, SASL, TLS) for the consumers. */
  public ReadFromKafka withClientProperties(KafkaClientProperties clientProperties) {
    ReadFromKafka c = copy();
    c.clientProperties = clientProperties;
    return c;
  }

  /** KafkaIO's read of the topic: raw bytes, event time, offsets committed on finalize. */
  KafkaIO.Read<byte[], byte[]> read() {
    return KafkaIO.<byte[], byte[]>read()
        .withBootstrapServers(bootstrapServers)
        .withTopic(topic)
        .withKeyDeserializer(ByteArrayDeserializer.class)
        .withValueDeserializer(ByteArrayDeserializer.class)
        .withConsumerConfigUpdates(
            Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, groupId,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, startingOffsets))
        .withConsumerFactoryFn(new CommitRestoredOffsets(clientProperties, groupId))
        .withTimestampPolicyFactory(
            EventTimePolicy.factory(parser, maxOutOfOrderness, idleTimeout, Clock.system()))
        .commitOffsetsInFinalize();
  }

  @Override
  public PCollection<RawRecord> expand(PBegin input) {
    return input
        .apply("ReadKafka", read())
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
   * Passes each offset of a partition once. After a restore, Beam 2.62's FlinkRunner reads every
   * partition with two readers (see the class comment; measured by {@code FlinkRecoveryIT}: each
   * rejected record of the restored run reached the dead-letter topic twice). Both start at the
   * restored offset and read the partition in offset order, so keeping the highest offset passed
   * per partition (in checkpointed state, consistent with the source's restored offsets) and
   * dropping anything at or below it lets each record through exactly once, in offset order,
   * whichever reader delivers it first. The drops are counted in {@code source_rereads_dropped}.
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

  /**
   * KafkaIO's consumer factory for the job's group: consumers with the settings of {@code
   * --kafkaPropertiesFile} that commit the offset of every seek to the group (see the class
   * comment). KafkaIO's other consumers (the one that lists partitions, the one that fetches end
   * offsets, in a group of their own) get plain consumers.
   */
  static final class CommitRestoredOffsets
      implements SerializableFunction<Map<String, Object>, Consumer<byte[], byte[]>> {
    private static final long serialVersionUID = 1L;
    private final KafkaClientProperties clientProperties;
    private final String groupId;

    CommitRestoredOffsets(KafkaClientProperties clientProperties, String groupId) {
      this.clientProperties = clientProperties;
      this.groupId = groupId;
    }

    @Override
    public Consumer<byte[], byte[]> apply(Map<String, Object> config) {
      Map<String, Object> merged = clientProperties.merge(config);
      return groupId.equals(merged.get(ConsumerConfig.GROUP_ID_CONFIG))
          ? new SeekCommittingConsumer(merged)
          : new KafkaConsumer<>(merged);
    }
  }

  /**
   * A consumer that commits the offset it is sought to, synchronously, before it returns: KafkaIO's
   * reader seeks only when it resumes from a checkpoint mark, so the group's committed offsets
   * become the restored ones before any record is read. Public for KafkaIO's SpEL calls.
   */
  public static final class SeekCommittingConsumer extends KafkaConsumer<byte[], byte[]> {
    SeekCommittingConsumer(Map<String, Object> config) {
      super(config);
    }

    @Override
    public void seek(TopicPartition partition, long offset) {
      super.seek(partition, offset);
      commitSync(Map.of(partition, new OffsetAndMetadata(offset)));
    }

    @Override
    public void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata) {
      super.seek(partition, offsetAndMetadata);
      commitSync(Map.of(partition, offsetAndMetadata));
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
