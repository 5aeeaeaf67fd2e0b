package dev.sessionize.pipeline;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.iceberg.Table;
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
    List<String> command =
        JavaCommand.of(
            List.of(
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                // The checkpoint coordinator says from which checkpoint it restores.
                "-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.checkpoint.CheckpointCoordinator=info"),
            "dev.sessionize.runners.flink.FlinkProduction",
            List.of(extra));
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
    RestartScenario scenario = new RestartScenario(777L, 3_000, 60, PARTITIONS);
    servers.kafka().createTopic("clickstream_events", PARTITIONS);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    servers.kafka().produce("clickstream_events", PARTITIONS, scenario.firstHalf);

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
    RestartScenario.await(
        "rows in the table", () -> SessionRows.byId(table).size() > 0, () -> exited(first, log));
    int afterRows = latestCheckpoint(checkpoints.toPath()).map(FlinkRecoveryIT::number).orElse(0);
    RestartScenario.await(
        "two more completed checkpoints",
        () ->
            latestCheckpoint(checkpoints.toPath()).map(FlinkRecoveryIT::number).orElse(0)
                >= afterRows + 2,
        () -> exited(first, log));
    int rowsAtKill = SessionRows.byId(table).size();
    first.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint
    assertTrue(first.waitFor(30, TimeUnit.SECONDS));
    Path restoreFrom = latestCheckpoint(checkpoints.toPath()).orElseThrow();
    System.out.printf(
        "FlinkRecoveryIT: killed after %d rows; restoring from %s%n", rowsAtKill, restoreFrom);

    servers.kafka().produce("clickstream_events", PARTITIONS, scenario.secondHalf);
    List<String> restart = new ArrayList<>(List.of(args));
    restart.add("--savepointPath=" + restoreFrom.toUri());
    Process second = startJob(log, restart.toArray(String[]::new));

    RestartScenario.await(
        scenario.expectedSessions.size() + " sessions",
        () -> RestartScenario.sessions(table).size() >= scenario.expectedSessions.size(),
        () -> exited(second, log));
    scenario.assertTable(table);
    // ... and it was a restore of that checkpoint, not a fresh start from the committed offsets.
    assertTrue(
        "the restarted job restored " + restoreFrom,
        Files.readAllLines(log.toPath()).stream()
            .anyMatch(
                l ->
                    l.contains("Restoring job")
                        && l.contains(restoreFrom.getFileName().toString())));
    int deadLetters = scenario.assertDeadLettersOnce(servers.kafka(), "clickstream_events_dlq");
    // The dashboard: every minute's document holds exactly that minute's accepted events.
    try (Jedis jedis = servers.redis().client()) {
      RestartScenario.await(
          "dashboard minutes equal to the accepted events",
          () -> RestartScenario.dashboard(jedis).equals(scenario.eventsPerMinute),
          () -> exited(second, log));
    }
    System.out.printf(
        "FlinkRecoveryIT: %d sessions, %d dead letters, %d dashboard minutes after the restart%n",
        scenario.expectedSessions.size(), deadLetters, scenario.eventsPerMinute.size());
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

  /** Null while the job runs; else its errors from the log. */
  private static String exited(Process job, File log) throws IOException {
    if (job.isAlive()) {
      return null;
    }
    return "it exited; its errors:\n"
        + Files.readAllLines(log.toPath()).stream()
            .filter(l -> !l.contains("exceeded the 80 characters"))
            .filter(l -> l.contains("Exception") || l.contains("Caused by") || l.contains("ERROR"))
            .distinct()
            .limit(30)
            .collect(java.util.stream.Collectors.joining("\n"));
  }
}
