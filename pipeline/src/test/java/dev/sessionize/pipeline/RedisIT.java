package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
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

  @Test
  public void dashboardMinutesLatestMinuteAndLatestSessionsWithTtls() throws Exception {
    File out = tmp.newFolder("out");
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(
                "--input=" + FixturesTest.testdata().resolve("events/happy-path.jsonl"),
                "--output=" + out,
                "--dashboardSink=redis",
                "--redisPort=" + redis.port())
            .as(SessionizationPipeline.Options.class);
    SessionizationPipeline.run(options).waitUntilFinish();

    try (Jedis jedis = redis.client()) {
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
}
