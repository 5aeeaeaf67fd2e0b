package dev.sessionize.dashboard;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The pipeline-health figures: sums of a real scrape of Flink's Prometheus reporter, rates over the
 * samples the server took (with a clock of the test's own, so they are exact), counters that start
 * again at 0 after a restart, and an endpoint that does not answer.
 */
@RunWith(JUnit4.class)
public class PipelineHealthTest {
  private static String fixture() throws Exception {
    return Files.readString(
        Path.of(System.getProperty("sessionize.testdata"), "prometheus", "taskmanagers.prom"));
  }

  @Test
  public void sumsEverySeriesOfARealScrape() throws Exception {
    PipelineHealth.Sample s = PipelineHealth.parse(0, fixture());
    assertEquals(1027.0, s.recordsRead(), 0);
    assertEquals(
        Map.of(
            "FUTURE_TIMESTAMP",
            3.0,
            "INVALID_FIELD",
            2.0,
            "MALFORMED_JSON",
            2.0,
            "MISSING_FIELD",
            4.0),
        s.deadLetters());
    assertEquals(27.0, s.backlog(), 0);
  }

  private static String exposition(long read, long malformed, long backlog) {
    return String.format(
        "# TYPE %1$s gauge%n%1$s{subtask_index=\"0\"} %2$d.0%n%1$s{subtask_index=\"1\"} 0.0%n"
            + "%3$sMALFORMED_JSON{subtask_index=\"0\"} %4$d.0%n"
            + "flink_taskmanager_job_task_operator_source_splits_0_backlog_elements{a=\"b\"} %5$d.0%n"
            + "flink_taskmanager_job_task_operator_sessionize_records_read_other 99.0%n",
        PipelineHealth.RECORDS_READ, read, PipelineHealth.DEAD_LETTER, malformed, backlog);
  }

  @Test
  public void ratesComeFromTheServersOwnSamples() {
    PipelineHealth health = new PipelineHealth(List.of(URI.create("http://unused")), () -> 0);
    health.add(PipelineHealth.parse(0, exposition(100, 1, 50)));
    health.add(PipelineHealth.parse(5_000, exposition(600, 1, 40)));
    health.add(PipelineHealth.parse(12_000, exposition(1_300, 4, 30)));
    Map<String, Object> f = health.figures(new java.util.LinkedHashMap<>());
    // Over the last 10 s: from the sample at 5 s (600) to 12 s (1 300): 100 a second.
    assertEquals(100.0, (Double) f.get("recordsPerSecond"), 1e-9);
    assertEquals(1300L, f.get("recordsRead"));
    assertEquals(30L, f.get("sourceBacklog"));
    // Dead letters over the samples of the last minute: 12 s of them so far, 3 more.
    assertEquals(12L, f.get("deadLetterWindowSeconds"));
    assertEquals(Map.of("MALFORMED_JSON", 3L), f.get("deadLettersLastMinute"));

    // A minute later only the newer samples count; a restarted job's counters start at 0 again.
    health.add(PipelineHealth.parse(70_000, exposition(2_000, 9, 0)));
    health.add(PipelineHealth.parse(75_000, exposition(250, 2, 0)));
    f = health.figures(new java.util.LinkedHashMap<>());
    assertEquals(50.0, (Double) f.get("recordsPerSecond"), 1e-9);
    assertEquals(Map.of("MALFORMED_JSON", 2L), f.get("deadLettersLastMinute"));
    assertEquals(5L, f.get("deadLetterWindowSeconds"));
  }

  @Test
  public void readsTheEndpointsOverHttpAndSaysWhichOneDoesNotAnswer() throws Exception {
    AtomicReference<String> body = new AtomicReference<>(exposition(10, 0, 7));
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/metrics",
        exchange -> {
          byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    server.start();
    try {
      URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics");
      AtomicLong clock = new AtomicLong(1_000);
      PipelineHealth health = new PipelineHealth(List.of(endpoint, endpoint), clock::get);
      assertEquals(20L, health.read().get("recordsRead")); // two endpoints, summed
      body.set(exposition(60, 0, 7));
      clock.set(3_000);
      Map<String, Object> f = health.read();
      assertEquals(120L, f.get("recordsRead"));
      assertEquals(50.0, (Double) f.get("recordsPerSecond"), 1e-9); // (120 - 20) / 2 s
      assertEquals(14L, f.get("sourceBacklog"));
      server.stop(0);
      clock.set(5_000);
      f = health.read();
      assertEquals(false, f.get("ok"));
      assertThat((String) f.get("error"), containsString(endpoint + " does not answer"));
    } finally {
      server.stop(0);
    }
  }

  @Test
  public void aBadMetricsUrlIsOneLineNamingTheOption() {
    DashboardOptions.InvalidOptionsException e =
        assertThrows(
            DashboardOptions.InvalidOptionsException.class,
            () -> DashboardOptions.parse("--metricsUrls=localhost:9249"));
    assertEquals(
        List.of(
            "--metricsUrls=localhost:9249 is not valid: use http URLs separated by commas, such as"
                + " http://localhost:9250/metrics"),
        e.problems());
    assertEquals(
        List.of(URI.create("http://a:1/metrics"), URI.create("http://b:2/metrics")),
        DashboardOptions.parse("--metricsUrls=http://a:1/metrics,http://b:2/metrics")
            .metricsUrls());
  }
}
