package dev.sessionize.pipeline.kafka;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.transforms.EventParser;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.beam.sdk.io.UnboundedSource;
import org.apache.beam.sdk.io.kafka.KafkaCheckpointMark;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.joda.time.Duration;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link ReadFromKafka}'s readers against a real broker, driven the way Beam 2.62's FlinkRunner
 * drives them when it restores a job (apache/beam#31313): the source is split, the restored split's
 * reader resumes from its checkpoint mark, and then a second, fresh reader of the same partitions
 * is created without one. After a restore of an older checkpoint the consumer group's committed
 * offsets are ahead of the checkpoint; the fresh reader must still start where the restored one
 * does, and a first start (no checkpoint at all) must still start at the committed offsets.
 */
@RunWith(JUnit4.class)
public class ReadFromKafkaIT {
  private static final String TOPIC = "restore_events";
  private static final String GROUP = "restore-it";
  private static LocalKafka kafka;

  @BeforeClass
  public static void startBroker() throws Exception {
    kafka = LocalKafka.start();
    kafka.createTopic(TOPIC, 1);
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      values.add(("record " + i).getBytes(StandardCharsets.UTF_8));
    }
    kafka.produce(TOPIC, 1, values);
  }

  @AfterClass
  public static void stopBroker() throws IOException {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  public void theExtraReaderOfARestoreStartsWhereTheRestoredReaderDoes() throws Exception {
    PipelineOptions options = PipelineOptionsFactory.create();
    UnboundedSource<KafkaRecord<byte[], byte[]>, KafkaCheckpointMark> source = source(GROUP);
    // The run after the checkpoint read on and committed up to offset 30.
    commit(GROUP, 30);

    // The restored split resumes at its checkpoint: offset 12 is the next one to read.
    UnboundedSource.UnboundedReader<KafkaRecord<byte[], byte[]>> restored =
        source.createReader(
            options,
            new KafkaCheckpointMark(
                List.of(new KafkaCheckpointMark.PartitionMark(TOPIC, 0, 12L, -1L)),
                Optional.empty()));
    // Then the runner's extra reader of the same split, without a checkpoint mark.
    UnboundedSource.UnboundedReader<KafkaRecord<byte[], byte[]>> extra = null;
    try {
      assertEquals(12L, firstOffset(restored));
      extra = source.createReader(options, null);
      assertEquals(
          "the extra reader's first offset (the group had committed 30)", 12L, firstOffset(extra));
      assertEquals(12L, committed(GROUP));
    } finally {
      restored.close();
      if (extra != null) {
        extra.close();
      }
    }
  }

  @Test
  public void aFirstStartReadsFromTheCommittedOffsetsAndCommitsNothing() throws Exception {
    String group = GROUP + "-first";
    UnboundedSource<KafkaRecord<byte[], byte[]>, KafkaCheckpointMark> source = source(group);
    commit(group, 25);
    UnboundedSource.UnboundedReader<KafkaRecord<byte[], byte[]>> reader =
        source.createReader(PipelineOptionsFactory.create(), null);
    try {
      assertEquals(25L, firstOffset(reader));
      assertEquals(25L, committed(group));
    } finally {
      reader.close();
    }
  }

  /** The one split of the job's KafkaIO source for this topic and group. */
  @SuppressWarnings("unchecked")
  private static UnboundedSource<KafkaRecord<byte[], byte[]>, KafkaCheckpointMark> source(
      String group) throws Exception {
    ReadFromKafka read =
        ReadFromKafka.from(kafka.bootstrapServers(), TOPIC)
            .withConsumerGroup(group, "earliest")
            .withEventTime(
                new EventParser(65_536, Duration.standardMinutes(5)),
                Duration.standardMinutes(5),
                Duration.standardHours(1))
            .withClientProperties(KafkaClientProperties.of(null));
    // KafkaIO.Read#makeSource is what the runner translates the read into; it is package-private.
    Method makeSource =
        org.apache.beam.sdk.io.kafka.KafkaIO.Read.class.getDeclaredMethod("makeSource");
    makeSource.setAccessible(true);
    UnboundedSource<KafkaRecord<byte[], byte[]>, KafkaCheckpointMark> whole =
        (UnboundedSource<KafkaRecord<byte[], byte[]>, KafkaCheckpointMark>)
            makeSource.invoke(read.read());
    List<? extends UnboundedSource<KafkaRecord<byte[], byte[]>, KafkaCheckpointMark>> splits =
        whole.split(1, PipelineOptionsFactory.create());
    assertEquals(1, splits.size());
    return splits.get(0);
  }

  /** Starts the reader and advances it until it has a record; that record's offset. */
  private static long firstOffset(
      UnboundedSource.UnboundedReader<KafkaRecord<byte[], byte[]>> reader)
      throws IOException, InterruptedException {
    boolean available = reader.start();
    long deadline = System.currentTimeMillis() + 60_000;
    while (!available) {
      assertTrue("no record within a minute", System.currentTimeMillis() < deadline);
      Thread.sleep(50);
      available = reader.advance();
    }
    return reader.getCurrent().getOffset();
  }

  private static void commit(String group, long offset) throws Exception {
    try (Admin admin = admin()) {
      admin
          .alterConsumerGroupOffsets(
              group, Map.of(new TopicPartition(TOPIC, 0), new OffsetAndMetadata(offset)))
          .all()
          .get();
    }
  }

  private static long committed(String group) throws Exception {
    try (Admin admin = admin()) {
      return admin
          .listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata()
          .get()
          .get(new TopicPartition(TOPIC, 0))
          .offset();
    }
  }

  private static Admin admin() {
    return Admin.create(
        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
  }
}
