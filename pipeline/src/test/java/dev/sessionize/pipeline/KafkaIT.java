package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The job reading a real Kafka broker (KRaft, in this JVM) and writing its dead letters to a real
 * topic, on the DirectRunner in streaming mode: the happy-path fixture plus the malformed corpus,
 * produced over two partitions. Sessions close through the idle-partition rule once the topic is
 * drained.
 */
@RunWith(JUnit4.class)
public class KafkaIT {
  private static final int PARTITIONS = 2;
  private static LocalKafka kafka;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @BeforeClass
  public static void startBroker() throws Exception {
    kafka = LocalKafka.start();
  }

  @AfterClass
  public static void stopBroker() throws IOException {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  public void sessionsFromKafkaAndEveryRejectedRecordInTheDeadLetterTopic() throws Exception {
    kafka.createTopic("clickstream_events", PARTITIONS);
    kafka.createTopic("clickstream_events_dlq", 1);
    List<byte[]> values = new ArrayList<>();
    for (String line :
        Files.readAllLines(FixturesTest.testdata().resolve("events/happy-path.jsonl"))) {
      values.add(line.getBytes(StandardCharsets.UTF_8));
    }
    int events = values.size();
    Map<String, String> expectedReasons = new TreeMap<>();
    Path corpus = FixturesTest.testdata().resolve("malformed");
    List<String> cases = Files.readAllLines(corpus.resolve("EXPECTED.tsv"));
    for (String line : cases.subList(1, cases.size())) {
      String[] cols = line.split("\t");
      // Every kind of the corpus but the 10 MiB record, beyond the topic's 1 MiB
      // (DeadLetterSizesIT sends 2 MiB through a topic made for it).
      if (!cols[1].equals("VALID") && !cols[0].equals("record-10mb")) {
        byte[] bytes = Files.readAllBytes(corpus.resolve("cases").resolve(cols[0] + ".json"));
        values.add(bytes);
        expectedReasons.merge(cols[1], "x", String::concat);
      }
    }
    // Last: an event with fields the parser does not know, hours behind its partition's stream
    // time (both partitions hold events of the happy path), so TOO_LATE whatever the watermark:
    // its dead letter must hold it byte for byte.
    values.add(
        ("{\"user_id\":\"alice\",\"event_id\":\"late-1\",\"event_type\":\"click\","
                + " \"timestamp\": 1795500000000, \"device\": {\"type\": \"mobile\", \"os\": \"ios\"},"
                + " \"app_version\": \"5.3.0\", \"metadata\": {\"order_id\": \"o-1\"}}")
            .getBytes(StandardCharsets.UTF_8));
    expectedReasons.merge("TOO_LATE", "x", String::concat);
    // Produced round-robin from partition 0: value i is at partition i % 2, offset i / 2.
    kafka.produce("clickstream_events", PARTITIONS, values);

    File out = tmp.newFolder("out");
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(
                "--source=kafka",
                "--bootstrapServers=" + kafka.bootstrapServers(),
                "--idleTimeout=2s",
                "--commitInterval=1s",
                "--output=" + out)
            .as(SessionizationPipeline.Options.class);
    options.as(StreamingOptions.class).setStreaming(true);
    options.as(DirectOptions.class).setBlockOnRun(false);
    PipelineResult result = SessionizationPipeline.run(options);
    try {
      int rejected = values.size() - events;
      List<String> finals = waitForFinalSessions(result, out.toPath(), 5, 120_000);
      List<ConsumerRecord<String, String>> deadLetters =
          kafka.readAll("clickstream_events_dlq", rejected, 60_000);

      assertThat(
          finals,
          containsInAnyOrder(
              "alice 2026-11-24T10:00:00.000Z 4",
              "alice 2026-11-24T11:00:00.000Z 2",
              "bob 2026-11-24T10:01:00.000Z 3",
              "bob 2026-11-24T11:20:00.000Z 1",
              "carol 2026-11-24T10:30:00.000Z 1"));
      assertEquals(rejected, deadLetters.size());
      Map<String, String> reasons = new TreeMap<>();
      long bytesCompared = 0;
      for (ConsumerRecord<String, String> record : deadLetters) {
        JsonNode letter = Json.MAPPER.readTree(record.value());
        reasons.merge(letter.get("reason").asText(), "x", String::concat);
        assertEquals("clickstream_events", letter.at("/source/topic").asText());
        assertNotNull(letter.get("payload"));
        // The record's exact bytes, whatever the reason.
        int partition = letter.at("/source/partition").asInt();
        long offset = letter.at("/source/offset").asLong();
        byte[] sent = values.get((int) (offset * PARTITIONS + partition));
        byte[] payload =
            "base64".equals(letter.path("payload_encoding").asText())
                ? java.util.Base64.getDecoder().decode(letter.get("payload").asText())
                : letter.get("payload").asText().getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(letter.get("reason").asText() + " at " + offset, sent, payload);
        bytesCompared += sent.length;
        if (!letter.get("user_id").isNull()) {
          assertEquals(letter.get("user_id").asText(), record.key());
        }
      }
      assertEquals(expectedReasons, reasons);
      assertEquals(values.size(), SessionizeMetrics.read(result, "records_read"));
      assertEquals(events, SessionizeMetrics.read(result, "accepted"));
      Map<String, Integer> counts = new TreeMap<>();
      reasons.forEach((reason, marks) -> counts.put(reason, marks.length()));
      System.out.printf(
          "KafkaIT: %d records read, %d dead letters %s, %d payload bytes equal to the records'%n",
          values.size(), deadLetters.size(), counts, bytesCompared);
    } finally {
      result.cancel();
    }
  }

  /** Reads the sessions files until {@code expected} final sessions are there. */
  private static List<String> waitForFinalSessions(
      PipelineResult result, Path folder, int expected, long timeoutMillis) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    List<String> finals = List.of();
    long nextReport = 0;
    while (System.currentTimeMillis() < deadline) {
      if (result.getState().isTerminal()) {
        try {
          result.waitUntilFinish();
        } catch (RuntimeException e) {
          throw new AssertionError("the streaming job failed", e);
        }
        throw new AssertionError("the streaming job ended: " + result.getState());
      }
      if (System.currentTimeMillis() >= nextReport) {
        nextReport = System.currentTimeMillis() + 5_000;
        System.out.printf(
            "KafkaIT: %s read=%d accepted=%d emissions=%d final=%d files=%s%n",
            result.getState(),
            SessionizeMetrics.read(result, "records_read"),
            SessionizeMetrics.read(result, "accepted"),
            SessionizeMetrics.read(result, "session_emissions"),
            SessionizeMetrics.read(result, "sessions_final"),
            folder.toFile().list() == null ? "[]" : String.join(",", folder.toFile().list()));
      }
      List<String> found = new ArrayList<>();
      try (Stream<Path> files = Files.list(folder)) {
        for (Path file :
            files
                .filter(f -> f.getFileName().toString().startsWith("sessions"))
                .collect(Collectors.toList())) {
          for (String line : Files.readAllLines(file)) {
            JsonNode s = Json.MAPPER.readTree(line);
            if (s.get("is_final").asBoolean()) {
              found.add(
                  s.get("user_id").asText()
                      + " "
                      + s.get("start_time").asText()
                      + " "
                      + s.get("event_count").asInt());
            }
          }
        }
      } catch (IOException e) {
        // a file being written; read again
      }
      finals = found;
      if (finals.size() >= expected) {
        return finals;
      }
      Thread.sleep(500);
    }
    return finals;
  }
}
