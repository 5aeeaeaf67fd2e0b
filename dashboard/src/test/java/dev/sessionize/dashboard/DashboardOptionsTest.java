package dev.sessionize.dashboard;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
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
    // First what the parser rejects (Beam's words, naming the argument), then the values.
    List<String> named =
        List.of("--port=http", "--redisTls=yes", "'colour'", "--redisHost has no value", "'extra'");
    for (int i = 0; i < named.size(); i++) {
      assertThat(e.problems().get(i), containsString(named.get(i)));
    }
    assertEquals(
        List.of(
            "--redisPort=0 is out of range: allowed values are 1 to 65535",
            "--redisPasswordEnv=my-pass is not valid: use the name of an environment variable,"
                + " such as SESSIONIZE_REDIS_PASSWORD"),
        e.problems().subList(named.size(), e.problems().size()));
    for (String problem : e.problems()) {
      assertFalse(problem, problem.contains("\n"));
    }
  }
}
