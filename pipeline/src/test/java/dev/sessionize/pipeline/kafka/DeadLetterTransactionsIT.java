package dev.sessionize.pipeline.kafka;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.sessionize.runners.servers.LocalKafka;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link DeadLetterTransactions} against a real broker: after a rollback to an older state, the
 * dead letters committed since are read back by source position and skipped, whatever order the
 * replay brings them in, while new ones are written; the previous producer is fenced; another
 * writer's records do not count. The broker stopped in the middle of a transaction for longer than
 * the producer's timeouts and started again on its ports and log folder: the writer waits it out
 * within its maximum outage, or fails the batch and closes its producer without hanging; either way
 * each dead letter is committed once.
 */
@RunWith(JUnit4.class)
public class DeadLetterTransactionsIT {
  private static final String TOPIC = "dlq_transactions";

  /**
   * How long the broker stays down at least in the outage tests: above each of the producer's
   * timeouts below.
   */
  private static final Duration OUTAGE = Duration.ofSeconds(8);

  /**
   * A writer that has not come back after this long is stuck (before the fix it never came back:
   * its producer's close waited forever for a commit that had timed out).
   */
  private static final Duration STUCK = Duration.ofMinutes(3);

  private static LocalKafka kafka;

  @BeforeClass
  public static void startBroker() throws Exception {
    kafka = LocalKafka.start();
    kafka.createTopic(TOPIC, 2);
  }

