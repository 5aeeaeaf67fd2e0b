package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
 * Crash recovery on the FlinkRunner with the production preset (RocksDB, exactly-once checkpoints,
 * transactional dead letters), the job in its own JVM in local mode: a generated stream (fixed
 * seed, duplicates, malformed records) is half produced, the job runs until checkpoints have
 * completed after it wrote sessions, and is killed with SIGKILL; it is restarted from the latest
 * retained checkpoint while the rest of the stream arrives. The Iceberg table must then equal the
 * sessions of an independent sort-and-split (none lost, none twice, no event counted twice), the
 * dead-letter topic must hold each rejected record exactly once, and the Redis minutes must hold
 * exactly the accepted events of each minute.
 */
@RunWith(JUnit4.class)
public class FlinkRecoveryIT {
  private static final int PARTITIONS = 3;

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();
  private final List<Process> jobs = new ArrayList<>();

  @After
  public void killJobs() throws Exception {
    for (Process p : jobs) {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    // The jobs' whole log stays in target/ for a look after the temporary folder is gone.
    File log = new File(tmp.getRoot(), "job.log");
    if (log.exists()) {
      Files.copy(
          log.toPath(),
          Path.of("target", "FlinkRecoveryIT-job.log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private Process startJob(File log, String... extra) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(new File(System.getProperty("java.home"), "bin/java").getPath());
    // The JVM flags runners/flink's exec configuration gives the job (see its pom).
    for (String flag : System.getProperty("sessionize.jvm.opens", "").split(" ")) {
      if (!flag.isBlank()) {
        command.add(flag);
      }
    }
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    // The checkpoint coordinator says from which checkpoint it restores.
    command.add(
        "-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.checkpoint.CheckpointCoordinator=info");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("dev.sessionize.runners.flink.FlinkProduction");
    command.addAll(List.of(extra));
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
            .start();
    jobs.add(p);
    return p;
  }

  @Test
  public void killedHardAndRestoredFromTheLatestCheckpointLosesAndRepeatsNothing()
      throws Exception {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(777L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(3_000)
            .users(60)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    SessionModel model =
        new SessionModel(Duration.standardMinutes(30), Duration.standardMinutes(5));
    Map<String, Integer> expectedReasons = new TreeMap<>();
    Map<Long, Integer> perMinute = new TreeMap<>();
    Set<String> distinct = new HashSet<>();
    List<byte[]> values = new ArrayList<>();
    Instant last = BoundedWindow.TIMESTAMP_MIN_VALUE;
    for (ClickstreamGenerator.Record r : stream) {
      values.add(r.payload);
      if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
        expectedReasons.merge(r.expectedReason, 1, Integer::sum);
      } else if (distinct.add(r.userId + "/" + r.eventId)) {
        model.accept(r.userId, r.eventTime, BoundedWindow.TIMESTAMP_MIN_VALUE);
        perMinute.merge(r.eventTime.getMillis() / 60_000, 1, Integer::sum);
        last = r.eventTime.isAfter(last) ? r.eventTime : last;
      }
    }
    List<String> expectedSessions = model.sessions();
    int rejected = expectedReasons.values().stream().mapToInt(Integer::intValue).sum();
    // A clock event per partition two hours after the last event closes every session at the end
    // (the idle rule is off, so the watermark only moves with the data).
    Instant clock = last.plus(Duration.standardHours(2));
    List<byte[]> clocks = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) {
      clocks.add(
          String.format(
                  "{\"user_id\":\"clock\",\"event_id\":\"c%d\",\"event_type\":\"page_view\","
                      + "\"timestamp\":\"%s\",\"page_url\":\"/\"}",
                  p, clock)
              .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    perMinute.merge(clock.getMillis() / 60_000, PARTITIONS, Integer::sum);

    servers.kafka().createTopic("clickstream_events", PARTITIONS);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    int half = values.size() / 2;
    servers.kafka().produce("clickstream_events", PARTITIONS, values.subList(0, half));

    File warehouse = tmp.newFolder("warehouse");
    File checkpoints = tmp.newFolder("checkpoints");
    File log = new File(tmp.getRoot(), "job.log");
    String[] args = {
      "--flinkMaster=[local]",
      "--parallelism=2",
      "--checkpointingInterval=2000",
      "--minPauseBetweenCheckpoints=1000",
      "--stateBackendStoragePath=" + checkpoints.toURI(),
      "--bootstrapServers=" + servers.kafka().bootstrapServers(),
      "--groupId=recovery-it",
      "--idleTimeout=1h",
      "--commitInterval=1s",
      "--warehouse=" + warehouse,
      "--redisPort=" + servers.redis().port(),
      "--output=" + tmp.newFolder("out")
    };
    Process first = startJob(log, args);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    await(first, log, "rows in the table", () -> SessionRows.byId(table).size() > 0);
    int afterRows = latestCheckpoint(checkpoints.toPath()).map(FlinkRecoveryIT::number).orElse(0);
    await(
        first,
        log,
        "two more completed checkpoints",
        () ->
            latestCheckpoint(checkpoints.toPath()).map(FlinkRecoveryIT::number).orElse(0)
                >= afterRows + 2);
    int rowsAtKill = SessionRows.byId(table).size();
    first.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint
    assertTrue(first.waitFor(30, TimeUnit.SECONDS));
    Path restoreFrom = latestCheckpoint(checkpoints.toPath()).orElseThrow();
    System.out.printf(
        "FlinkRecoveryIT: killed after %d rows; restoring from %s%n", rowsAtKill, restoreFrom);

    servers.kafka().produce("clickstream_events", PARTITIONS, values.subList(half, values.size()));
    servers.kafka().produce("clickstream_events", PARTITIONS, clocks);
    List<String> restart = new ArrayList<>(List.of(args));
    restart.add("--savepointPath=" + restoreFrom.toUri());
    Process second = startJob(log, restart.toArray(String[]::new));

    await(
        second,
        log,
        expectedSessions.size() + " sessions",
        () -> describe(SessionRows.byId(table)).size() >= expectedSessions.size());
    SessionModel.assertSame(expectedSessions, describe(SessionRows.byId(table)));
    // ... and it was a restore of that checkpoint, not a fresh start from the committed offsets.
    assertTrue(
        "the restarted job restored " + restoreFrom,
        Files.readAllLines(log.toPath()).stream()
            .anyMatch(
                l ->
                    l.contains("Restoring job")
                        && l.contains(restoreFrom.getFileName().toString())));

    // Each rejected record once: wait for them, then a little longer for any repeat.
    List<ConsumerRecord<String, String>> deadLetters =
        servers.kafka().readAll("clickstream_events_dlq", rejected, 120_000);
    Thread.sleep(5_000);
    deadLetters = servers.kafka().readAll("clickstream_events_dlq", rejected + 1, 10_000);
    Map<String, Integer> reasons = new TreeMap<>();
    Map<String, Integer> sources = new TreeMap<>();
    for (ConsumerRecord<String, String> d : deadLetters) {
      JsonNode letter = Json.MAPPER.readTree(d.value());
      reasons.merge(letter.get("reason").asText(), 1, Integer::sum);
      sources.merge(letter.get("source").toString(), 1, Integer::sum);
    }
    sources.values().removeIf(n -> n == 1);
    assertEquals("dead letters written more than once: " + sources, expectedReasons, reasons);

    // The dashboard: every minute's document holds exactly that minute's accepted events.
    try (Jedis jedis = servers.redis().client()) {
      await(
          second,
          log,
          "dashboard minutes equal to the accepted events",
          () -> dashboard(jedis).equals(perMinute));
    }
    System.out.printf(
        "FlinkRecoveryIT: %d sessions, %d dead letters, %d dashboard minutes after the restart%n",
        expectedSessions.size(), deadLetters.size(), perMinute.size());
  }

  private static Map<Long, Integer> dashboard(Jedis jedis) throws Exception {
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

  /** The newest {@code chk-N} folder with a {@code _metadata} file. */
  private static Optional<Path> latestCheckpoint(Path storage) throws IOException {
    try (Stream<Path> files = Files.walk(storage)) {
      return files
          .filter(p -> p.getFileName().toString().equals("_metadata"))
          .map(Path::getParent)
          .max(Comparator.comparingInt(FlinkRecoveryIT::number));
    }
  }

  private static int number(Path chk) {
    return Integer.parseInt(chk.getFileName().toString().substring("chk-".length()));
  }

  /** Rows as "user start end events"; the clock's session never closes, so it is left out. */
  private static List<String> describe(Map<String, Record> rows) {
    List<String> out = new ArrayList<>(SessionRows.describe(rows));
    out.removeIf(row -> row.startsWith("clock "));
    return out;
  }

  private static void await(Process job, File log, String what, Callable<Boolean> condition)
      throws Exception {
    long deadline = System.currentTimeMillis() + 300_000;
    while (!condition.call()) {
      if (!job.isAlive() || System.currentTimeMillis() > deadline) {
        List<String> lines =
            Files.readAllLines(log.toPath()).stream()
                .filter(l -> !l.contains("exceeded the 80 characters"))
                .filter(
                    l -> l.contains("Exception") || l.contains("Caused by") || l.contains("ERROR"))
                .distinct()
                .collect(java.util.stream.Collectors.toList());
        throw new AssertionError(
            (job.isAlive() ? "timed out waiting for " : "the job exited while waiting for ")
                + what
                + "; the job's errors:\n"
                + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
      }
      Thread.sleep(1_000);
    }
  }
}
