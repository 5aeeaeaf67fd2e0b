package dev.sessionize.pipeline.kafka;

import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.MapCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.kafka.KafkaIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.SetState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupIntoBatches;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * Dead letters to a Kafka topic: the spec's JSON record, keyed by {@code user_id} where known.
 *
 * <p>At-least-once by default (KafkaIO's writer). With a sink group ({@code
 * --deadLetterExactlyOnce}) exactly once, also after a restore of an older checkpoint or savepoint:
 * batches of dead letters are written in Kafka transactions by one writer whose input is stable
 * ({@code @RequiresStableInput}: the runner replays the same batches after a failure), each record
 * carrying its source position, and after any restore the writer reads back what it committed since
 * the restored checkpoint and skips those positions ({@link DeadLetterTransactions}). Readers use
 * {@code isolation.level=read_committed}.
 *
 * <p>KafkaIO's own exactly-once sink was used before; it numbers records in the order they reach it
 * and, after a restore, skips every number the topic already holds. After a rollback to an older
 * checkpoint the replayed dead letters and the new ones reach it in another order, so new dead
 * letters took numbers that were already written and were dropped while replayed ones were written
 * twice ({@code FlinkRecoveryIT}, the older checkpoint: {@code committed id 89 is ahead of expected
 * 64. 25 records will be dropped}, seven dead letters twice).
 */
public class WriteDeadLettersToKafka extends PTransform<PCollection<DeadLetter>, PDone> {
  private final String bootstrapServers;
  private final String topic;
  private final @Nullable String exactlyOnceGroup;
  private final KafkaClientProperties clientProperties;
  private final DeadLetterPayloads payloads;

  private WriteDeadLettersToKafka(
      String bootstrapServers,
      String topic,
      @Nullable String exactlyOnceGroup,
      KafkaClientProperties clientProperties,
      DeadLetterPayloads payloads) {
    this.clientProperties = clientProperties;
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.exactlyOnceGroup = exactlyOnceGroup;
    this.payloads = payloads;
  }

  /**
   * Dead letters to {@code topic}, at least once; payloads too big for the topic are kept under
   * {@code warehouse} ({@link #withPayloadsUnder}).
   */
  public static WriteDeadLettersToKafka to(String bootstrapServers, String topic) {
    return new WriteDeadLettersToKafka(
        bootstrapServers,
        topic,
        null,
        KafkaClientProperties.of(null),
        new DeadLetterPayloads("warehouse"));
  }

  /** Exactly once, in Kafka transactions of this group committed with the checkpoints. */
  public WriteDeadLettersToKafka withExactlyOnce(String transactionGroup) {
    return new WriteDeadLettersToKafka(
        bootstrapServers, topic, transactionGroup, clientProperties, payloads);
  }

  /** Client settings (security, SASL, TLS) for the producers and the admin client. */
  public WriteDeadLettersToKafka withClientProperties(KafkaClientProperties properties) {
    return new WriteDeadLettersToKafka(
        bootstrapServers, topic, exactlyOnceGroup, properties, payloads);
  }

  /** Payloads too big for the topic go to {@code <warehouse>/dead-letter-payloads/}. */
  public WriteDeadLettersToKafka withPayloadsUnder(String warehouse) {
    return new WriteDeadLettersToKafka(
        bootstrapServers,
        topic,
        exactlyOnceGroup,
        clientProperties,
        new DeadLetterPayloads(warehouse));
  }