  @AfterClass
  public static void stopBroker() throws IOException {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  public void aRollbackSkipsWhatWasCommittedSinceAndWritesTheRest() throws Exception {
    Map<String, Object> client =
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    DeadLetterTransactions first = DeadLetterTransactions.open(TOPIC, "g", client, Map.of());
    Map<Integer, Long> state = new HashMap<>(first.endOffsets());
    merge(state, first.write(letters(1, 2, 3, 4), p -> false));
    Map<Integer, Long> older = new HashMap<>(state); // the checkpoint restored below
    merge(state, first.write(letters(5, 6, 7, 8), p -> false));
    // Another job's writer on the same topic: its records are not ours to skip.
    try (DeadLetterTransactions other = DeadLetterTransactions.open(TOPIC, "h", client, Map.of())) {
      other.write(letters(9), p -> false);
    }

    // Restored from `older`: the job replays 5..8 (in another order) and brings 9 and 10 as new.
    DeadLetterTransactions restored = DeadLetterTransactions.open(TOPIC, "g", client, Map.of());
    Set<String> written = new TreeSet<>(restored.writtenSince(older));
    assertEquals(positions(5, 6, 7, 8), written);
    restored.write(letters(6, 9, 5, 10, 8, 7), written::remove);
    assertEquals(Set.of(), written);

    // The producer of the run before the restore is fenced: nothing it sends is committed.
    assertThrows(KafkaException.class, () -> first.write(letters(11), p -> false));
    first.close();
    restored.close();

    Map<String, Integer> times = new TreeMap<>();
    for (ConsumerRecord<String, String> r : kafka.readAll(TOPIC, 12, 10_000)) {
      times.merge(r.value(), 1, Integer::sum);
    }
    Map<String, Integer> expected = new TreeMap<>();
    for (int i = 1; i <= 10; i++) {
      expected.put("letter " + i, 1);
    }
    expected.put("letter 9", 2); // once from the other writer, once from this one
    assertEquals(expected, times);
  }

  @Test
  public void aPartitionMissingFromTheStateIsReadFromItsStart() throws Exception {
    String topic = TOPIC + "_grown";
    kafka.createTopic(topic, 2);
    Map<String, Object> client =
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (DeadLetterTransactions t = DeadLetterTransactions.open(topic, "g", client, Map.of())) {
      t.write(letters(1, 2, 3, 4, 5, 6), p -> false);
    }
    // Read back by the next instance, as after a restore (its open completes the transactions).
    try (DeadLetterTransactions t = DeadLetterTransactions.open(topic, "g", client, Map.of())) {
      assertEquals(positions(1, 2, 3, 4, 5, 6), new TreeSet<>(t.writtenSince(Map.of())));
    }
  }

  @Test
  public void anOutageLongerThanTheProducersTimeoutsIsWaitedOutInTheSameWrite() throws Exception {
    String topic = TOPIC + "_outage";
    kafka.createTopic(topic, 2);
    Map<String, Object> client =
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    // The transaction outlives the outage on the broker's side; every client timeout is shorter.
    DeadLetterTransactions t =
        DeadLetterTransactions.open(topic, "g", client, shortTimeouts(Duration.ofMinutes(2)));
    Outage outage = new Outage(topic, new CountDownLatch(0));
    List<DeadLetterTransactions.Letter> batch = letters(range(1, 20));
    try {
      withinStuckLimit(
          "the write during the outage",
          () -> {
            t.write(outage.afterSending(10, batch), p -> false);
            return null;
          });
    } finally {
      outage.awaitBrokerBack();
    }
    // The same producer goes on.
    t.write(letters(21, 22), p -> false);
    t.close();
    assertEquals(once(range(1, 22)), committedValues(topic));
  }

  @Test
  public void anOutageLongerThanTheMaxOutageFailsTheBatchAndItsRetryWritesEachLetterOnce()
      throws Exception {
    String topic = TOPIC + "_long_outage";
    kafka.createTopic(topic, 2);
    Map<String, Object> client =
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    Map<String, Object> producer = shortTimeouts(Duration.ofSeconds(4));
    Duration maxOutage = Duration.ofSeconds(2);
    DeadLetterTransactions t = DeadLetterTransactions.open(topic, "g", client, producer, maxOutage);
    Map<Integer, Long> checkpoint = new HashMap<>(t.endOffsets());
    merge(checkpoint, t.write(letters(range(1, 5)), p -> false));
    // The broker stays down until the write has failed.
    CountDownLatch writeFailed = new CountDownLatch(1);
    Outage outage = new Outage(topic, writeFailed);
    List<DeadLetterTransactions.Letter> batch = letters(range(6, 25));
    // The sink's step fails the batch (so the runner retries it from the checkpoint) and closes the
    // failed producer, as the step does, instead of hanging.
    RuntimeException failed;
    try {
      failed =
          withinStuckLimit(
              "the write during the outage and the close after it",
              () -> {
                RuntimeException e =
                    assertThrows(
                        RuntimeException.class,
                        () -> t.write(outage.afterSending(10, batch), p -> false));
                t.close();
                writeFailed.countDown();
                return e;
              });
    } finally {
      outage.awaitBrokerBack();
    }
    System.out.println("DeadLetterTransactionsIT: the write failed with " + failed);

    // The retry, as after a restore of the checkpoint: a new producer, the letters committed since
    // read back and skipped.
    try (DeadLetterTransactions restored =
        DeadLetterTransactions.open(topic, "g", client, producer, maxOutage)) {
      Set<String> written = new TreeSet<>(restored.writtenSince(checkpoint));
      restored.write(batch, written::remove);
    }
    assertEquals(once(range(1, 25)), committedValues(topic));
  }

  /** The producer's client timeouts of a few seconds, and its transactions' timeout. */
  private static Map<String, Object> shortTimeouts(Duration transactionTimeout) {
    return Map.of(
        ProducerConfig.MAX_BLOCK_MS_CONFIG, 3_000,
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 4_000,
        ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) transactionTimeout.toMillis());
  }

  /**
   * Stops the broker in the middle of a write: once some letters of the transaction are on the
   * broker (uncommitted), for {@link #OUTAGE} and until {@code until} opens, then starts it again
   * on its ports and log folder.
   */
  private static final class Outage {
    private final String topic;
    private final CountDownLatch until;
    private final long before;
    private Thread restarter;
    private volatile Throwable restartFailure;

