package dev.sessionize.runners.flink;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.GeneratedExpectations;
import dev.sessionize.pipeline.RestartScenario;
import dev.sessionize.pipeline.SessionizationPipeline;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.iceberg.Table;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.joda.time.Instant;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * Long outages under the production preset ({@link FlinkProduction}: RocksDB, checkpoints, the
 * exponential-delay restart strategy) on the embedded Flink cluster, with a real broker,
 * redis-server and an Iceberg table on disk. One job lives through three outages in a row, each
 * {@code -Dsessionize.outageSeconds} long (20 s in {@code mvn verify}; {@code ./sessionize outages}
 * runs 180 s, longer than the Kafka clients' timeouts):
 *
 * <ol>
 *   <li>the Kafka broker stopped (its log folder and ports kept) right after a quarter of the
 *       stream arrived, while the job reads it and writes its dead letters, and started again;
 *   <li>redis-server stopped and started again <b>empty</b> (no persistence), a quarter of the
 *       stream arriving meanwhile;
 *   <li>the warehouse's storage failing every read, write and delete ({@link OutageFileIO}), the
 *       last quarter arriving meanwhile.
 * </ol>
 *
 * The job is never touched: whatever fails, Flink's restart strategy or the sinks' own retries
 * bring it back. At the end the table equals the independent sort-and-split of the whole stream
 * (every column but version and emitted_at), each dead letter is in its topic once, and every
 * dashboard minute in Redis holds exactly that minute's accepted events; the minutes Redis lost
 * with its data are counted and must be minutes the job had finished before the restart. Figures
 * per outage are printed (restarts, failed checkpoints, time to catch up).
 */
@RunWith(JUnit4.class)
public class OutagesIT {
  private static final int PARTITIONS = 2;
  private static final long OUTAGE_MILLIS = Long.getLong("sessionize.outageSeconds", 20) * 1000;
  private static final long RECOVERY_MILLIS = Math.max(300_000, 3 * OUTAGE_MILLIS);
  private static final String TOPIC = "outages";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String OPERATOR = "flink_taskmanager_job_task_operator_sessionize_";

  @ClassRule public static final TemporaryFolder tmp = new TemporaryFolder();

  private static LocalKafka kafka;
  private static LocalRedis redis;
  private static volatile Throwable failure;

  private int restPort;
  private String metricsUrl;
  private final Map<String, String> figures = new LinkedHashMap<>();

  @BeforeClass
  public static void startServers() throws Exception {
    kafka = LocalKafka.start();
    // Without persistence: started again, it is empty, as a Redis that lost its data would be.
    redis = LocalRedis.start();
  }

  @AfterClass
  public static void stopServers() throws Exception {
    if (redis != null) {
      redis.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  public void theJobRidesOutOutagesOfKafkaRedisAndTheWarehouse() throws Exception {
    RestartScenario scenario = new RestartScenario(1919L, 2_400, 40, PARTITIONS);
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(1919L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(2_400)
            .users(40)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    List<byte[]> all = new ArrayList<>(scenario.firstHalf);
    all.addAll(scenario.secondHalf);
    int quarter = stream.size() / 4;
    List<byte[]> part1 = all.subList(0, quarter);
    List<byte[]> part2 = all.subList(quarter, 2 * quarter);
    List<byte[]> part3 = all.subList(2 * quarter, 3 * quarter);
    List<byte[]> part4 = all.subList(3 * quarter, all.size()); // with the clock events
    // The minutes whose every event is in the first two quarters: the only ones the job may have
    // finished (and Redis lose) before Redis comes back empty.
    Map<Long, Integer> untilRedisOutage =
        new GeneratedExpectations(stream.subList(0, 2 * quarter)).eventsPerMinute;
    Map<Long, Integer> untilWarehouseOutage =
        new GeneratedExpectations(stream.subList(0, 3 * quarter)).eventsPerMinute;

    kafka.createTopic(TOPIC, PARTITIONS);
    kafka.createTopic(TOPIC + "_dlq", 1);
    kafka.produce(TOPIC, PARTITIONS, part1);
    long produced = part1.size();
    File warehouse = tmp.newFolder("warehouse");
    startJob(warehouse);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    await("the first sessions", () -> !RestartScenario.sessions(table).isEmpty());
    String job = runningJob();
    await("a completed checkpoint", () -> checkpoints(job).at("/counts/completed").asInt() > 0);
    final long afterPart1 = produced;
    await("the first quarter read and committed", () -> committed() == afterPart1);

    // 1. The second quarter arrives and the broker goes away at once, while the job reads it and
    // writes its dead letters, then comes back on its ports and log folder.
    Phase kafkaPhase = new Phase(job);
    kafka.produce(TOPIC, PARTITIONS, part2);
    produced += part2.size();
    kafka.stop();
    long kafkaDown = System.currentTimeMillis();
    Thread.sleep(OUTAGE_MILLIS);
    kafka.restart();
    long kafkaBack = System.currentTimeMillis();
    final long afterPart2 = produced;
    // Caught up: the input committed and the dead letters of the first half in their topic.
    int rejectedUntilPart2 = new GeneratedExpectations(stream.subList(0, 2 * quarter)).rejected();
    await(
        "every record of the second quarter committed and its dead letters written",
        () ->
            committed() == afterPart2
                && kafka.readAll(TOPIC + "_dlq", rejectedUntilPart2, 2_000).size()
                    >= rejectedUntilPart2);
    kafkaPhase.done("Kafka broker down", kafkaDown, kafkaBack);

    // 2. Redis goes away while the third quarter arrives, and comes back empty.
    Map<Long, Integer> beforeRedisOutage;
    try (Jedis jedis = redis.client()) {
      beforeRedisOutage = RestartScenario.dashboard(jedis);
    }
    Phase redisPhase = new Phase(job);
    redis.close();
    long redisDown = System.currentTimeMillis();
    kafka.produce(TOPIC, PARTITIONS, part3);
    produced += part3.size();
    Thread.sleep(Math.max(0, OUTAGE_MILLIS - (System.currentTimeMillis() - redisDown)));
    redis = redis.restart();
    long redisBack = System.currentTimeMillis();
    final long afterPart3 = produced;
    await("every record of the third quarter committed", () -> committed() == afterPart3);
    // Every minute the third quarter completed reaches the new Redis: written (or retried) by the
    // job once Redis answers again.
    Map<Long, Integer> completedByPart3 = new TreeMap<>(untilWarehouseOutage);
    completedByPart3
        .entrySet()
        .removeIf(
            e ->
                !e.getValue().equals(scenario.eventsPerMinute.get(e.getKey()))
                    || e.getValue().equals(untilRedisOutage.get(e.getKey())));
    try (Jedis jedis = redis.client()) {
      await(
          completedByPart3.size() + " minutes of the third quarter in Redis",
          () -> {
            Map<Long, Integer> now = RestartScenario.dashboard(jedis);
            return completedByPart3.entrySet().stream()
                .allMatch(e -> e.getValue().equals(now.get(e.getKey())));
          });
    }
    redisPhase.done("Redis down, back empty", redisDown, redisBack);

    // 3. The warehouse's storage fails everything while the last quarter arrives.
    Phase warehousePhase = new Phase(job);
    long failuresBefore = OutageFileIO.FAILURES.get();
    OutageFileIO.down = true;
    long warehouseDown = System.currentTimeMillis();
    kafka.produce(TOPIC, PARTITIONS, part4);
    produced += part4.size();
    Thread.sleep(Math.max(0, OUTAGE_MILLIS - (System.currentTimeMillis() - warehouseDown)));
    OutageFileIO.down = false;
    long warehouseBack = System.currentTimeMillis();
    long storageFailures = OutageFileIO.FAILURES.get() - failuresBefore;
    await(
        scenario.expectedSessions.size() + " sessions in the table",
        () -> RestartScenario.sessions(table).size() >= scenario.expectedSessions.size());
    scenario.assertTable(table);
    warehousePhase.done("warehouse unwritable", warehouseDown, warehouseBack);
    assertTrue("the storage failed the job's operations", storageFailures > 0);
    figures.put("storage operations failed", String.valueOf(storageFailures));

    // Nothing lost: the table (above), every dead letter once, every record committed.
    int deadLetters = scenario.assertDeadLettersOnce(kafka, TOPIC + "_dlq");
    final long total = produced;
    await("every record committed", () -> committed() == total);
    // The dashboard: each minute in Redis exact; the missing ones were finished before Redis lost
    // them (the job holds no state for them any more, so nothing writes them again).
    Map<Long, Integer> dashboard = new TreeMap<>();
    try (Jedis jedis = redis.client()) {
      await(
          "the dashboard minutes of the last quarter",
          () -> {
            dashboard.clear();
            dashboard.putAll(RestartScenario.dashboard(jedis));
            return scenario.eventsPerMinute.entrySet().stream()
                .filter(e -> !e.getValue().equals(untilWarehouseOutage.get(e.getKey())))
                .allMatch(e -> e.getValue().equals(dashboard.get(e.getKey())));
          });
    }
    List<Long> lost = new ArrayList<>();
    for (Map.Entry<Long, Integer> m : scenario.eventsPerMinute.entrySet()) {
      Integer shown = dashboard.get(m.getKey());
      if (shown == null) {
        lost.add(m.getKey());
        assertEquals(
            "a minute missing from Redis must be one the job had finished before the restart",
            m.getValue(),
            untilRedisOutage.get(m.getKey()));
      } else {
        assertEquals("dashboard minute " + m.getKey(), m.getValue(), shown);
      }
    }
    figures.put(
        "dashboard",
        String.format(
            Locale.ROOT,
            "%d minutes in the model, %d in Redis before it went down, %d lost with Redis' data"
                + " (all finished before the outage), every other minute exact",
            scenario.eventsPerMinute.size(),
            beforeRedisOutage.size(),
            lost.size()));
    figures.put(
        "totals",
        String.format(
            Locale.ROOT,
            "%d records, %d sessions equal to the model, %d dead letters once each, %d restarts"
                + " and %d failures in all",
            total,
            scenario.expectedSessions.size(),
            deadLetters,
            restarts(job),
            failures(job)));
    assertEquals("the same job throughout", job, runningJob());
    StringBuilder report =
        new StringBuilder("OutagesIT, outages of " + OUTAGE_MILLIS / 1000 + " s:");
    figures.forEach((k, v) -> report.append("\n  ").append(k).append(": ").append(v));
    System.out.println(report);
    // ./sessionize outages prints this file.
    java.nio.file.Files.writeString(
        java.nio.file.Path.of("target", "OutagesIT-figures.txt"), report + "\n");
    cancel(job);
  }

  /** What the job went through during one outage: restarts and checkpoints, before and after. */
  private final class Phase {
    private final String job;
    private final long restartsBefore;
    private final long failuresBefore;
    private final long failedBefore;
    private final long completedBefore;

    Phase(String job) throws Exception {
      this.job = job;
      restartsBefore = restarts(job);
      failuresBefore = failures(job);
      JsonNode counts = checkpoints(job).get("counts");
      failedBefore = counts.get("failed").asLong();
      completedBefore = counts.get("completed").asLong();
    }

    void done(String name, long down, long back) throws Exception {
      long now = System.currentTimeMillis();
      JsonNode counts = checkpoints(job).get("counts");
      figures.put(
          name,
          String.format(
              Locale.ROOT,
              "down %.1f s; %d restarts (%d failures in the job's exception history);"
                  + " checkpoints %d failed, %d completed; caught up %.1f s"
                  + " after it came back; counters now: iceberg_commit_retries %d,"
                  + " redis_write_retries %d",
              (back - down) / 1000.0,
              restarts(job) - restartsBefore,
              failures(job) - failuresBefore,
              counts.get("failed").asLong() - failedBefore,
              counts.get("completed").asLong() - completedBefore,
              (now - back) / 1000.0,
              counter("iceberg_commit_retries"),
              counter("redis_write_retries")));
      System.out.println("OutagesIT: " + name + ": " + figures.get(name));
    }
  }

  private void startJob(File warehouse) throws Exception {
    FlinkProduction.Options options =
        FlinkProduction.parse(
            new String[] {
              "--flinkMaster=[local]",
              "--parallelism=2",
              "--checkpointingInterval=2000",
              "--minPauseBetweenCheckpoints=1000",
              "--stateBackendStoragePath=" + tmp.newFolder("checkpoints").toURI(),
              "--bootstrapServers=" + kafka.bootstrapServers(),
              "--inputTopic=" + TOPIC,
              "--deadLetterTopic=" + TOPIC + "_dlq",
              "--groupId=" + TOPIC,
              "--idleTimeout=1h",
              "--commitInterval=1s",
              "--warehouse=" + warehouse,
              "--catalogProperties=io-impl=" + OutageFileIO.class.getName(),
              "--redisPort=" + redis.port(),
              "--output=" + tmp.newFolder("out")
            });
    assertEquals(List.of(), FlinkProduction.validate(options));
    FlinkProduction.localClusterConf(options);
    for (String line : FlinkProduction.localEndpoints(options)) {
      String url = line.substring(line.indexOf("http://"));
      if (line.startsWith("Flink web UI")) {
        restPort = URI.create(url).getPort();
      } else if (line.startsWith("Prometheus")) {
        metricsUrl = url;
      }
    }
    assertTrue("the embedded cluster's web UI port", restPort > 0);
    Thread runner =
        new Thread(
            () -> {
              try {
                SessionizationPipeline.run(options).waitUntilFinish();
              } catch (Throwable t) {
                failure = t;
              }
            },
            "outages-job");
    runner.setDaemon(true);
    runner.start();
    await("the job to run", () -> runningJob() != null);
  }

  private JsonNode rest(String method, String path) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + restPort + path))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertTrue(path + " -> " + response.body(), response.statusCode() < 300);
    return Json.MAPPER.readTree(response.body().isEmpty() ? "{}" : response.body());
  }

  private String runningJob() throws Exception {
    try {
      for (JsonNode job : rest("GET", "/jobs").get("jobs")) {
        if (!List.of("FAILED", "CANCELED", "FINISHED").contains(job.get("status").asText())) {
          return job.get("id").asText();
        }
      }
    } catch (java.net.ConnectException notYet) {
      // The embedded cluster is still starting.
    }
    return null;
  }

  private JsonNode checkpoints(String job) throws Exception {
    return rest("GET", "/jobs/" + job + "/checkpoints");
  }

  private long restarts(String job) throws Exception {
    JsonNode metrics = rest("GET", "/jobs/" + job + "/metrics?get=numRestarts");
    return metrics.size() == 0 ? 0 : metrics.get(0).get("value").asLong();
  }

  /** The failures Flink recorded for the job (its web UI's Exceptions tab). */
  private long failures(String job) throws Exception {
    return rest("GET", "/jobs/" + job + "/exceptions").at("/exceptionHistory/entries").size();
  }

  private void cancel(String job) throws Exception {
    rest("PATCH", "/jobs/" + job + "?mode=cancel");
  }

  /** A job counter summed over its subtasks on the Prometheus endpoint (since the last restart). */
  private long counter(String name) throws Exception {
    if (metricsUrl == null) {
      return -1;
    }
    String body =
        HTTP.send(
                HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    double sum = 0;
    for (String line : body.split("\n")) {
      if (line.startsWith(OPERATOR + name + "{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Math.round(sum);
  }

  /** The offsets the job committed (with its checkpoints), summed over the input's partitions. */
  private static long committed() throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                10_000))) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(TOPIC).partitionsToOffsetAndMetadata().get();
      long sum = 0;
      for (OffsetAndMetadata o : offsets.values()) {
        sum += o == null ? 0 : o.offset();
      }
      return sum;
    } catch (java.util.concurrent.ExecutionException brokerBusy) {
      return -1;
    }
  }

  /** Waits for {@code condition}; fails at once when the job has failed for good. */
  private static void await(String what, Callable<Boolean> condition) throws Exception {
    long deadline = System.currentTimeMillis() + RECOVERY_MILLIS;
    while (!condition.call()) {
      if (failure != null) {
        throw new AssertionError("the job failed while waiting for " + what, failure);
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(
            "timed out after " + RECOVERY_MILLIS / 1000 + " s waiting for " + what);
      }
      Thread.sleep(1_000);
    }
  }
}