  @Override
  public PDone expand(PCollection<DeadLetter> deadLetters) {
    PCollection<DeadLetterTransactions.Letter> letters =
        deadLetters
            .apply(
                "ToRecords",
                ParDo.of(new ToRecordFn(bootstrapServers, topic, clientProperties, payloads)))
            .setCoder(LetterCoder.INSTANCE);
    if (exactlyOnceGroup == null) {
      letters
          .apply(
              "KeyByUser",
              MapElements.into(
                      TypeDescriptors.kvs(
                          TypeDescriptor.of(byte[].class), TypeDescriptor.of(byte[].class)))
                  .via((DeadLetterTransactions.Letter l) -> KV.of(l.key(), l.value())))
          .setCoder(KvCoder.of(NullableCoder.of(ByteArrayCoder.of()), ByteArrayCoder.of()))
          .apply(
              "WriteKafka",
              KafkaIO.<byte[], byte[]>write()
                  .withBootstrapServers(bootstrapServers)
                  .withTopic(topic)
                  .withKeySerializer(ByteArraySerializer.class)
                  .withValueSerializer(ByteArraySerializer.class)
                  .withProducerFactoryFn(
                      new SizedProducers(bootstrapServers, topic, clientProperties)));
      return PDone.in(deadLetters.getPipeline());
    }
    letters
        .apply("InGlobalWindow", Window.<DeadLetterTransactions.Letter>into(new GlobalWindows()))
        .apply("OneWriter", WithKeys.of(0))
        .setCoder(KvCoder.of(VarIntCoder.of(), LetterCoder.INSTANCE))
        .apply(
            "Batch",
            GroupIntoBatches.<Integer, DeadLetterTransactions.Letter>ofSize(1_000)
                .withMaxBufferingDuration(Duration.millis(500)))
        .apply(
            "WriteInTransactions",
            ParDo.of(
                new TransactionalWriteFn(
                    bootstrapServers, topic, exactlyOnceGroup, clientProperties)));
    return PDone.in(deadLetters.getPipeline());
  }

  /**
   * A dead letter as the record the sink writes: its source position, its key and the spec's JSON,
   * or the JSON with a reference to its payload kept in a file when it is too big for the topic.
   */
  static final class ToRecordFn extends DoFn<DeadLetter, DeadLetterTransactions.Letter> {
    private final Counter kept = SessionizeMetrics.counter("dead_letter_payloads_in_files");
    private final String bootstrapServers;
    private final String topic;
    private final KafkaClientProperties clientProperties;
    private final DeadLetterPayloads payloads;
    private transient int inline;

    ToRecordFn(
        String bootstrapServers,
        String topic,
        KafkaClientProperties clientProperties,
        DeadLetterPayloads payloads) {
      this.bootstrapServers = bootstrapServers;
      this.topic = topic;
      this.clientProperties = clientProperties;
      this.payloads = payloads;
    }

    @Setup
    public void setup() {
      inline =
          DeadLetterTopic.inlineBytes(
              DeadLetterTopic.recordLimit(bootstrapServers, topic, clientProperties));
    }

    @ProcessElement
    public void process(@Element DeadLetter d, OutputReceiver<DeadLetterTransactions.Letter> out) {
      byte[] key = d.userId() == null ? null : d.userId().getBytes(StandardCharsets.UTF_8);
      byte[] value = d.toJson().getBytes(StandardCharsets.UTF_8);
      if ((long) value.length + (key == null ? 0 : key.length) > inline) {
        value = payloads.toJsonWithReference(d).getBytes(StandardCharsets.UTF_8);
        kept.inc();
      }
      out.output(
          new DeadLetterTransactions.Letter(
              d.sourceTopic() + "/" + d.sourcePartition() + "/" + d.sourceOffset(), key, value));
    }
  }

  /**
   * KafkaIO's producer factory: the job's client settings, sized for the topic's largest record.
   */
  static final class SizedProducers
      implements SerializableFunction<Map<String, Object>, Producer<byte[], byte[]>> {
    private static final long serialVersionUID = 1L;
    private final String bootstrapServers;
    private final String topic;
    private final KafkaClientProperties clientProperties;

    SizedProducers(String bootstrapServers, String topic, KafkaClientProperties clientProperties) {
      this.bootstrapServers = bootstrapServers;
      this.topic = topic;
      this.clientProperties = clientProperties;
    }

    @Override
    public Producer<byte[], byte[]> apply(Map<String, Object> config) {
      Map<String, Object> merged = new HashMap<>(clientProperties.merge(config));
      merged.putAll(
          DeadLetterTopic.producerSizes(
              DeadLetterTopic.recordLimit(bootstrapServers, topic, clientProperties)));
      return new KafkaProducer<>(merged);
    }
  }

