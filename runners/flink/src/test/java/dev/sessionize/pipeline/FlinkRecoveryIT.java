package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.batch.EventsTable;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
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
 * The recovery matrix on the FlinkRunner with the production preset (RocksDB, exactly-once
 * checkpoints, transactional dead letters) and the events archive on, each job in its own JVM in
 * local mode, one Kafka broker, redis-server and Iceberg warehouse for the whole run. Three
 * generated streams (fixed seeds, duplicates, malformed records; a day apart in event time, each
 * closed by a clock event per partition two hours after its last event) go through one chain of
 * jobs, one restore kind each:
 *
 * <ol>
 *   <li><b>latest checkpoint after SIGKILL</b>: the first half of stream A is read, the job is
 *       killed after checkpoints completed, the rest arrives and the job is restored from its
 *       latest retained checkpoint;
 *   <li><b>an older retained checkpoint</b>: the first half of stream B is read and checkpointed
 *       (checkpoint K); the second half arrives and is read, checkpointed and its offsets committed
 *       to the consumer group; the job is killed and restored from K;
 *   <li><b>a savepoint taken before more input arrived</b>: the first half of stream C is read, a
 *       savepoint S is taken through Flink's REST API, the second half is read and committed, the
 *       job is killed and restored from S.
 * </ol>
 *
 * After each restore, once the restored job has read its stream to the end, everything is compared
 * exactly with what the streams so far must give, computed without the pipeline: the table (one row
 * per {@code session_id}, the sessions of an independent sort-and-split), the dead-letter topic
 * (each rejected record exactly once, its reason, and its payload byte for byte), the Redis minutes
 * (each minute's accepted events) and the events archive (every accepted record's source position,
 * and any record archived twice archived identically).
 */
@RunWith(JUnit4.class)
public class FlinkRecoveryIT {
  private static final int PARTITIONS = 3;
  private static final String TOPIC = "clickstream_events";
  private static final String DLQ = "clickstream_events_dlq";
  private static final String GROUP = "recovery-it";

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();
  private final List<Process> jobs = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private File log;
  private int restPort;

