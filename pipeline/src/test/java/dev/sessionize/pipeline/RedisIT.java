package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.redis.RedisSinks;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/** The Redis dashboard sink against a real redis-server. */
@RunWith(JUnit4.class)
public class RedisIT {
  private static LocalRedis redis;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @BeforeClass
  public static void startRedis() throws Exception {
    redis = LocalRedis.start();
  }

  @AfterClass
  public static void stopRedis() throws Exception {
    if (redis != null) {
      redis.close();
    }
  }

  private SessionizationPipeline.Options happyPathToRedis(int port, String... extra)
      throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--input=" + FixturesTest.testdata().resolve("events/happy-path.jsonl"),
                "--output=" + tmp.newFolder("out"),
                "--dashboardSink=redis",
                "--redisPort=" + port));
    args.addAll(List.of(extra));
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
        .as(SessionizationPipeline.Options.class);
  }

  @Test
  public void dashboardMinutesLatestMinuteAndLatestSessionsWithTtls() throws Exception {
    SessionizationPipeline.run(happyPathToRedis(redis.port())).waitUntilFinish();
    try (Jedis jedis = redis.client()) {
      assertHappyPath(jedis);
    }
  }

  /**
   * Redis unreachable for the whole run: every write fails and is kept to be retried. When the
   * bounded input ends (the writes' window expires) with writes still pending, they are not
   * dropped: the job keeps retrying them until Redis answers again, then finishes with every
   * dashboard minute and every latest session in Redis.
   */
  @Test
  public void writesPendingWhenTheInputEndsAreFlushedOnceRedisIsBack() throws Exception {
    int port = freedPort();
    PipelineResult result =
        SessionizationPipeline.run(
            happyPathToRedis(port, "--blockOnRun=false", "--preflight=false"));
    LocalRedis back = null;
    try {
      awaitEndOfInput(result);
      back = LocalRedis.start(port);
      assertEquals(PipelineResult.State.DONE, result.waitUntilFinish());
      try (Jedis jedis = back.client()) {
        assertHappyPath(jedis);
      }
      assertThat(SessionizeMetrics.read(result, "redis_write_failures"), greaterThan(0L));
      assertThat(SessionizeMetrics.read(result, "redis_write_retries"), greaterThan(0L));
      assertEquals(0L, SessionizeMetrics.read(result, "redis_writes_given_up"));
    } finally {
      if (!result.getState().isTerminal()) {
        result.cancel();
      }
      if (back != null) {
        back.close();
      }
    }
  }

  /**
   * Redis never comes back: the job does not report success with the writes lost; it fails with one
   * line naming the server and the option, and counts the writes it gave up.
   */
  @Test
  public void writesRedisNeverTakesFailTheJobWithOneLine() throws Exception {
    int port = freedPort();
    PipelineResult result =
        SessionizationPipeline.run(
            happyPathToRedis(
                port, "--blockOnRun=false", "--preflight=false", "--redisFlushTimeout=2s"));
    PipelineResult.State state = null;
    Throwable failure = null;
    try {
      state = result.waitUntilFinish();
    } catch (RuntimeException e) {
      failure = e;
    }
    assertNotNull("the job finished (" + state + ") with its Redis writes lost", failure);
    // The line ./sessionize run prints.
    String line = RedisSinks.PendingWritesLostException.find(failure);
    assertNotNull("not a failure for pending Redis writes: " + failure, line);
    assertThat(line, startsWith("Redis at redis://localhost:" + port + " did not take "));
    assertThat(line, containsString("--redisFlushTimeout=2s"));
    assertFalse(line, line.contains("\n"));
    long givenUp = SessionizeMetrics.read(result, "redis_writes_given_up");
    assertThat(givenUp, greaterThan(0L));
    System.out.printf("RedisIT: %d writes given up; the job failed with: %s%n", givenUp, line);
  }

  /** A free port where nothing listens: a redis-server's, after it stopped. */
  private static int freedPort() throws Exception {
    LocalRedis gone = LocalRedis.start();
    gone.close();
    return gone.port();
  }

  /**
   * Waits until the job has either finished (then any write still pending was dropped) or a worker
   * is flushing the writes still pending at the end of the input: the moment after which only the
   * flush can deliver them. Without this the test could bring Redis back while the ordinary retries
   * still run, and would pass whether or not the end of the input drops pending writes.
   */
  private static void awaitEndOfInput(PipelineResult result) throws Exception {
    long deadline = System.currentTimeMillis() + 300_000;
    while (!result.getState().isTerminal() && !flushingAtWindowEnd()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("the job neither finished nor flushed pending writes in 5 min");
      }
      Thread.sleep(100);
    }
  }

  private static boolean flushingAtWindowEnd() {
    for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
      for (StackTraceElement frame : stack) {
        if (frame.getClassName().endsWith("RedisSinks$SetWithRetryFn")
            && frame.getMethodName().equals("onWindowExpiration")) {
          return true;
        }
      }
    }
    return false;
  }

  /** The happy path's figures (its sessions: {@code testdata/expected/happy-path.sessions.txt}). */
  private static void assertHappyPath(Jedis jedis) throws Exception {
    Set<String> minutes = jedis.keys("dash:minute:*");
    // 11 events in 11 distinct minutes.
    assertThat(minutes, hasSize(11));
    long events = 0;
    List<String> countries = new ArrayList<>();
    for (String key : minutes) {
      JsonNode doc = Json.MAPPER.readTree(jedis.get(key));
      events += doc.get("events").asLong();
      doc.get("by_country").fieldNames().forEachRemaining(countries::add);
      assertThat(
          key,
          jedis.pttl(key),
          allOf(greaterThan(47L * 3_600_000), lessThanOrEqualTo(48L * 3_600_000)));
    }
    assertEquals(11, events);
    assertThat(countries, hasSize(11));
    assertEquals("dash:minute:2026-11-24T11:20Z", jedis.get("dash:latest"));
    JsonNode ten = Json.MAPPER.readTree(jedis.get("dash:minute:2026-11-24T10:07Z"));
    assertEquals(1, ten.get("purchases").asLong());
    assertEquals("59.90", ten.get("revenue").decimalValue().setScale(2).toPlainString());

    JsonNode carol = Json.MAPPER.readTree(jedis.get("session:latest:carol"));
    assertEquals(1, carol.get("event_count").asInt());
    assertEquals(
        "12.50", carol.at("/revenue_by_currency/EUR").decimalValue().setScale(2).toPlainString());
    assertThat(
        jedis.pttl("session:latest:carol"),
        allOf(greaterThan(23L * 3_600_000), lessThanOrEqualTo(24L * 3_600_000)));
    assertEquals(
        "alice", Json.MAPPER.readTree(jedis.get("session:latest:alice")).get("user_id").asText());
    assertThat(jedis.keys("session:latest:*"), hasSize(3));
  }
}
