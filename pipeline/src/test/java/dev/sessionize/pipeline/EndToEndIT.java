package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.ClassRule;
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
 * distinct valid events on 30-minute gaps ({@link SessionModel}), one row per session, in every
 * column but {@code version} and {@code emitted_at} (they depend on when the runner fired panes).
 */
@RunWith(JUnit4.class)
public class EndToEndIT {
  /** Runner options of this run; subclasses run the same test on another runner. */
  protected List<String> runnerArgs() {
    return List.of("--runner=DirectRunner", "--blockOnRun=false");
  }

  private static final int PARTITIONS = 3;

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  /** A hand-made valid event, as the producers of {@code clickstream_events} write them. */
  private static byte[] event(String user, String id, Instant t) {
    return String.format(
            "{\"user_id\":\"%s\",\"event_id\":\"%s\",\"event_type\":\"page_view\","
                + "\"timestamp\":\"%s\",\"page_url\":\"/late\"}",
            user, id, t)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * The generated stream, then late data whose fate does not depend on timing. Every partition gets
   * a clock event at the stream's last event time {@code M}, so the watermark settles at {@code M -
   * 5 min} (the idle rule is off: idle timeout 1 h). User {@code e2e-late} has a1 at {@code M - 36
   * min} (its session is emitted: end + 30 min <= watermark) and b1 at {@code M - 6 min} (a
   * separate session). Then a0 at {@code M - 39 min} and a bridge at {@code M - 20 min} arrive late
   * but within the allowed lateness (t + 35 min > watermark, whatever the watermark lags): a0 moves
   * the emitted session's start, so its row must be deleted, and the bridge merges it with b1's
   * session. A second clock event per partition at {@code M + 2 h} closes every session; after
   * that, z at {@code M - 10 min} is beyond the allowed lateness and must become a TOO_LATE dead
   * letter.
   */
  @Test
  public void generatedStreamWithLateDataToIcebergRedisAndTheDeadLetterTopic() throws Exception {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(4242L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(4_000)
            .users(100)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    // The independent side: a sort-and-split on 30-minute gaps of every accepted event.
    GeneratedExpectations expected = new GeneratedExpectations(stream);
    List<byte[]> values = expected.payloads;
    Map<String, Integer> expectedReasons = expected.reasons;
    Set<String> distinct = expected.distinct;
    final Instant m = expected.last();
    List<byte[]> clocks = new ArrayList<>();
    List<byte[]> laterClocks = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) {
      clocks.add(event("e2e-clock", "clock-" + p, m));
      laterClocks.add(event("e2e-clock-2", "clock-2-" + p, m.plus(Duration.standardHours(2))));
    }
    Map<String, Instant> onTime =
        Map.of(
            "a1",
            m.minus(Duration.standardMinutes(36)),
            "b1",
            m.minus(Duration.standardMinutes(6)));
    Map<String, Instant> lateButAllowed =
        Map.of(
            "a0",
            m.minus(Duration.standardMinutes(39)),
            "bridge",
            m.minus(Duration.standardMinutes(20)));
    Instant tooLate = m.minus(Duration.standardMinutes(10));
    for (int p = 0; p < PARTITIONS; p++) {
      expected.accept(event("e2e-clock", "clock-" + p, m));
    }
    for (Map<String, Instant> events : List.of(onTime, lateButAllowed)) {
      events.forEach((id, t) -> expected.accept(event("e2e-late", id, t)));
    }
    // The sessions that must be in the table; the second clock's sessions stay open (no row).
    List<String> expectedSessions = expected.model.sessions();
    List<SessionModel.Row> expectedRows = expected.model.rows();
    Set<Long> minutes = new HashSet<>(expected.eventsPerMinute.keySet());
    String mergedLate = "e2e-late " + lateButAllowed.get("a0") + " " + onTime.get("b1") + " 4";
    assertThat(expectedSessions, org.hamcrest.Matchers.hasItem(mergedLate));
    String emittedThenSuperseded = Session.idFor("e2e-late", onTime.get("a1"));
    String mergedId = Session.idFor("e2e-late", lateButAllowed.get("a0"));

    servers.kafka().createTopic("clickstream_events", PARTITIONS);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    servers.kafka().produce("clickstream_events", PARTITIONS, values);
    servers
        .kafka()
        .produce(
            "clickstream_events",
            PARTITIONS,
            onTime.values().stream().map(t -> event("e2e-late", idOf(onTime, t), t)).toList());
    servers.kafka().produce("clickstream_events", PARTITIONS, clocks);

    File warehouse = tmp.newFolder("warehouse");
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(
                Stream.concat(
                        runnerArgs().stream(),
                        Stream.of(
                            "--source=kafka",
                            "--bootstrapServers=" + servers.kafka().bootstrapServers(),
                            "--idleTimeout=1h",
                            "--commitInterval=1s",
                            "--sessionsSink=iceberg",
                            "--warehouse=" + warehouse,
                            "--dashboardSink=redis",
                            "--redisPort=" + servers.redis().port(),
                            "--output=" + tmp.newFolder("out")))
                    .toArray(String[]::new))
            .as(SessionizationPipeline.Options.class);
    options.as(StreamingOptions.class).setStreaming(true);
    PipelineResult result = start(options);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    try (Jedis jedis = servers.redis().client()) {
      // 1. The on-time stream: a1's session is emitted once the watermark reaches M - 5 min.
      await(
          result,
          "a1's session row",
          () -> SessionRows.byId(table).containsKey(emittedThenSuperseded));

      // 2. Late but allowed: a0 and the bridge are accepted (the dashboard counts them).
      servers
          .kafka()
          .produce(
              "clickstream_events",
              PARTITIONS,
              lateButAllowed.values().stream()
                  .map(t -> event("e2e-late", idOf(lateButAllowed, t), t))
                  .toList());
      awaitDashboard(result, jedis, expected.eventsPerMinute);

      // 3. The later clock closes every session; the merged one replaces a1's row.
      servers.kafka().produce("clickstream_events", PARTITIONS, laterClocks);
      await(
          result,
          "the merged session, final",
          () -> {
            Map<String, Record> rows = SessionRows.byId(table);
            Record merged = rows.get(mergedId);
            return merged != null && Boolean.TRUE.equals(merged.getField("is_final"));
          });

      // 4. Beyond the allowed lateness now, whatever the runner: a dead letter.
      servers.kafka().produce("clickstream_events", 1, List.of(event("e2e-late", "z", tooLate)));
      expectedReasons.merge("TOO_LATE", 1, Integer::sum);
      int rejected = expectedReasons.values().stream().mapToInt(Integer::intValue).sum();
      List<ConsumerRecord<String, String>> deadLetters =
          servers.kafka().readAll("clickstream_events_dlq", rejected, 120_000);
      Map<String, Integer> reasons = new TreeMap<>();
      for (ConsumerRecord<String, String> d : deadLetters) {
        JsonNode letter = Json.MAPPER.readTree(d.value());
        reasons.merge(letter.get("reason").asText(), 1, Integer::sum);
        if ("TOO_LATE".equals(letter.get("reason").asText())) {
          assertEquals("e2e-late", d.key());
        }
      }
      assertEquals(expectedReasons, reasons);

      // Every column of every row (but version and emitted_at, which depend on when panes fired)
      // equal to the model's, one row per session_id, the superseded row gone.
      SessionRows.awaitRows(expectedRows, table, Set.of(), 240);
      Map<String, Record> rows = SessionRows.byId(table);
      assertThat(
          rows.keySet(),
          org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem(emittedThenSuperseded)));

      // Accounting from the outputs: every distinct valid event is in exactly one row or in the
      // second clock's open sessions, every rejected record is one dead letter, the rest are the
      // repeats the generator made.
      long inSessions = 0;
      for (Record row : rows.values()) {
        inSessions += (Integer) row.getField("event_count");
      }
      long accepted = distinct.size() + PARTITIONS;
      assertEquals(accepted - PARTITIONS, inSessions);
      long read = stream.size() + 2L * PARTITIONS + onTime.size() + lateButAllowed.size() + 1;
      long repeats = read - accepted - rejected;
      if (result != null) {
        assertEquals(read, SessionizeMetrics.read(result, "records_read"));
        assertEquals(accepted, SessionizeMetrics.read(result, "accepted"));
        assertEquals(repeats, SessionizeMetrics.read(result, "duplicates"));
      }
      System.out.printf(
          "EndToEndIT: read %d = in sessions %d + open at the end %d + duplicates %d + dead letters"
              + " %d; %d sessions%n",
          read, inSessions, PARTITIONS, repeats, deadLetters.size(), rows.size());

      // The dashboard documents: every minute with events (the second clock's too, from its
      // early firings), adding up to the accepted events.
      minutes.add(m.plus(Duration.standardHours(2)).getMillis() / 60_000);
      Map<Long, Integer> perMinute = new TreeMap<>(expected.eventsPerMinute);
      perMinute.merge(
          m.plus(Duration.standardHours(2)).getMillis() / 60_000, PARTITIONS, Integer::sum);
      awaitDashboard(result, jedis, perMinute);
      assertEquals(accepted, dashboardEvents(jedis));
      assertEquals(minutes.size(), jedis.keys("dash:minute:*").size());
      assertThat(jedis.keys("session:latest:*").size(), greaterThan(0));
    } finally {
      if (result != null) {
        result.cancel();
      }
    }
  }

  private static String idOf(Map<String, Instant> events, Instant t) {
    return events.entrySet().stream()
        .filter(e -> e.getValue().equals(t))
        .findFirst()
        .get()
        .getKey();
  }

  /** Waits for {@code condition}; fails naming {@code what}, at once when the job has ended. */
  private static void await(PipelineResult result, String what, Callable<Boolean> condition)
      throws Exception {
    RestartScenario.await(
        what,
        condition,
        () ->
            result != null && result.getState().isTerminal()
                ? "the streaming job ended: " + result.getState()
                : null);
  }

  /**
   * Waits until the dash:minute documents hold {@code perMinute} (minute since the epoch ->
   * accepted events); on a timeout the message lists the minutes that differ.
   */
  private static void awaitDashboard(
      PipelineResult result, Jedis jedis, Map<Long, Integer> perMinute) throws Exception {
    long total = perMinute.values().stream().mapToLong(Integer::longValue).sum();
    try {
      await(result, "dashboard events = " + total, () -> dashboardEvents(jedis) == total);
    } catch (AssertionError e) {
      Map<Long, Integer> seen = dashboardMinutes(jedis);
      Map<String, String> differ = new TreeMap<>();
      Set<Long> all = new HashSet<>(perMinute.keySet());
      all.addAll(seen.keySet());
      for (long minute : all) {
        Integer want = perMinute.get(minute);
        Integer got = seen.get(minute);
        if (!java.util.Objects.equals(want, got)) {
          differ.put(
              new Instant(minute * 60_000).toString(), "expected " + want + ", in Redis " + got);
        }
      }
      throw new AssertionError(
          e.getMessage()
              + ": in Redis "
              + seen.values().stream().mapToLong(Integer::longValue).sum()
              + "; minutes that differ: "
              + differ,
          e);
    }
  }

  /** The events of each dash:minute document, by minute since the epoch. */
  private static Map<Long, Integer> dashboardMinutes(Jedis jedis) throws Exception {
    Map<Long, Integer> minutes = new TreeMap<>();
    for (String key : jedis.keys("dash:minute:*")) {
      Instant start = DashboardMinute.windowStartOfKey(key);
      minutes.put(
          start.getMillis() / 60_000, Json.MAPPER.readTree(jedis.get(key)).get("events").asInt());
    }
    return minutes;
  }

  /** The sum of the events of every dash:minute document. */
  private static long dashboardEvents(Jedis jedis) throws Exception {
    long events = 0;
    for (String key : jedis.keys("dash:minute:*")) {
      events += Json.MAPPER.readTree(jedis.get(key)).get("events").asLong();
    }
    return events;
  }

  /**
   * Starts the streaming job and returns without waiting for it (it never ends by itself); null
   * when the runner gives no result handle until the job ends.
   */
  protected PipelineResult start(SessionizationPipeline.Options options) {
    return SessionizationPipeline.run(options);
  }
}