  @After
  public void killJobs() throws Exception {
    for (Process p : jobs) {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    // The jobs' whole log stays in target/ for a look after the temporary folder is gone.
    if (log != null && log.exists()) {
      Files.copy(
          log.toPath(),
          Path.of("target", "FlinkRecoveryIT-job.log"),
          StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Test
  public void restoresOfTheLatestCheckpointAnOlderCheckpointAndASavepointLoseAndRepeatNothing()
      throws Exception {
    servers.kafka().createTopic(TOPIC, PARTITIONS);
    servers.kafka().createTopic(DLQ, 1);
    log = new File(tmp.getRoot(), "job.log");
    File warehouse = tmp.newFolder("warehouse");
    Path checkpoints = tmp.newFolder("checkpoints").toPath();
    restPort = freePort();
    File conf = tmp.newFolder("flink-conf");
    // A REST port of our own (to find the job, its checkpoints and take a savepoint), and every
    // checkpoint retained, so an older one can be restored.
    Files.writeString(
        conf.toPath().resolve("flink-conf.yaml"),
        "rest.bind-port: "
            + restPort
            + "\nrest.port: "
            + restPort
            + "\nrest.address: 127.0.0.1\nstate.checkpoints.num-retained: 1000\n");
    String[] args = {
      "--flinkMaster=[local]",
      "--flinkConfDir=" + conf,
      "--parallelism=2",
      "--checkpointingInterval=2000",
      "--minPauseBetweenCheckpoints=1000",
      "--stateBackendStoragePath=" + checkpoints.toUri(),
      "--bootstrapServers=" + servers.kafka().bootstrapServers(),
      "--groupId=" + GROUP,
      "--idleTimeout=1h",
      "--commitInterval=1s",
      "--warehouse=" + warehouse,
      "--archiveEvents=true",
      "--redisPort=" + servers.redis().port(),
      "--output=" + tmp.newFolder("out")
    };
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    Table archive =
        EventsTable.openOrCreate(IcebergCatalog.hadoop(warehouse.getPath()), "sessionize.events");
    Expected expected = new Expected();
    Instant day = Instant.parse("2026-11-20T00:00:00Z");
    Scenario a = new Scenario(777L, day);
    Scenario b = new Scenario(778L, day.plus(Duration.standardDays(1)));
    Scenario c = new Scenario(779L, day.plus(Duration.standardDays(2)));
    expected.streams.addAll(List.of(a, b, c));

    // (a) The latest checkpoint after SIGKILL.
    expected.produce(a.firstHalf);
    Process first = startJob(args);
    String firstJob = runningJob(first);
    await("rows in the table", () -> !SessionRows.byId(table).isEmpty(), first);
    int afterRows = checkpointNumber(latestCheckpoint(checkpoints, firstJob));
    await(
        "two more completed checkpoints",
        () -> checkpointNumber(latestCheckpoint(checkpoints, firstJob)) >= afterRows + 2,
        first);
    first.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint
    assertTrue(first.waitFor(30, TimeUnit.SECONDS));
    Path latest = latestCheckpoint(checkpoints, firstJob).orElseThrow();
    expected.produce(a.secondHalf);
    Process second = restore(args, latest);
    String secondJob = runningJob(second);
    assertEverything("(a) the latest checkpoint " + latest, table, archive, expected, a, second);

    // (b) An older retained checkpoint K, from before the second half of stream B arrived. That
    // half comes in two parts: the first, to partition 0 only, is read, written and committed
    // before
    // the job is killed; the second, to partition 1 only, arrives after. The restored job replays
    // partition 0 from K while it reads partition 1's new records at once, so new dead letters
    // reach
    // the sink while replayed ones are still on their way.
    expected.produce(b.firstHalf);
    await("stream B's first half read and committed", () -> committedAll(expected), second);
    Path older = latestCheckpoint(checkpoints, secondJob).orElseThrow();
    int cut = b.secondHalf.size() * 2 / 3;
    expected.produce(b.secondHalf.subList(0, cut), 0);
    awaitReadOnPast(older, checkpoints, secondJob, expected, second);
    awaitDeadLetters("stream B's replayed part", expected, second);
    second.destroyForcibly();
    assertTrue(second.waitFor(30, TimeUnit.SECONDS));
    expected.produce(b.secondHalf.subList(cut, b.secondHalf.size()), 1);
    expected.produce(b.clock);
    Process third = restore(args, older);
    String thirdJob = runningJob(third);
    assertEverything("(b) the older checkpoint " + older, table, archive, expected, b, third);

    // (c) A savepoint taken before the second half of stream C arrived.
    expected.produce(c.firstHalf);
    await("stream C's first half read and committed", () -> committedAll(expected), third);
    Path savepoint = savepoint(thirdJob, tmp.newFolder("savepoints").toPath());
    expected.produce(c.secondHalf);
    awaitReadOnPast(savepoint, checkpoints, thirdJob, expected, third);
    third.destroyForcibly();
    assertTrue(third.waitFor(30, TimeUnit.SECONDS));
    expected.produce(c.clock);
    Process fourth = restore(args, savepoint);
    runningJob(fourth);
    assertEverything("(c) the savepoint " + savepoint, table, archive, expected, c, fourth);
  }

  /** One generated stream: its two halves, then a clock event per partition. */
  private static final class Scenario {
    final List<ClickstreamGenerator.Record> firstHalf;
    final List<ClickstreamGenerator.Record> secondHalf;
    final List<ClickstreamGenerator.Record> clock;

    Scenario(long seed, Instant start) {
      List<ClickstreamGenerator.Record> stream =
          new ClickstreamGenerator()
              .seed(seed)
              .start(start)
              .events(1_500)
              .users(40)
              .duplicateRate(0.02)
              .malformedRate(0.03)
              .generate();
      firstHalf = stream.subList(0, stream.size() / 2);
      // The second half of (a) carries its clock, as a stream that simply goes on.
      Instant last =
          stream.stream()
              .filter(r -> r.eventTime != null)
              .map(r -> r.eventTime)
              .max(Comparator.naturalOrder())
              .orElseThrow();
      Instant at = last.plus(Duration.standardHours(2));
      clock = new ArrayList<>();
      for (int p = 0; p < PARTITIONS; p++) {
        String json =
            String.format(
                "{\"user_id\":\"clock\",\"event_id\":\"c%d-%d\",\"event_type\":\"page_view\","
                    + "\"timestamp\":\"%s\",\"page_url\":\"/\"}",
                p, seed, at);
        clock.add(
            new ClickstreamGenerator.Record(
                json.getBytes(StandardCharsets.UTF_8),
                ClickstreamGenerator.Kind.EVENT,
                at,
                at,
                null,
                "clock",
                "c" + p + "-" + seed));
      }
      List<ClickstreamGenerator.Record> rest =
          new ArrayList<>(stream.subList(stream.size() / 2, stream.size()));
      secondHalf = seed == 777L ? withClock(rest) : rest;
    }

    /** The whole stream: both halves and the clock. */
    List<ClickstreamGenerator.Record> all() {
      List<ClickstreamGenerator.Record> all = new ArrayList<>(firstHalf);
      all.addAll(secondHalf);
      if (!secondHalf.containsAll(clock)) {
        all.addAll(clock);
      }
      return all;
    }

    private List<ClickstreamGenerator.Record> withClock(List<ClickstreamGenerator.Record> rest) {
      rest.addAll(clock);
      return rest;
    }
  }

  /**
   * What the records produced so far must give, computed without the pipeline, and where each
   * record went: its partition and offset come back from the broker.
   */
  private final class Expected {
    final Map<String, byte[]> rejected = new TreeMap<>();
    final Map<String, String> reasons = new TreeMap<>();
    final TreeSet<String> accepted = new TreeSet<>();
    final List<Scenario> streams = new ArrayList<>();
    final long[] ends = new long[PARTITIONS];
    int produced;

    void produce(List<ClickstreamGenerator.Record> records) throws Exception {
      produce(records, -1);
    }

    /** Produces to {@code only} if it is a partition, else round-robin. */
    void produce(List<ClickstreamGenerator.Record> records, int only) throws Exception {
      Properties props = new Properties();
      props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers.kafka().bootstrapServers());
      props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
      props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
      props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20);
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
        for (ClickstreamGenerator.Record r : records) {
          // Round-robin, except that the clock has one event per partition.
          int partition =
              "clock".equals(r.userId)
                  ? Integer.parseInt(r.eventId.substring(1, r.eventId.indexOf('-')))
                  : only >= 0 ? only : produced % PARTITIONS;
          RecordMetadata m =
              producer.send(new ProducerRecord<>(TOPIC, partition, null, r.payload)).get();
          String position = TOPIC + "/" + m.partition() + "/" + m.offset();
          ends[m.partition()] = m.offset() + 1;
          if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
            rejected.put(position, r.payload);
            reasons.put(position, r.expectedReason);
          } else {
            accepted.add(position);
          }
          produced++;
        }
      }
    }
  }

