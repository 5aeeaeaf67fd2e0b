package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.sessionize.runners.servers.LocalKafka;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link DeadLetterTransactions} against a real broker: after a rollback to an older state, the
 * dead letters committed since are read back by source position and skipped, whatever order the
 * replay brings them in, while new ones are written; the previous producer is fenced; another
 * writer's records do not count.
 */
@RunWith(JUnit4.class)
public class DeadLetterTransactionsIT {
  private static final String TOPIC = "dlq_transactions";
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
