package dev.sessionize.pipeline.kafka;

import dev.sessionize.transforms.SessionizeMetrics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka side of the exactly-once dead-letter sink: one transactional producer for the job's
 * sink group, whose records carry the source position of the record they reject (header {@value
 * #SOURCE}) and the sink group (header {@value #WRITER}).
 *
 * <p>A dead letter is identified by its source position (topic, partition, offset: a record is
 * rejected at most once), not by the order it reaches the sink in. The sink's checkpointed state
 * holds the topic's end offsets after its last commit; after any restore, {@link #writtenSince}
 * reads the topic from there (committed records only) and returns the positions this sink wrote
 * since, which the restored job then skips. That covers both a crash after a commit that the
 * checkpoint did not see and a rollback to an older checkpoint or savepoint, whatever order the
 * replayed and the new dead letters arrive in. {@link #open} fences any older producer of the group
 * (a zombie of the previous run), whose open transaction Kafka then aborts.
 *
 * <p>An unreachable broker is waited out for up to a maximum outage ({@link #MAX_OUTAGE} by
 * default): a commit that timed out is retried (Kafka's producer resumes the pending commit; it
 * refuses to abort it), and a transaction that failed for a retriable reason (its records expired)
 * is aborted and written again, the letters to skip decided once. Past the maximum outage, or on a
 * fatal error (fenced), the producer is closed with a timeout and the write fails: the runner
 * retries the batch from its last checkpoint with a new instance, whose {@link #writtenSince} finds
 * whatever the failed transaction did commit. Nothing here waits without a bound.
 */
final class DeadLetterTransactions implements AutoCloseable {
  static final String SOURCE = "sessionize.source";
  static final String WRITER = "sessionize.writer";
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterTransactions.class);
  private static final Duration POLL = Duration.ofMillis(500);
  private static final Duration READ_BACK_LIMIT = Duration.ofMinutes(10);

  /**
   * How long a write waits out an unreachable broker before it fails; below the production preset's
   * checkpoint timeout (10 minutes), which a write in progress holds back.
   */
  static final Duration MAX_OUTAGE = Duration.ofMinutes(5);

  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(200);
  private static final Duration LAST_BACKOFF = Duration.ofSeconds(5);

  /** One dead letter as the sink writes it. */
  record Letter(String position, byte[] key, byte[] value) {}

  private final String topic;
  private final String group;
  private final Map<String, Object> clientConfig;
  private final Duration maxOutage;
  private final Producer<byte[], byte[]> producer;
  private final Counter retries = SessionizeMetrics.counter("dead_letter_transaction_retries");
  private boolean closed;

  private DeadLetterTransactions(
      String topic,
      String group,
      Map<String, Object> clientConfig,
      Map<String, Object> producer,
      Duration maxOutage) {
    this.topic = topic;
    this.group = group;
    this.clientConfig = clientConfig;
    this.maxOutage = maxOutage;
    this.producer =
        new KafkaProducer<>(producer, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * The transactional producer of {@code group} on {@code topic}, ready: older producers of the
   * group are fenced. {@code clientConfig} holds the bootstrap servers and client settings, {@code
   * producerConfig} the producer's own (sizes).
   */
  static DeadLetterTransactions open(
      String topic,
      String group,
      Map<String, Object> clientConfig,
      Map<String, Object> producerConfig) {
    return open(topic, group, clientConfig, producerConfig, MAX_OUTAGE);
  }

  /** {@link #open} whose writes wait out an unreachable broker for up to {@code maxOutage}. */
  static DeadLetterTransactions open(
      String topic,
      String group,
      Map<String, Object> clientConfig,
      Map<String, Object> producerConfig,
      Duration maxOutage) {
    Map<String, Object> config = new HashMap<>(clientConfig);
    config.putAll(producerConfig);
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, group + "-" + topic);
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    DeadLetterTransactions t =
        new DeadLetterTransactions(topic, group, clientConfig, config, maxOutage);
    try {
      t.producer.initTransactions();
    } catch (RuntimeException e) {
      t.producer.close(Duration.ZERO);
      throw e;
    }
    return t;
  }

  /** The topic's end offsets of committed records, by partition. */
  Map<Integer, Long> endOffsets() {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      List<TopicPartition> partitions = partitions(consumer);
      Map<Integer, Long> ends = new HashMap<>();
      consumer.endOffsets(partitions).forEach((tp, end) -> ends.put(tp.partition(), end));
      return ends;
    }
  }

  /**
   * The source positions of the dead letters this group committed at or after {@code from} (end
   * offsets by partition; a partition missing is read from its start). Meant for a new instance:
   * {@link #open} returns once the group's earlier transactions are complete, so their records are
   * below the end offsets read here (right after a commit of this instance they may not be yet).
   */
  Set<String> writtenSince(Map<Integer, Long> from) {
    Set<String> written = new HashSet<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      List<TopicPartition> partitions = partitions(consumer);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      consumer.assign(partitions);
      for (TopicPartition tp : partitions) {
        long start = Math.min(from.getOrDefault(tp.partition(), 0L), ends.get(tp));
        consumer.seek(tp, start);
      }
      Predicate<TopicPartition> behind = tp -> consumer.position(tp) < ends.get(tp);
      long records = 0;
      long deadline = System.nanoTime() + READ_BACK_LIMIT.toNanos();
      while (partitions.stream().anyMatch(behind)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "reading back " + topic + " from " + from + " took over " + READ_BACK_LIMIT);
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
          records++;
          Header writer = r.headers().lastHeader(WRITER);
          Header source = r.headers().lastHeader(SOURCE);
          if (writer != null
              && source != null
              && group.equals(new String(writer.value(), StandardCharsets.UTF_8))) {
            written.add(new String(source.value(), StandardCharsets.UTF_8));
          }
        }
      }
      LOG.info(
          "{}: read back {} records of {} since {}: {} dead letters of {} already written",
          group,
          records,
          topic,
          from,
          written.size(),
          group);
    }
    return written;
  }

  /**
   * Writes {@code letters} in one transaction, leaving out those whose position is {@code
   * alreadyWritten} (asked once per letter); returns the end offsets after it by partition (the
   * partitions written to). Waits out an unreachable broker for up to the maximum outage (see the
   * class comment); when it throws, the transaction was aborted or the producer closed, and a
   * closed instance only refuses further writes.
   */
  Map<Integer, Long> write(Iterable<Letter> letters, Predicate<String> alreadyWritten) {
    if (closed) {
      throw new IllegalStateException(
          group + ": the dead-letter producer was closed after a failed transaction");
    }
    long deadline = System.nanoTime() + maxOutage.toNanos();
    Iterator<Letter> undecided = letters.iterator();
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    Duration backoff = FIRST_BACKOFF;
    for (int attempt = 1; ; attempt++) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      try {
        producer.beginTransaction();
        for (ProducerRecord<byte[], byte[]> r : records) {
          sent.add(producer.send(r));
        }
        while (undecided.hasNext()) {
          Letter l = undecided.next();
          if (alreadyWritten.test(l.position())) {
            continue;
          }
          ProducerRecord<byte[], byte[]> r = record(l);
          records.add(r);
          sent.add(producer.send(r));
        }
        commit(deadline);
      } catch (KafkaException e) {
        abortOrClose(deadline, e);
        if (!retriable(e) || System.nanoTime() > deadline) {
          throw e;
        }
        retries.inc();
        if (attempt == 1) {
          LOG.warn(
              "{}: a dead-letter transaction failed ({}); aborted, writing it again for up to {}",
              group,
              e.toString(),
              maxOutage);
        }
        sleep(backoff, deadline);
        backoff =
            backoff.multipliedBy(2).compareTo(LAST_BACKOFF) > 0
                ? LAST_BACKOFF
                : backoff.multipliedBy(2);
        continue;
      }
      if (attempt > 1) {
        LOG.info("{}: the dead-letter transaction committed at attempt {}", group, attempt);
      }
      return ends(sent);
    }
  }

  private ProducerRecord<byte[], byte[]> record(Letter l) {
    return new ProducerRecord<>(
        topic,
        null,
        l.key(),
        l.value(),
        List.of(
            new RecordHeader(SOURCE, l.position().getBytes(StandardCharsets.UTF_8)),
            new RecordHeader(WRITER, group.getBytes(StandardCharsets.UTF_8))));
  }

  /**
   * Commits, retrying a commit that timed out until {@code deadline}: the producer resumes the
   * pending commit, and refuses anything else until it completes.
   */
  private void commit(long deadline) {
    while (true) {
      try {
        producer.commitTransaction();
        return;
      } catch (TimeoutException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        retries.inc();
      }
    }
  }

  /**
   * Aborts the failed transaction, retrying an abort that timed out until {@code deadline}; returns
   * when it is aborted. When it cannot be (a commit timed out for good and cannot be aborted, a
   * fatal error, the deadline passed), closes the producer with a timeout (the broker aborts the
   * transaction when the next producer of the group opens, unless it was committed) and throws.
   */
  private void abortOrClose(long deadline, KafkaException failure) {
    while (true) {
      try {
        producer.abortTransaction();
        return;
      } catch (TimeoutException e) {
        if (System.nanoTime() <= deadline) {
          continue;
        }
        failure.addSuppressed(e);
      } catch (KafkaException | IllegalStateException e) {
        failure.addSuppressed(e);
      }
      close();
      throw new KafkaException(
          group
              + ": a dead-letter transaction failed and could not be aborted (fenced, or its"
              + " commit still pending after "
              + maxOutage
              + "); its producer is closed and the batch fails, to be retried from the last"
              + " checkpoint",
          failure);
    }
  }

  /** A failure that another attempt may not see: a timeout, a broker away, its records expired. */
  private static boolean retriable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RetriableException) {
        return true;
      }
    }
    return false;
  }

  private static void sleep(Duration backoff, long deadline) {
    long nanos = Math.min(backoff.toNanos(), Math.max(0, deadline - System.nanoTime()));
    try {
      Thread.sleep(nanos / 1_000_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted between dead-letter transactions", e);
    }
  }

  private static Map<Integer, Long> ends(List<Future<RecordMetadata>> sent) {
    Map<Integer, Long> ends = new HashMap<>();
    for (Future<RecordMetadata> f : sent) {
      try {
        RecordMetadata m = f.get();
        ends.merge(m.partition(), m.offset() + 1, Math::max);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted after a commit", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("a committed send failed", e.getCause());
      }
    }
    return ends;
  }

  private KafkaConsumer<byte[], byte[]> consumer() {
    Map<String, Object> config = new HashMap<>(clientConfig);
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.remove(ConsumerConfig.GROUP_ID_CONFIG);
    return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> consumer) {
    List<TopicPartition> partitions = new ArrayList<>();
    List<PartitionInfo> infos = consumer.partitionsFor(topic);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("the dead-letter topic " + topic + " does not exist");
    }
    for (PartitionInfo p : infos) {
      partitions.add(new TopicPartition(topic, p.partition()));
    }
    return partitions;
  }

  /** Closes the producer, waiting for it at most a few seconds; once. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      producer.close(CLOSE_TIMEOUT);
    }
  }
}