  /**
   * Waits until the restored job has read to the end of the stream, then compares the table, the
   * dead letters, the dashboard and the archive with everything produced so far.
   */
  private void assertEverything(
      String restore, Table table, Table archive, Expected expected, Scenario now, Process job)
      throws Exception {
    String folder = restore.substring(restore.lastIndexOf('/') + 1);
    await(
        "the log saying the job restored " + restore,
        () ->
            Files.readAllLines(log.toPath()).stream()
                .anyMatch(l -> l.contains("Restoring job") && l.contains(folder)),
        job);
    // The model: each stream on its own (a day apart, they share no session; the same ids come
    // back a day later, long after the job's dedup state for them expired), clock sessions apart.
    List<String> sessions = new ArrayList<>();
    List<SessionModel.Row> rows = new ArrayList<>();
    Map<Long, Integer> minutes = new TreeMap<>();
    for (Scenario stream : expected.streams.subList(0, expected.streams.indexOf(now) + 1)) {
      GeneratedExpectations model = new GeneratedExpectations(stream.all());
      model.model.sessions().stream().filter(s -> !s.startsWith("clock ")).forEach(sessions::add);
      model.model.rows().stream()
          .filter(r -> !"clock".equals(r.columns().get("user_id")))
          .forEach(rows::add);
      model.eventsPerMinute.forEach((m, n) -> minutes.merge(m, n, Integer::sum));
    }
    try {
      await(
          restore + ": " + sessions.size() + " sessions in the table",
          () -> RestartScenario.sessions(table).size() >= sessions.size(),
          job);
    } catch (AssertionError timedOut) {
      SessionModel.assertSame(sessions, RestartScenario.sessions(table)); // says what differs
      throw timedOut;
    }
    SessionModel.assertSame(sessions, RestartScenario.sessions(table));
    // Every column but version and emitted_at, one row per session_id (the last final rows may
    // still be on their way).
    SessionRows.awaitRows(rows, table, Set.of("clock"), 60);
    int deadLetters = assertDeadLettersOnce(restore, expected, job);
    try (Jedis jedis = servers.redis().client()) {
      await(
          restore + ": dashboard minutes equal to the accepted events",
          () -> RestartScenario.dashboard(jedis).equals(minutes),
          job);
    }
    int archivedTwice = assertArchive(restore, archive, expected, job);
    System.out.printf(
        "FlinkRecoveryIT %s: %d records produced, %d sessions, %d dead letters, %d dashboard"
            + " minutes, %d archived positions (%d archived twice); job counters %s%n",
        restore,
        expected.produced,
        sessions.size(),
        deadLetters,
        minutes.size(),
        expected.accepted.size(),
        archivedTwice,
        counters(runningJob(job)));
  }

