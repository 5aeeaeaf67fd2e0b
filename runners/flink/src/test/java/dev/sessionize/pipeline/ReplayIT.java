package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * The same partitions read in the same order give the same dead letters, the same table and the
 * same dashboard, whatever the speed: one generated stream with late, too-late, duplicate and
 * malformed records goes through the production preset on the FlinkRunner (local, parallelism 2,
 * RocksDB, checkpoints) twice, each run in its own JVM with its own topic, table and dead-letter
 * topic. Run A reads it as a backlog (everything produced before the job starts: the watermark lags
 * far behind the records); run B reads it as it arrives, throttled to a few hundred records a
 * second (the watermark follows the records closely). Compared exactly: every dead letter (reason,
 * partition, offset, user, event time, the record's bytes), every column of every row but {@code
 * version} and {@code emitted_at} (they tell the emission history, which speed changes), and every
 * dashboard minute's document but {@code updated_at}.
 */
@RunWith(JUnit4.class)
public class ReplayIT {
  private static final int PARTITIONS = 2;

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private final List<Process> jobs = new ArrayList<>();
  private File log;

  @After
  public void killJobs() throws Exception {
    for (Process p : jobs) {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    if (log != null && log.exists()) {
      Files.copy(
          log.toPath(), Path.of("target", "ReplayIT-job.log"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** One record and its partition (by user; a record without one by its index). */
  private record Sent(int partition, byte[] value) {}

  @Test
  public void aBacklogAndAThrottledReadOfTheSameStreamGiveTheSameOutputs() throws Exception {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(20261203L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(2_000)
            .users(40)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .lateRate(0.03)
            .generate();
    GeneratedExpectations expected = new GeneratedExpectations(stream);
    List<Sent> records = new ArrayList<>();
    for (int i = 0; i < stream.size(); i++) {
      ClickstreamGenerator.Record r = stream.get(i);
      int partition =
          r.userId == null ? i % PARTITIONS : Math.floorMod(r.userId.hashCode(), PARTITIONS);
      records.add(new Sent(partition, r.payload));
    }
    // A clock event per partition two hours on closes every session of the stream.
    Instant close = expected.last().plus(Duration.standardHours(2));
    for (int p = 0; p < PARTITIONS; p++) {
      records.add(
          new Sent(
              p,
              String.format(
                      "{\"user_id\":\"clock\",\"event_id\":\"c%d\",\"event_type\":\"page_view\","
                          + "\"timestamp\":\"%s\"}",
                      p, close)
                  .getBytes(StandardCharsets.UTF_8)));
    }
    log = new File(tmp.getRoot(), "job.log");
    File warehouse = tmp.newFolder("warehouse");

    Outputs backlog = run("a", records, warehouse, 0, expected.rejected());
    Outputs throttled = run("b", records, warehouse, 300, expected.rejected());

    assertThat("too-late records in the stream", backlog.tooLate, greaterThan(0));
    assertThat("sessions", backlog.rows.size(), greaterThan(100));
    assertEquals("dead letters", backlog.deadLetters, throttled.deadLetters);
    assertEquals("table", backlog.rows, throttled.rows);
    // The minutes that differ, both documents each, before the whole maps (too long to read).
    Set<String> minutes = new TreeSet<>(backlog.dashboard.keySet());
    minutes.addAll(throttled.dashboard.keySet());
    StringBuilder differ = new StringBuilder();
    for (String k : minutes) {
      if (!Objects.equals(backlog.dashboard.get(k), throttled.dashboard.get(k))) {
        differ.append(
            String.format(
                "%n%s%n  backlog:   %s%n  throttled: %s",
                k, backlog.dashboard.get(k), throttled.dashboard.get(k)));
      }
    }
    assertEquals("dashboard minutes that differ:", "", differ.toString());
    assertEquals("dashboard", backlog.dashboard, throttled.dashboard);
    System.out.printf(
        "ReplayIT: %d records, %d dead letters (%d TOO_LATE), %d sessions, %d dashboard minutes:"
            + " identical at both speeds%n",
        records.size(),
        backlog.deadLetters.size(),
        backlog.tooLate,
        backlog.rows.size(),
        backlog.dashboard.size());
  }

  private static final class Outputs {
    final List<String> deadLetters = new ArrayList<>();
    final TreeMap<String, Map<String, String>> rows = new TreeMap<>();
    final TreeMap<String, String> dashboard = new TreeMap<>();
    int tooLate;
  }

  /**
   * One run: its own topic, consumer group, table and dead-letter topic; records produced before
   * the job starts when {@code perSecond} is 0, else at that rate once it runs. {@code rejected} is
   * the number of malformed records, the least number of dead letters to wait for.
   */
  private Outputs run(String name, List<Sent> records, File warehouse, int perSecond, int rejected)
      throws Exception {
    String topic = "clicks-" + name;
    String dlq = "dead-letters-" + name;
    servers.kafka().createTopic(topic, PARTITIONS);
    servers.kafka().createTopic(dlq, 1);
    if (perSecond == 0) {
      produce(topic, records, 0);
    }
    String[] args = {
      "--flinkMaster=[local]",
      "--parallelism=2",
      "--checkpointingInterval=2000",
      "--minPauseBetweenCheckpoints=1000",
      "--stateBackendStoragePath=" + tmp.newFolder("checkpoints-" + name).toURI(),
      "--bootstrapServers=" + servers.kafka().bootstrapServers(),
      "--inputTopic=" + topic,
      "--deadLetterTopic=" + dlq,
      "--groupId=replay-" + name,
      // No partition is idle: the runner's watermark never gets ahead of a partition's.
      "--idleTimeout=1h",
      "--commitInterval=1s",
      "--warehouse=" + warehouse,
      "--sessionsTable=sessionize.sessions_" + name,
      "--redisPort=" + servers.redis().port(),
      "--output=" + tmp.newFolder("out-" + name)
    };
    Process job =
        new ProcessBuilder(
                JavaCommand.of(
                    List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"),
                    "dev.sessionize.runners.flink.FlinkProduction",
                    List.of(args)))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
            .start();
    jobs.add(job);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions_" + name);
    if (perSecond > 0) {
      // Once the job runs (its table exists, created at launch), the records arrive over time.
      Thread.sleep(15_000);
      produce(topic, records, perSecond);
    }
    Outputs out = new Outputs();
    // Done when the table holds only final rows and stops changing, the dead letters are all in,
    // and the dashboard has stopped changing.
    List<ConsumerRecord<String, String>> letters = List.of();
    String lastTable = null;
    String lastDashboard = null;
    long deadline = System.currentTimeMillis() + 300_000;
    int stable = 0;
    while (System.currentTimeMillis() < deadline && stable < 3) {
      assertEquals(name + ": the job is gone", true, job.isAlive());
      Thread.sleep(5_000);
      letters = servers.kafka().readAll(dlq, Integer.MAX_VALUE, 2_000);
      String tableNow = SessionRows.describe(SessionRows.byId(table)).toString();
      String dashboardNow = dashboard().toString();
      boolean allFinal = true;
      for (Record r : SessionRows.all(table)) {
        allFinal &=
            !"clock".equals(r.getField("user_id")) ? (Boolean) r.getField("is_final") : true;
      }
      boolean same =
          allFinal
              && letters.size() >= rejected
              && tableNow.equals(lastTable)
              && dashboardNow.equals(lastDashboard);
      stable = same ? stable + 1 : 0;
      lastTable = tableNow;
      lastDashboard = dashboardNow;
    }
    job.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    for (ConsumerRecord<String, String> d : letters) {
      ObjectNode letter = (ObjectNode) Json.MAPPER.readTree(d.value());
      // Where the record came from and what it was, not when it was rejected; the topic is the
      // run's own. FUTURE_TIMESTAMP's detail names the processing time.
      letter.remove("rejected_at");
      ((ObjectNode) letter.get("source")).remove("topic");
      if ("FUTURE_TIMESTAMP".equals(letter.get("reason").asText())) {
        letter.remove("detail");
      }
      out.tooLate += "TOO_LATE".equals(letter.get("reason").asText()) ? 1 : 0;
      out.deadLetters.add(letter.toString());
    }
    out.deadLetters.sort(null);
    for (Record r : SessionRows.all(table)) {
      if (!"clock".equals(r.getField("user_id"))) {
        Map<String, String> previous =
            out.rows.put((String) r.getField("session_id"), SessionRows.columns(r));
        assertEquals(name + ": one row per session_id", null, previous);
      }
    }
    out.dashboard.putAll(dashboard());
    try (Jedis jedis = servers.redis().client()) {
      jedis.flushAll(); // the next run writes to the same keys
    }
    return out;
  }

  /** Every dash:minute document without its updated_at. */
  private static Map<String, String> dashboard() throws Exception {
    Map<String, String> docs = new TreeMap<>();
    try (Jedis jedis = servers.redis().client()) {
      for (String key : jedis.keys("dash:minute:*")) {
        JsonNode doc = Json.MAPPER.readTree(jedis.get(key));
        ((ObjectNode) doc).remove("updated_at");
        docs.put(key, doc.toString());
      }
    }
    return docs;
  }

  /** The records in order, each to its partition; {@code perSecond} 0: as fast as acks come. */
  private static void produce(String topic, List<Sent> records, int perSecond) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers.kafka().bootstrapServers());
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20);
    long start = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      for (int i = 0; i < records.size(); i++) {
        Sent s = records.get(i);
        producer.send(new ProducerRecord<>(topic, s.partition, null, s.value)).get();
        if (perSecond > 0) {
          long due = start + i * 1_000_000_000L / perSecond;
          long wait = due - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
      }
    }
  }
}
