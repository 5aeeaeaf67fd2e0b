package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * The whole job against real parts, on the DirectRunner in streaming mode: a generated stream
 * (fixed seed; duplicates, malformed records, out-of-order delivery within the watermark's bound)
 * in a 3-partition Kafka topic; sessions to an Iceberg table on disk, the dashboard to
 * redis-server, dead letters to Kafka. The table must equal an independent sort-and-split of the
 * distinct valid events on 30-minute gaps, one row per session.
 */
@RunWith(JUnit4.class)
public class EndToEndIT {
  /** Runner options of this run; subclasses run the same test on another runner. */
  protected List<String> runnerArgs() {
    return List.of("--runner=DirectRunner", "--blockOnRun=false");
  }

  private static final int PARTITIONS = 3;
  private static LocalKafka kafka;
  private static LocalRedis redis;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @BeforeClass
  public static void startServers() throws Exception {
    kafka = LocalKafka.start();
    redis = LocalRedis.start();
  }

  @AfterClass
  public static void stopServers() throws Exception {
    if (kafka != null) {
      kafka.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  public void generatedStreamToIcebergRedisAndTheDeadLetterTopic() throws Exception {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(4242L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(4_000)
            .users(100)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    List<byte[]> values = new ArrayList<>();
    Map<String, Integer> expectedReasons = new TreeMap<>();
    Set<String> distinct = new HashSet<>();
    // Every valid event is on time (out of order within the watermark's bound), so the model
    // reduces to a sort-and-split on 30-minute gaps.
    SessionModel model =
        new SessionModel(Duration.standardMinutes(30), Duration.standardMinutes(5));
    long minutesWithEvents;
    Set<Long> minutes = new HashSet<>();
    for (ClickstreamGenerator.Record r : stream) {
      values.add(r.payload);
      if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
        expectedReasons.merge(r.expectedReason, 1, Integer::sum);
      } else if (distinct.add(r.userId + "/" + r.eventId)) {
        model.accept(r.userId, r.eventTime, BoundedWindow.TIMESTAMP_MIN_VALUE);
        minutes.add(r.eventTime.getMillis() / 60_000);
      }
    }
    minutesWithEvents = minutes.size();
    List<String> expectedSessions = model.sessions();
    int rejected = expectedReasons.values().stream().mapToInt(Integer::intValue).sum();

    kafka.createTopic("clickstream_events", PARTITIONS);
    kafka.createTopic("clickstream_events_dlq", 1);
    kafka.produce("clickstream_events", PARTITIONS, values);

    File warehouse = tmp.newFolder("warehouse");
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(
                Stream.concat(
                        runnerArgs().stream(),
                        Stream.of(
                            "--source=kafka",
                            "--bootstrapServers=" + kafka.bootstrapServers(),
                            "--idleTimeout=2s",
                            "--commitInterval=1s",
                            "--sessionsSink=iceberg",
                            "--warehouse=" + warehouse,
                            "--dashboardSink=redis",
                            "--redisPort=" + redis.port(),
                            "--output=" + tmp.newFolder("out")))
                    .toArray(String[]::new))
            .as(SessionizationPipeline.Options.class);
    options.as(StreamingOptions.class).setStreaming(true);
    PipelineResult result = start(options);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    try {
      List<String> rows = List.of();
      long deadline = System.currentTimeMillis() + 240_000;
      while (System.currentTimeMillis() < deadline) {
        if (result != null && result.getState().isTerminal()) {
          throw new AssertionError("the streaming job ended: " + result.getState());
        }
        rows = finalRows(table);
        if (rows.size() >= expectedSessions.size()) {
          break;
        }
        Thread.sleep(1_000);
      }
      SessionModel.assertSame(expectedSessions, rows);

      List<ConsumerRecord<String, String>> deadLetters =
          kafka.readAll("clickstream_events_dlq", rejected, 60_000);
      Map<String, Integer> reasons = new TreeMap<>();
      for (ConsumerRecord<String, String> d : deadLetters) {
        reasons.merge(Json.MAPPER.readTree(d.value()).get("reason").asText(), 1, Integer::sum);
      }
      assertEquals(expectedReasons, reasons);

      // Accounting from the outputs: every distinct valid event is in exactly one row, every
      // rejected record is one dead letter, the rest are the repeats the generator made.
      long inSessions = 0;
      for (String row : rows) {
        inSessions += Long.parseLong(row.substring(row.lastIndexOf(' ') + 1));
      }
      long accepted = distinct.size();
      assertEquals(accepted, inSessions);
      long repeats = stream.size() - accepted - rejected;
      if (result != null) {
        assertEquals(stream.size(), SessionizeMetrics.read(result, "records_read"));
        assertEquals(accepted, SessionizeMetrics.read(result, "accepted"));
        assertEquals(repeats, SessionizeMetrics.read(result, "duplicates"));
      }
      System.out.printf(
          "EndToEndIT: read %d = in sessions %d + duplicates %d + dead letters %d; %d sessions%n",
          stream.size(), inSessions, repeats, deadLetters.size(), rows.size());

      // The dashboard documents: every minute with events, adding up to the accepted events
      // (the last firings may land a moment after the last commit of the table).
      try (Jedis jedis = redis.client()) {
        long events = -1;
        Set<String> keys = Set.of();
        long redisDeadline = System.currentTimeMillis() + 60_000;
        while (events != accepted && System.currentTimeMillis() < redisDeadline) {
          Thread.sleep(events < 0 ? 0 : 1_000);
          keys = jedis.keys("dash:minute:*");
          events = 0;
          for (String key : keys) {
            JsonNode doc = Json.MAPPER.readTree(jedis.get(key));
            events += doc.get("events").asLong();
          }
        }
        assertEquals(minutesWithEvents, keys.size());
        String sample = keys.isEmpty() ? "none" : jedis.get(keys.iterator().next());
        assertEquals("sum of dash:minute events; a document: " + sample, accepted, events);
        assertThat(jedis.keys("session:latest:*").size(), greaterThan(0));
      }
    } finally {
      if (result != null) {
        result.cancel();
      }
    }
  }

  /**
   * Starts the streaming job and returns without waiting for it (it never ends by itself); null
   * when the runner gives no result handle until the job ends.
   */
  protected PipelineResult start(SessionizationPipeline.Options options) {
    return SessionizationPipeline.run(options);
  }

  /** The table's rows as "user start end events", failing on a duplicate session_id. */
  private static List<String> finalRows(Table table) throws Exception {
    table.refresh();
    List<String> rows = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    if (table.currentSnapshot() == null) {
      return rows;
    }
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        if (!ids.add((String) r.getField("session_id"))) {
          throw new AssertionError("two rows for session " + r.getField("session_id"));
        }
        rows.add(
            r.getField("user_id")
                + " "
                + Instant.ofEpochMilli(
                    ((java.time.OffsetDateTime) r.getField("start_time"))
                        .toInstant()
                        .toEpochMilli())
                + " "
                + Instant.ofEpochMilli(
                    ((java.time.OffsetDateTime) r.getField("end_time")).toInstant().toEpochMilli())
                + " "
                + r.getField("event_count"));
      }
    }
    return rows;
  }
}