  /**
   * Each rejected record exactly once, with its reason and its exact bytes: waits for them, then a
   * little longer for any repeat.
   */
  private int assertDeadLettersOnce(String restore, Expected expected, Process job)
      throws Exception {
    int n = expected.rejected.size();
    await(
        restore + ": " + n + " dead letters",
        () -> servers.kafka().readAll(DLQ, n, 5_000).size() >= n,
        job);
    Thread.sleep(5_000);
    List<ConsumerRecord<String, String>> letters = servers.kafka().readAll(DLQ, n + 1, 10_000);
    Map<String, Integer> times = new TreeMap<>();
    Map<String, String> reasons = new TreeMap<>();
    List<String> wrongBytes = new ArrayList<>();
    for (ConsumerRecord<String, String> d : letters) {
      JsonNode letter = Json.MAPPER.readTree(d.value());
      String position =
          letter.at("/source/topic").asText()
              + "/"
              + letter.at("/source/partition").asInt()
              + "/"
              + letter.at("/source/offset").asLong();
      times.merge(position, 1, Integer::sum);
      reasons.put(position, letter.get("reason").asText());
      byte[] payload =
          "base64".equals(letter.path("payload_encoding").asText())
              ? Base64.getDecoder().decode(letter.get("payload").asText())
              : letter.get("payload").asText().getBytes(StandardCharsets.UTF_8);
      if (!Arrays.equals(expected.rejected.get(position), payload)) {
        wrongBytes.add(position);
      }
    }
    times.values().removeIf(t -> t == 1);
    assertEquals(restore + ": dead letters written more than once", Map.of(), times);
    assertEquals(restore + ": dead letters and their reasons", expected.reasons, reasons);
    assertEquals(restore + ": dead letters whose payload differs", List.of(), wrongBytes);
    return letters.size();
  }

  /** Waits until every rejected record produced so far is in the dead-letter topic. */
  private void awaitDeadLetters(String what, Expected expected, Process job) throws Exception {
    int n = expected.rejected.size();
    await(
        what + ": " + n + " dead letters written",
        () -> servers.kafka().readAll(DLQ, n, 5_000).size() >= n,
        job);
  }

