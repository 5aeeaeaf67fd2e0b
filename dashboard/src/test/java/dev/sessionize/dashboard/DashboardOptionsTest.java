package dev.sessionize.dashboard;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

@RunWith(JUnit4.class)
public class DashboardOptionsTest {
  @Test
  public void defaultsMatchThePipelinesRedisOptions() {
    DashboardOptions o = DashboardOptions.defaults();
    assertEquals("localhost", o.redisHost());
    assertEquals(6379, o.redisPort());
    assertEquals("SESSIONIZE_REDIS_PASSWORD", o.redisPasswordEnv());
    assertFalse(o.redisTls());
    assertEquals(8080, o.port());
    assertEquals("127.0.0.1", o.bind());
  }

  @Test
  public void valuesAreRead() {
    DashboardOptions o =
        DashboardOptions.parse(
            "--redisHost=redis.internal",
            "--redisPort=6380",
            "--redisPasswordEnv=MY_PASS",
            "--redisTls=true",
            "--port=0",
            "--bind=0.0.0.0");
    assertEquals("redis.internal", o.redisHost());
    assertEquals(6380, o.redisPort());
    assertEquals("MY_PASS", o.redisPasswordEnv());
    assertEquals(true, o.redisTls());
    assertEquals(0, o.port());
    assertEquals("0.0.0.0", o.bind());
    assertEquals(9090, o.withPort(9090).port());
  }

  @Test
  public void eachBadOptionIsOneLineNamingIt() {
    DashboardOptions.InvalidOptionsException e =
        assertThrows(
            DashboardOptions.InvalidOptionsException.class,
            () ->
                DashboardOptions.parse(
                    "--port=http",
                    "--redisPort=0",
                    "--redisTls=yes",
                    "--redisPasswordEnv=my-pass",
                    "--colour=red",
                    "--redisHost",
                    "extra"));
    assertEquals(
        List.of(
            "--colour=red is not an option: options are --redisHost, --redisPort,"
                + " --redisPasswordEnv, --redisTls, --port, --bind, --metricsUrls",
            "--redisHost has no value: write --redisHost=VALUE",
            "extra is not an option: options are --redisHost, --redisPort, --redisPasswordEnv,"
                + " --redisTls, --port, --bind, --metricsUrls",
            "--redisPort=0 is out of range: allowed values are 1 to 65535",
            "--redisPasswordEnv=my-pass is not valid: use the name of an environment variable,"
                + " such as SESSIONIZE_REDIS_PASSWORD",
            "--redisTls=yes is not valid: allowed values are true and false",
            "--port=http is not valid: use a port number"),
        e.problems());
  }
}
