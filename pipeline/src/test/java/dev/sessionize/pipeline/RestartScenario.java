package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.transforms.model.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.iceberg.Table;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.joda.time.Duration;
import org.joda.time.Instant;
import redis.clients.jedis.Jedis;

/**
 * A stream for the tests that stop a job and resume it: a generated clickstream (fixed seed,
 * duplicates, malformed records, no late ones) cut in two halves, with what must come out of the
 * whole of it computed independently: the sessions (a sort-and-split on 30-minute gaps, every
 * column of their rows), the dead letters by reason, and the accepted events of each minute. The
 * second half ends with a clock event per partition two hours after the last event, which closes
 * every session when the idle rule is off (its own session never closes and is left out of the
 * comparison).
 */
public final class RestartScenario {
  public final List<byte[]> firstHalf;
  public final List<byte[]> secondHalf;
  public final List<String> expectedSessions;
  final List<SessionModel.Row> expectedRows;
  public final Map<String, Integer> expectedReasons = new TreeMap<>();
  public final Map<Long, Integer> eventsPerMinute = new TreeMap<>();
  public final int rejected;

  public RestartScenario(long seed, int events, int users, int partitions) {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(seed)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(events)
            .users(users)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    GeneratedExpectations expected = new GeneratedExpectations(stream);
    List<byte[]> values = expected.payloads;
    expectedReasons.putAll(expected.reasons);
    eventsPerMinute.putAll(expected.eventsPerMinute);
    expectedSessions = expected.model.sessions();
    expectedRows = expected.model.rows();
    rejected = expected.rejected();
    Instant last = expected.last();
    Instant clock = last.plus(Duration.standardHours(2));
    List<byte[]> rest = new ArrayList<>(values.subList(values.size() / 2, values.size()));
    for (int p = 0; p < partitions; p++) {
      rest.add(
          String.format(
                  "{\"user_id\":\"clock\",\"event_id\":\"c%d\",\"event_type\":\"page_view\","
                      + "\"timestamp\":\"%s\",\"page_url\":\"/\"}",
                  p, clock)
              .getBytes(StandardCharsets.UTF_8));
    }
    eventsPerMinute.merge(clock.getMillis() / 60_000, partitions, Integer::sum);
    firstHalf = values.subList(0, values.size() / 2);
    secondHalf = rest;
  }

  /** The table's sessions without the clock's, as "user start end events". */
  public static List<String> sessions(Table table) throws Exception {
    List<String> out = new ArrayList<>(SessionRows.describe(SessionRows.byId(table)));
    out.removeIf(row -> row.startsWith("clock "));
    return out;
  }

  /**
   * The table (the clock's sessions left out) equals the model in every column but {@code version}
   * and {@code emitted_at}, one row per session_id; waits up to 2 minutes for the last final panes.
   */
  public void assertTable(Table table) throws Exception {
    SessionRows.awaitRows(expectedRows, table, Set.of("clock"), 120);
  }

  /** Each rejected record exactly once: waits for them, then a little longer for any repeat. */
  public int assertDeadLettersOnce(LocalKafka kafka, String topic) throws Exception {
    kafka.readAll(topic, rejected, 120_000);
    Thread.sleep(5_000);
    List<ConsumerRecord<String, String>> deadLetters = kafka.readAll(topic, rejected + 1, 10_000);
    Map<String, Integer> reasons = new TreeMap<>();
    Map<String, Integer> sources = new TreeMap<>();
    for (ConsumerRecord<String, String> d : deadLetters) {
      JsonNode letter = Json.MAPPER.readTree(d.value());
      reasons.merge(letter.get("reason").asText(), 1, Integer::sum);
      sources.merge(letter.get("source").toString(), 1, Integer::sum);
    }
    sources.values().removeIf(n -> n == 1);
    assertEquals("dead letters written more than once: " + sources, expectedReasons, reasons);
    return deadLetters.size();
  }

  /** The events of each dash:minute document, by minute since the epoch. */
  public static Map<Long, Integer> dashboard(Jedis jedis) throws Exception {
    Map<Long, Integer> minutes = new TreeMap<>();
    for (String key : jedis.keys("dash:minute:*")) {
      JsonNode doc = Json.MAPPER.readTree(jedis.get(key));
      long minute =
          Instant.parse(key.substring("dash:minute:".length()).replace("Z", ":00Z")).getMillis()
              / 60_000;
      minutes.put(minute, doc.get("events").asInt());
    }
    return minutes;
  }

  /**
   * Waits up to 5 minutes for {@code condition}; {@code trouble} gives a message when the job is
   * gone (then it fails at once), or null.
   */
  public static void await(String what, Callable<Boolean> condition, Callable<String> trouble)
      throws Exception {
    long deadline = System.currentTimeMillis() + 300_000;
    while (!condition.call()) {
      String problem = trouble.call();
      if (problem != null) {
        throw new AssertionError("the job is gone while waiting for " + what + ": " + problem);
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(1_000);
    }
  }
}