  /**
   * The archive (the raw master dataset) holds every record read, accepted or rejected, with its
   * exact bytes at its position; a record archived twice (a replay after a restore) is archived
   * identically but for its ingestion time. Returns how many positions are archived more than once.
   */
  private int assertArchive(String restore, Table archive, Expected expected, Process job)
      throws Exception {
    Map<String, List<Record>> byPosition = new TreeMap<>();
    Set<String> read = new TreeSet<>(expected.accepted);
    read.addAll(expected.rejected.keySet());
    await(
        restore + ": " + read.size() + " positions in the archive",
        () -> {
          byPosition.clear();
          byPosition.putAll(archived(archive));
          return byPosition.keySet().containsAll(read);
        },
        job);
    assertEquals(restore + ": archived positions", read, byPosition.keySet());
    int twice = 0;
    for (Map.Entry<String, List<Record>> e : byPosition.entrySet()) {
      byte[] bytes = expected.rejected.get(e.getKey());
      if (bytes != null) {
        assertEquals(
            restore + ": " + e.getKey() + " archived with its exact bytes",
            java.nio.ByteBuffer.wrap(bytes),
            e.getValue().get(0).getField("record"));
      }
      if (e.getValue().size() > 1) {
        twice++;
        for (Record r : e.getValue()) {
          for (String column : List.of("record", "kafka_timestamp")) {
            assertEquals(
                restore + ": " + e.getKey() + " archived twice: " + column,
                e.getValue().get(0).getField(column),
                r.getField(column));
          }
        }
      }
    }
    return twice;
  }

  private static Map<String, List<Record>> archived(Table archive) throws IOException {
    archive.refresh();
    Map<String, List<Record>> byPosition = new TreeMap<>();
    if (archive.currentSnapshot() == null) {
      return byPosition;
    }
    try (CloseableIterable<Record> rows = IcebergGenerics.read(archive).build()) {
      for (Record r : rows) {
        String position =
            r.getField("source_topic")
                + "/"
                + r.getField("source_partition")
                + "/"
                + r.getField("source_offset");
        byPosition.computeIfAbsent(position, p -> new ArrayList<>()).add(r.copy());
      }
    }
    return byPosition;
  }

  /**
   * Waits until the job has read past {@code restorePoint}: every record produced so far is read
   * and its offset committed to the group, and two more checkpoints completed after it.
   */
  private void awaitReadOnPast(
      Path restorePoint, Path checkpoints, String jobId, Expected expected, Process job)
      throws Exception {
    await("the rest of the stream read and committed", () -> committedAll(expected), job);
    int now = checkpointNumber(latestCheckpoint(checkpoints, jobId));
    await(
        "two more checkpoints after " + restorePoint,
        () -> checkpointNumber(latestCheckpoint(checkpoints, jobId)) >= now + 2,
        job);
  }

