package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.SessionizeMetrics;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.iceberg.Table;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * Outages while the streaming job runs (DirectRunner, real servers): a persistent redis-server
 * stopped and started again, and another writer committing to the Iceberg table in the middle of
 * the job's commits. Each time the results must equal an independent computation of the whole
 * stream ({@link RestartScenario}). A broker restart and an unwritable warehouse are run on the
 * FlinkRunner with the production preset ({@code OutagesIT}), and the dead-letter writer through
 * broker outages by {@code DeadLetterTransactionsIT}.
 */
@RunWith(JUnit4.class)
public class OutageIT {
  private static final int PARTITIONS = 2;
  private static final long OUTAGE_MILLIS = 12_000;

  private static LocalKafka kafka;
  private static LocalRedis redis;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @BeforeClass
  public static void startServers() throws Exception {
    kafka = LocalKafka.start();
    File data = java.nio.file.Files.createTempDirectory("sessionize-redis").toFile();
    data.deleteOnExit();
    // Persistent, as a production Redis is: its data survive the stop and start.
    redis = LocalRedis.start(new LocalRedis.Settings().persistentIn(data.toPath()));
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

  private PipelineResult startJob(String input, String name, File warehouse, String... extra)
      throws Exception {
    kafka.createTopic(name + "-dlq", 1);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--runner=DirectRunner",
                "--blockOnRun=false",
                "--source=kafka",
                "--bootstrapServers=" + kafka.bootstrapServers(),
                "--inputTopic=" + input,
                "--deadLetterTopic=" + name + "-dlq",
                "--groupId=" + name,
                "--idleTimeout=1h",
                "--commitInterval=1s",
                "--sessionsSink=iceberg",
                "--warehouse=" + warehouse,
                "--output=" + tmp.newFolder("out")));
    args.addAll(List.of(extra));
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
            .as(SessionizationPipeline.Options.class);
    options.as(StreamingOptions.class).setStreaming(true);
    return SessionizationPipeline.run(options);
  }

  /** Null while the job runs; else its state and why it ended. */
  private static String gone(PipelineResult result) {
    if (!result.getState().isTerminal()) {
      return null;
    }
    try {
      result.waitUntilFinish(org.joda.time.Duration.millis(1));
      return "state " + result.getState();
    } catch (RuntimeException e) {
      java.io.StringWriter trace = new java.io.StringWriter();
      e.printStackTrace(new java.io.PrintWriter(trace));
      return "state " + result.getState() + ": " + trace;
    }
  }

  /**
   * Redis down for a while: the job keeps sessionizing (the whole table is written while Redis is
   * down), the dashboard writes fail and are retried, and once Redis is back every minute's
   * document holds exactly that minute's accepted events.
   */
  @Test
  public void redisOutageDashboardCatchesUpAndSessionsGoOn() throws Exception {
    RestartScenario s = new RestartScenario(7101L, 1_200, 40, PARTITIONS);
    kafka.createTopic("redis-outage", PARTITIONS);
    kafka.produce("redis-outage", PARTITIONS, s.firstHalf);
    File warehouse = tmp.newFolder("warehouse");
    PipelineResult result =
        startJob(
            "redis-outage",
            "redis-outage-job",
            warehouse,
            "--dashboardSink=redis",
            "--redisPort=" + redis.port());
    try {
      Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
      try (Jedis jedis = redis.client()) {
        RestartScenario.await(
            "the first dashboard minutes",
            () -> RestartScenario.dashboard(jedis).size() > 10,
            () -> gone(result));
      }
      redis.close();
      long down = System.currentTimeMillis();
      kafka.produce("redis-outage", PARTITIONS, s.secondHalf);
      RestartScenario.await(
          "every session while Redis is down",
          () -> RestartScenario.sessions(table).size() >= s.expectedSessions.size(),
          () -> gone(result));
      s.assertTable(table);
      long sessionsDoneAfter = System.currentTimeMillis() - down;
      Thread.sleep(Math.max(0, OUTAGE_MILLIS - sessionsDoneAfter));
      long failures = SessionizeMetrics.read(result, "redis_write_failures");
      redis = redis.restart();
      long outage = System.currentTimeMillis() - down;
      long up = System.currentTimeMillis();
      try (Jedis jedis = redis.client()) {
        RestartScenario.await(
            "the dashboard to catch up",
            () -> RestartScenario.dashboard(jedis).equals(s.eventsPerMinute),
            () -> gone(result));
      }
      assertThat("writes failed while Redis was down", failures, greaterThan(0L));
      System.out.printf(
          "OutageIT: Redis down %d ms; all %d sessions in the table %d ms into the outage; %d"
              + " failed writes retried; dashboard (%d minutes) caught up %d ms after the restart%n",
          outage,
          s.expectedSessions.size(),
          sessionsDoneAfter,
          failures,
          s.eventsPerMinute.size(),
          System.currentTimeMillis() - up);
    } finally {
      result.cancel();
    }
  }

  /**
   * Another writer commits to the table whenever one of the job's commit attempts has read the
   * table and not yet swapped in its version ({@link RivalWriterFileIO}), six attempts in a row:
   * Iceberg's own retries (five attempts by default) all lose, the job's commit loop waits and
   * tries again with the same files, and that commit loses once more before it gets in. No row is
   * lost or doubled.
   */
  @Test
  public void icebergCommitConflictsAreRetried() throws Exception {
    RestartScenario s = new RestartScenario(7103L, 600, 20, PARTITIONS);
    File warehouse = tmp.newFolder("warehouse");
    Table other = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    kafka.createTopic("conflicts", PARTITIONS);
    kafka.produce("conflicts", PARTITIONS, s.firstHalf);
    kafka.produce("conflicts", PARTITIONS, s.secondHalf);
    AtomicLong otherCommits = new AtomicLong();
    RivalWriterFileIO.rival =
        () -> {
          other.refresh();
          other
              .updateProperties()
              .set("other-writer.tick", Long.toString(otherCommits.incrementAndGet()))
              .commit();
        };
    int races = 6;
    RivalWriterFileIO.RACES.set(races);
    long retriedBefore = CommitAttempts.RETRIED.get();
    PipelineResult result =
        startJob(
            "conflicts",
            "conflicts-job",
            warehouse,
            "--catalogProperties=metrics-reporter-impl="
                + CommitAttempts.class.getName()
                + ",io-impl="
                + RivalWriterFileIO.class.getName());
    try {
      Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
      RestartScenario.await(
          "every session despite the other writer",
          () -> RestartScenario.sessions(table).size() >= s.expectedSessions.size(),
          () -> gone(result));
      s.assertTable(table); // also fails on two rows for one session_id
      assertEquals(
          "commit attempts that were to lose a race but did not", 0, RivalWriterFileIO.RACES.get());
      assertEquals("commits of the other writer", races, otherCommits.get());
      long retried = CommitAttempts.RETRIED.get() - retriedBefore;
      assertThat("job commits that lost a race and were retried", retried, greaterThan(0L));
      System.out.printf(
          "OutageIT: other writer committed %d times; the job made %d commits, %d of them"
              + " retried (at most %d attempts); %d sessions, none lost or doubled%n",
          otherCommits.get(),
          SessionizeMetrics.read(result, "iceberg_commits"),
          retried,
          CommitAttempts.MAX_ATTEMPTS.get(),
          s.expectedSessions.size());
    } finally {
      RivalWriterFileIO.RACES.set(0);
      result.cancel();
    }
  }
}