    Outage(String topic, CountDownLatch until) throws Exception {
      this.topic = topic;
      this.until = until;
      this.before = uncommittedEnd(topic);
    }

    /** {@code letters}, stopping the broker when the writer asks for the one after {@code n}. */
    Iterable<DeadLetterTransactions.Letter> afterSending(
        int n, List<DeadLetterTransactions.Letter> letters) {
      return () ->
          new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
              return next < letters.size();
            }

            @Override
            public DeadLetterTransactions.Letter next() {
              if (next == n) {
                stopForAWhile(n);
              }
              return letters.get(next++);
            }
          };
    }

    private void stopForAWhile(int sent) {
      try {
        long deadline = System.nanoTime() + STUCK.toNanos();
        while (uncommittedEnd(topic) < before + sent) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("the first letters never reached the broker");
          }
          Thread.sleep(200);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      kafka.stop();
      restarter =
          new Thread(
              () -> {
                try {
                  Thread.sleep(OUTAGE.toMillis());
                  until.await(STUCK.toSeconds(), TimeUnit.SECONDS);
                  kafka.restart();
                } catch (Throwable e) {
                  restartFailure = e;
                }
              },
              "broker-restart");
      restarter.start();
    }

    void awaitBrokerBack() throws Exception {
      assertTrue("the broker was stopped", restarter != null);
      restarter.join();
      if (restartFailure != null) {
        throw new AssertionError("the broker did not start again", restartFailure);
      }
    }
  }

  /** The sum of the topic's end offsets, uncommitted records included. */
  private static long uncommittedEnd(String topic) throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < 2; p++) {
        latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      return admin
          .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED))
          .all()
          .get()
          .values()
          .stream()
          .mapToLong(o -> o.offset())
          .sum();
    }
  }

  /**
   * Runs {@code work} on its own thread and fails with that thread's stack if it has not returned
   * after {@link #STUCK}.
   */
  private static <T> T withinStuckLimit(String what, Callable<T> work) throws Exception {
    FutureTask<T> task = new FutureTask<>(work);
    Thread thread = new Thread(task, "writer");
    thread.setDaemon(true);
    thread.start();
    try {
      return task.get(STUCK.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      String stack =
          Arrays.stream(thread.getStackTrace())
              .map(f -> "\n    at " + f)
              .collect(Collectors.joining());
      fail(what + " is stuck after " + STUCK + ":" + stack);
      throw e;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  /**
   * Each committed value of the topic and how many times it is there: every partition read to its
   * end (its last stable offset) by a {@code read_committed} consumer.
   */
  private static Map<String, Integer> committedValues(String topic) {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    Map<String, Integer> times = new TreeMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + STUCK.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
        assertTrue("reading " + topic + " back", System.nanoTime() < deadline);
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          times.merge(new String(r.value(), StandardCharsets.UTF_8), 1, Integer::sum);
        }
      }
    }
    return times;
  }

  private static Map<String, Integer> once(int... numbers) {
    Map<String, Integer> expected = new TreeMap<>();
    for (int n : numbers) {
      expected.put("letter " + n, 1);
    }
    return expected;
  }

  private static int[] range(int from, int to) {
    return java.util.stream.IntStream.rangeClosed(from, to).toArray();
  }

  private static void merge(Map<Integer, Long> state, Map<Integer, Long> after) {
    after.forEach((p, end) -> state.merge(p, end, Math::max));
  }

  private static List<DeadLetterTransactions.Letter> letters(int... numbers) {
    List<DeadLetterTransactions.Letter> out = new ArrayList<>();
    for (int n : numbers) {
      out.add(
          new DeadLetterTransactions.Letter(
              "events/0/" + n,
              ("user-" + n).getBytes(StandardCharsets.UTF_8),
              ("letter " + n).getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  private static Set<String> positions(int... numbers) {
    Set<String> out = new TreeSet<>();
    for (int n : numbers) {
      out.add("events/0/" + n);
    }
    return out;
  }
}