  /** True when the group's committed offsets are at the end of every partition produced to. */
  private boolean committedAll(Expected expected) throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers.kafka().bootstrapServers()))) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get();
      for (int p = 0; p < PARTITIONS; p++) {
        OffsetAndMetadata o = committed.get(new TopicPartition(TOPIC, p));
        if (o == null || o.offset() < expected.ends[p]) {
          return false;
        }
      }
      return true;
    }
  }

  private Process restore(String[] args, Path from) throws IOException {
    List<String> restart = new ArrayList<>(List.of(args));
    restart.add("--savepointPath=" + from.toUri());
    System.out.printf("FlinkRecoveryIT: restoring from %s%n", from);
    return startJob(restart.toArray(String[]::new));
  }

  private Process startJob(String... args) throws IOException {
    List<String> command =
        JavaCommand.of(
            List.of(
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                // The checkpoint coordinator says from which checkpoint it restores.
                "-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.checkpoint.CheckpointCoordinator=info",
                // What the dead-letter sinks skip as already written after a restore.
                "-Dorg.slf4j.simpleLogger.log.org.apache.beam.sdk.io.kafka.KafkaExactlyOnceSink=info",
                "-Dorg.slf4j.simpleLogger.log.dev.sessionize.pipeline=info"),
            "dev.sessionize.runners.flink.FlinkProduction",
            List.of(args));
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
            .start();
    jobs.add(p);
    return p;
  }

  /** The id of the running job of this JVM's embedded cluster, from its REST API. */
  private String runningJob(Process job) throws Exception {
    String[] id = new String[1];
    await(
        "the job running",
        () -> {
          JsonNode jobs = get("/jobs");
          for (JsonNode j : jobs.path("jobs")) {
            if ("RUNNING".equals(j.path("status").asText())) {
              id[0] = j.path("id").asText();
              return true;
            }
          }
          return false;
        },
        job);
    return id[0];
  }

  /** Triggers a savepoint of the job through the REST API and waits for its location. */
  private Path savepoint(String jobId, Path folder) throws Exception {
    String body =
        "{\"target-directory\":\""
            + folder.toUri()
            + "\",\"cancel-job\":false,\"formatType\":\"CANONICAL\"}";
    JsonNode trigger =
        Json.MAPPER.readTree(
            http.send(
                    HttpRequest.newBuilder(rest("/jobs/" + jobId + "/savepoints"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body());
    String request = trigger.path("request-id").asText();
    assertTrue("savepoint triggered: " + trigger, !request.isEmpty());
    long deadline = System.currentTimeMillis() + 120_000;
    while (System.currentTimeMillis() < deadline) {
      JsonNode status = get("/jobs/" + jobId + "/savepoints/" + request);
      if ("COMPLETED".equals(status.at("/status/id").asText())) {
        String location = status.at("/operation/location").asText();
        assertTrue("savepoint taken: " + status, !location.isEmpty());
        System.out.printf("FlinkRecoveryIT: savepoint %s%n", location);
        return Path.of(URI.create(location.startsWith("file:/") ? location : "file:" + location));
      }
      Thread.sleep(500);
    }
    throw new AssertionError("no savepoint within 2 minutes");
  }

  /**
   * The job's Beam counters of interest (namespace sessionize), summed over its operators and
   * subtasks, from Flink's REST API.
   */
  private Map<String, Long> counters(String jobId) throws Exception {
    Map<String, Long> out = new TreeMap<>();
    for (JsonNode vertex : get("/jobs/" + jobId).path("vertices")) {
      String base =
          "/jobs/" + jobId + "/vertices/" + vertex.path("id").asText() + "/subtasks/metrics";
      List<String> names = new ArrayList<>();
      for (JsonNode m : get(base)) {
        String id = m.path("id").asText();
        if (id.contains("sessionize")
            && List.of(
                    "records_read",
                    "source_rereads_dropped",
                    "accepted",
                    "duplicates",
                    "dead_letters_already_written")
                .stream()
                .anyMatch(id::endsWith)) {
          names.add(id);
        }
      }
      if (names.isEmpty()) {
        continue;
      }
      for (JsonNode m : get(base + "?agg=sum&get=" + String.join(",", names))) {
        String id = m.path("id").asText();
        out.merge(
            id.substring(id.lastIndexOf('.') + 1), (long) m.path("sum").asDouble(), Long::sum);
      }
    }
    return out;
  }

  private JsonNode get(String path) throws Exception {
    try {
      return Json.MAPPER.readTree(
          http.send(
                  HttpRequest.newBuilder(rest(path)).GET().build(),
                  HttpResponse.BodyHandlers.ofString())
              .body());
    } catch (IOException e) {
      return Json.MAPPER.createObjectNode(); // not up yet
    }
  }

  private URI rest(String path) {
    return URI.create("http://127.0.0.1:" + restPort + path);
  }

  /** The newest {@code chk-N} folder of the job with a {@code _metadata} file. */
  private static Optional<Path> latestCheckpoint(Path storage, String jobId) throws IOException {
    Path folder = storage.resolve(jobId);
    if (!Files.isDirectory(folder)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.walk(folder)) {
      return files
          .filter(p -> p.getFileName().toString().equals("_metadata"))
          .map(Path::getParent)
          .max(Comparator.comparingInt(p -> checkpointNumber(Optional.of(p))));
    }
  }

  private static int checkpointNumber(Optional<Path> chk) {
    return chk.map(p -> Integer.parseInt(p.getFileName().toString().substring("chk-".length())))
        .orElse(0);
  }

  /** Waits up to 5 minutes for {@code condition}; fails at once if the job is gone. */
  private void await(String what, java.util.concurrent.Callable<Boolean> condition, Process job)
      throws Exception {
    RestartScenario.await(what, condition, () -> exited(job));
  }

  /** Null while the job runs; else its errors from the log. */
  private String exited(Process job) throws IOException {
    if (job.isAlive()) {
      return null;
    }
    return "it exited; its errors:\n"
        + Files.readAllLines(log.toPath()).stream()
            .filter(l -> !l.contains("exceeded the 80 characters"))
            .filter(l -> l.contains("Exception") || l.contains("Caused by") || l.contains("ERROR"))
            .distinct()
            .limit(30)
            .collect(Collectors.joining("\n"));
  }

  private static int freePort() throws IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