  /**
   * Writes each batch in a Kafka transaction (see the class comment). State: the topic's end
   * offsets after the last commit, and the positions read back after a restore that are still to be
   * skipped.
   */
  static final class TransactionalWriteFn
      extends DoFn<KV<Integer, Iterable<DeadLetterTransactions.Letter>>, Void> {
    private final Counter skipped = SessionizeMetrics.counter("dead_letters_already_written");
    private final Counter written = SessionizeMetrics.counter("dead_letters_written");
    private final String bootstrapServers;
    private final String topic;
    private final String group;
    private final KafkaClientProperties clientProperties;
    private transient @Nullable DeadLetterTransactions kafka;

    @StateId("ends")
    private final StateSpec<ValueState<Map<Integer, Long>>> endsSpec =
        StateSpecs.value(MapCoder.of(VarIntCoder.of(), VarLongCoder.of()));

    @StateId("alreadyWritten")
    private final StateSpec<SetState<String>> alreadyWrittenSpec =
        StateSpecs.set(StringUtf8Coder.of());

    TransactionalWriteFn(
        String bootstrapServers,
        String topic,
        String group,
        KafkaClientProperties clientProperties) {
      this.bootstrapServers = bootstrapServers;
      this.topic = topic;
      this.group = group;
      this.clientProperties = clientProperties;
    }

    @RequiresStableInput
    @ProcessElement
    public void process(
        @Element KV<Integer, Iterable<DeadLetterTransactions.Letter>> batch,
        @StateId("ends") ValueState<Map<Integer, Long>> ends,
        @StateId("alreadyWritten") SetState<String> alreadyWritten) {
      if (kafka == null) {
        Map<String, Object> client = new HashMap<>();
        client.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        client = clientProperties.merge(client);
        DeadLetterTransactions opened =
            DeadLetterTransactions.open(
                topic,
                group,
                client,
                DeadLetterTopic.producerSizes(
                    DeadLetterTopic.recordLimit(bootstrapServers, topic, clientProperties)));
        try {
          // First batch of this worker: after a restore, the dead letters committed since the
          // restored checkpoint are already in the topic.
          Map<Integer, Long> from = ends.read();
          if (from == null) {
            ends.write(opened.endOffsets());
          } else {
            opened.writtenSince(from).forEach(alreadyWritten::add);
          }
        } catch (RuntimeException e) {
          opened.close();
          throw e;
        }
        kafka = opened;
      }
      Map<Integer, Long> after;
      try {
        after =
            kafka.write(
                batch.getValue(),
                position -> {
                  if (Boolean.TRUE.equals(alreadyWritten.contains(position).read())) {
                    alreadyWritten.remove(position);
                    skipped.inc();
                    return true;
                  }
                  written.inc();
                  return false;
                });
      } catch (RuntimeException e) {
        kafka.close();
        kafka = null;
        throw e;
      }
      Map<Integer, Long> now = new HashMap<>(ends.read() == null ? Map.of() : ends.read());
      after.forEach((partition, end) -> now.merge(partition, end, Math::max));
      ends.write(now);
    }

    @Teardown
    public void teardown() {
      if (kafka != null) {
        kafka.close();
        kafka = null;
      }
    }
  }

  /** Position, key (may be null) and value of a dead-letter record. */
  static final class LetterCoder extends CustomCoder<DeadLetterTransactions.Letter> {
    static final LetterCoder INSTANCE = new LetterCoder();

    @Override
    public void encode(DeadLetterTransactions.Letter l, OutputStream out) throws IOException {
      Wire.writeString(l.position(), out);
      Wire.writeBoolean(l.key() != null, out);
      if (l.key() != null) {
        Wire.writeBytes(l.key(), out);
      }
      Wire.writeBytes(l.value(), out);
    }

    @Override
    public DeadLetterTransactions.Letter decode(InputStream in) throws IOException {
      String position = Wire.readString(in);
      byte[] key = Wire.readBoolean(in) ? Wire.readBytes(in) : null;
      return new DeadLetterTransactions.Letter(position, key, Wire.readBytes(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
