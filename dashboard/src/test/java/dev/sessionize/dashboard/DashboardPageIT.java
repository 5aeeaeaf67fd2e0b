package dev.sessionize.dashboard;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.runners.servers.LocalRedis;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * The dashboard page in a real browser (headless Chromium) against a real redis-server: the test
 * writes raw {@code dash:minute:*} documents, the page reads them through the server, and the test
 * reads the figures back from the rendered DOM.
 */
@RunWith(JUnit4.class)
public class DashboardPageIT {
  private static final DateTimeFormatter MINUTE =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm'Z'").withZone(ZoneOffset.UTC);

  /** Kept by the script, then sanitized: it must show as text, never become markup. */
  private static final String HOSTILE_PAGE =
      "<script>window.pwned=1</script><img src=x onerror=\"document.title='pwned'\">";

  private static final String HOSTILE_COUNTRY = "<img src=y onerror=alert(1)>";
  private static final String HOSTILE_DEVICE = "\"><b id=bold>bold</b>";

  private static LocalRedis redis;
  private static DashboardServer server;

  /** The newest minute of the test's data: the start of the current minute. */
  private Instant latest;

  @BeforeClass
  public static void start() throws Exception {
    Chromium.binary(); // fail first, and clearly, when the browser is missing
    redis = LocalRedis.start();
    server = DashboardServer.start(options(redis.port()));
  }

  @AfterClass
  public static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Before
  public void clearRedis() {
    latest = Instant.now().truncatedTo(ChronoUnit.MINUTES);
    try (Jedis jedis = redis.client()) {
      jedis.flushAll();
    }
  }

  private static DashboardOptions options(int redisPort) {
    return DashboardOptions.parse(
        "--redisHost=127.0.0.1", "--redisPort=" + redisPort, "--port=0", "--bind=127.0.0.1");
  }

  private static String key(Instant minute) {
    return "dash:minute:" + MINUTE.format(minute);
  }

  /** A document as the pipeline writes it (DashboardMinute.toJson), by hand. */
  private static String document(
      Instant minute,
      long events,
      long pageViews,
      long clicks,
      long purchases,
      String revenue,
      long uniqueUsers,
      long sessionsStarted,
      String topPages,
      String byCountry,
      String byDevice,
      Instant updatedAt) {
    return ("{\"window_start\":\"%s\",\"events\":%d,\"page_views\":%d,\"clicks\":%d,"
            + "\"purchases\":%d,\"revenue\":%s,\"unique_users\":%d,\"sessions_started\":%d,"
            + "\"top_pages\":%s,\"by_country\":%s,\"by_device\":%s,\"updated_at\":\"%s\"}")
        .formatted(
            minute,
            events,
            pageViews,
            clicks,
            purchases,
            revenue,
            uniqueUsers,
            sessionsStarted,
            topPages,
            byCountry,
            byDevice,
            updatedAt);
  }

  /**
   * Four documents: three in the hour ending with {@code latest} (the oldest minute of it, the one
   * before {@code latest}, and {@code latest}) and one a minute before the hour, which must not
   * count. Revenue 1000.10 + 0.20 + 0 is 1000.30 exactly (as doubles it is 1000.3000000000001).
   */
  private void writeHour(Jedis jedis) {
    Instant oldest = latest.minus(59, ChronoUnit.MINUTES);
    Instant before = latest.minus(1, ChronoUnit.MINUTES);
    Instant outside = latest.minus(60, ChronoUnit.MINUTES);
    Instant now = Instant.now();
    jedis.set(
        key(oldest),
        document(
            oldest,
            1000,
            600,
            300,
            50,
            "1000.10",
            400,
            40,
            "[{\"page\":\"/home\",\"views\":300},{\"page\":\"/cart\",\"views\":100}]",
            "{\"DE\":600,\"US\":400}",
            "{\"desktop\":300,\"mobile\":700}",
            now.minus(10, ChronoUnit.MINUTES)));
    jedis.set(
        key(before),
        document(
            before,
            234,
            200,
            30,
            4,
            "0.20",
            150,
            10,
            "[{\"page\":\"/cart\",\"views\":150},{\"page\":\"/home\",\"views\":20}]",
            "{\"FR\":34,\"US\":200}",
            "{\"desktop\":234}",
            now.minus(90, ChronoUnit.SECONDS)));
    jedis.set(
        key(latest),
        document(
            latest,
            1,
            1,
            0,
            0,
            "0.00",
            1,
            0,
            "[{\"page\":\"/home\",\"views\":1}]",
            "{\"unknown\":1}",
            "{\"tablet\":1}",
            now.minus(2, ChronoUnit.SECONDS)));
    jedis.set(
        key(outside),
        document(
            outside,
            999_999,
            999_999,
            0,
            0,
            "5000.00",
            99_999,
            999,
            "[{\"page\":\"/outside\",\"views\":999999}]",
            "{\"XX\":999999}",
            "{\"outside\":999999}",
            now));
    jedis.set("dash:latest", key(latest));
  }

  @Test
  public void pageShowsTheHourEndingWithTheNewestMinute() throws Exception {
    try (Jedis jedis = redis.client()) {
      writeHour(jedis);
    }
    String dom = Chromium.dumpDom(server.url(), 5_000);

    assertEquals("ok", attribute(dom, "banner", "data-state"));
    assertEquals("3", text(dom, "minutes-with-data"));
    assertEquals(MINUTE.format(latest), text(dom, "latest-minute"));
    assertEquals("1,235", text(dom, "total-events"));
    assertEquals("801", text(dom, "total-page-views"));
    assertEquals("330", text(dom, "total-clicks"));
    assertEquals("54", text(dom, "total-purchases"));
    assertEquals("50", text(dom, "total-other"));
    assertEquals("1,000.30", text(dom, "total-revenue"));
    assertEquals("1", text(dom, "unique-users"));
    assertEquals(
        DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneOffset.UTC).format(latest),
        text(dom, "unique-users-minute"));
    assertEquals("400", text(dom, "unique-users-peak"));
    assertEquals("50", text(dom, "sessions-started"));
    assertEquals(
        List.of(List.of("/home", "321"), List.of("/cart", "250")), rows(dom, "top-pages", 2));
    assertEquals(
        List.of(
            List.of("DE", "600"),
            List.of("US", "600"),
            List.of("FR", "34"),
            List.of("unknown", "1")),
        rows(dom, "by-country", 2));
    assertEquals(
        List.of(List.of("mobile", "700"), List.of("desktop", "534"), List.of("tablet", "1")),
        rows(dom, "by-device", 2));
    // Freshness: the newest updated_at is ~2 s old (more if the machine is slow).
    assertThat(
        text(dom, "freshness-age"), matchesPattern("\\d+(\\.\\d)? s ago|\\d+ min \\d+ s ago"));
    assertThat(dom, not(containsString("/outside")));
    assertThat(dom, containsString("id=\"health\" hidden"));

    Path png = Paths.get("target", "dashboard-it.png");
    Chromium.screenshot(server.url(), png, 1280, 1600, 5_000);
    assertThat(Files.size(png), greaterThan(20_000L));
  }

  @Test
  public void pageUrlsCountriesAndDevicesShowAsTextNotMarkup() throws Exception {
    try (Jedis jedis = redis.client()) {
      String page = HOSTILE_PAGE.replace("\"", "\\\"");
      jedis.set(
          key(latest),
          document(
              latest,
              3,
              3,
              0,
              0,
              "0",
              1,
              1,
              "[{\"page\":\"" + page + "\",\"views\":3}]",
              "{\"" + HOSTILE_COUNTRY + "\":3}",
              "{\"" + HOSTILE_DEVICE.replace("\"", "\\\"") + "\":3}",
              Instant.now()));
      jedis.set("dash:latest", key(latest));
    }
    String dom = Chromium.dumpDom(server.url(), 5_000);

    assertEquals("3", text(dom, "total-events"));
    // The cells hold the strings verbatim, as text...
    assertEquals(List.of(List.of(HOSTILE_PAGE, "3")), rows(dom, "top-pages", 2));
    assertEquals(List.of(List.of(HOSTILE_COUNTRY, "3")), rows(dom, "by-country", 2));
    assertEquals(List.of(List.of(HOSTILE_DEVICE, "3")), rows(dom, "by-device", 2));
    // ...escaped in the serialized DOM, and no element was made of them.
    assertThat(dom, containsString("&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x"));
    assertThat(dom, not(containsString("<img")));
    assertThat(dom, not(containsString("<b id")));
    assertEquals("the page's own two scripts only", 2, count(dom, "<script"));
  }

  @Test
  public void redisGoingAwayShowsAMessageAndThePageRecoversWithoutAReload() throws Exception {
    LocalRedis own = LocalRedis.start();
    int port = own.port();
    try (DashboardServer ownServer = DashboardServer.start(options(port));
        Chromium page = Chromium.open(ownServer.url())) {
      try (Jedis jedis = own.client()) {
        writeHour(jedis);
      }
      page.waitFor(text("total-events"), "1,235"::equals, Duration.ofSeconds(30));

      own.close();
      String banner =
          page.waitFor(
              "document.getElementById('banner').dataset.state + ' | '"
                  + " + document.getElementById('banner').textContent",
              s -> s.startsWith("redis_unreachable"),
              Duration.ofSeconds(30));
      assertThat(banner, containsString("Redis is unreachable at 127.0.0.1:" + port));
      assertThat(banner, containsString("Retrying every second"));
      assertThat(banner, containsString("the last good read"));
      assertEquals("true", page.eval("!document.getElementById('banner').hidden"));
      assertEquals("unknown", page.eval(text("freshness-age")));
      // The last figures stay, greyed out.
      assertEquals("1,235", page.eval(text("total-events")));
      assertEquals(
          "true", page.eval("document.getElementById('content').classList.contains('stale-data')"));

      own = LocalRedis.start(port);
      try (Jedis jedis = own.client()) {
        jedis.set(
            key(latest),
            document(latest, 7, 7, 0, 0, "12.34", 5, 2, "[]", "{}", "{}", Instant.now()));
        jedis.set("dash:latest", key(latest));
      }
      page.waitFor(text("total-events"), "7"::equals, Duration.ofSeconds(30));
      assertEquals("12.34", page.eval(text("total-revenue")));
      assertEquals("ok", page.eval("document.getElementById('banner').dataset.state"));
      assertEquals("true", page.eval("document.getElementById('banner').hidden"));
      assertEquals(
          "false",
          page.eval("document.getElementById('content').classList.contains('stale-data')"));
    } finally {
      own.close();
    }
  }

  /**
   * The pipeline-health panel against a Prometheus endpoint serving a real scrape of the cluster's
   * TaskManagers ({@code testdata/prometheus}): the totals and KafkaIO's backlog summed over both,
   * dead letters counted from the page's first look, and a message when the endpoint goes away.
   */
  @Test
  public void thePipelineHealthPanelShowsTheJobsPrometheusFigures() throws Exception {
    String scrape =
        Files.readString(
            Paths.get(
                System.getProperty("sessionize.testdata"), "prometheus", "taskmanagers.prom"));
    java.util.concurrent.atomic.AtomicReference<String> body =
        new java.util.concurrent.atomic.AtomicReference<>(scrape);
    com.sun.net.httpserver.HttpServer prometheus =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    prometheus.createContext(
        "/metrics",
        exchange -> {
          byte[] bytes = body.get().getBytes(java.nio.charset.StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    prometheus.start();
    String url = "http://127.0.0.1:" + prometheus.getAddress().getPort() + "/metrics";
    try (Jedis jedis = redis.client()) {
      writeHour(jedis);
    }
    try (DashboardServer withMetrics =
            DashboardServer.start(
                DashboardOptions.parse(
                    "--redisHost=127.0.0.1",
                    "--redisPort=" + redis.port(),
                    "--port=0",
                    "--metricsUrls=" + url));
        Chromium page = Chromium.open(withMetrics.url())) {
      page.waitFor(text("health-read"), "1,027"::equals, Duration.ofSeconds(30));
      assertEquals("false", page.eval("document.getElementById('health').hidden"));
      assertEquals("27", page.eval(text("health-backlog")));
      assertEquals("0", page.eval(text("health-dead-letters")));
      // Five more MALFORMED_JSON dead letters on one TaskManager (2 -> 7): the panel counts them.
      body.set(
          scrape.replaceFirst(
              "(sessionize_dead_letter_MALFORMED_JSON\\{[^}]*\\}) 2\\.0", "$1 7.0"));
      page.waitFor(text("health-dead-letters"), "5"::equals, Duration.ofSeconds(30));
      assertEquals(
          "FUTURE_TIMESTAMP 0 | INVALID_FIELD 0 | MALFORMED_JSON 5 | MISSING_FIELD 0",
          page.eval(
              "Array.from(document.querySelectorAll('#health-reasons tbody tr'))"
                  + ".map(r => r.cells[0].textContent + ' ' + r.cells[1].textContent).join(' | ')"));
      assertEquals("1,235", page.eval(text("total-events"))); // the dashboard itself unchanged

      prometheus.stop(0);
      String error =
          page.waitFor(
              "document.getElementById('health-error').hidden ? '' :"
                  + " document.getElementById('health-error').textContent",
              s -> !s.isEmpty(),
              Duration.ofSeconds(30));
      assertThat(error, containsString("The metrics cannot be read: " + url + " does not answer"));
    } finally {
      prometheus.stop(0);
    }
  }

  @Test
  public void aClosedRedisPortShowsTheMessageFromTheFirstLoad() throws Exception {
    int closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    try (DashboardServer nowhere = DashboardServer.start(options(closed))) {
      String dom = Chromium.dumpDom(nowhere.url(), 3_000);
      assertEquals("redis_unreachable", attribute(dom, "banner", "data-state"));
      assertThat(
          text(dom, "banner"), containsString("Redis is unreachable at 127.0.0.1:" + closed));
      assertThat(text(dom, "banner"), containsString("Nothing to show yet."));
      assertEquals("–", text(dom, "total-events"));
    }
  }

  @Test
  public void serverSendsThePageWithAContentSecurityPolicyAndTheChartLibrary() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> page =
        http.send(
            HttpRequest.newBuilder(URI.create(server.url())).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertEquals(
        DashboardServer.CONTENT_SECURITY_POLICY,
        page.headers().firstValue("Content-Security-Policy").orElse(""));
    HttpResponse<String> chart =
        http.send(
            HttpRequest.newBuilder(URI.create(server.url() + "vendor/chart.umd.js")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, chart.statusCode());
    assertThat(chart.body(), containsString("Chart.js v"));
    assertEquals(
        404,
        http.send(
                HttpRequest.newBuilder(URI.create(server.url() + "nope")).build(),
                HttpResponse.BodyHandlers.discarding())
            .statusCode());
  }

  /** The text of the element with this id, in the live page ("undefined" before it exists). */
  private static String text(String id) {
    return "String((document.getElementById('" + id + "') || {}).textContent)";
  }

  /** The text of the element with this id in a serialized DOM (its first text, unescaped). */
  private static String text(String dom, String id) {
    Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\"[^>]*>([^<]*)<").matcher(dom);
    assertTrue("no element #" + id + " in the DOM", m.find());
    return unescape(m.group(1)).strip();
  }

  private static String attribute(String dom, String id, String name) {
    Matcher m = Pattern.compile("<[^>]*id=\"" + Pattern.quote(id) + "\"[^>]*>").matcher(dom);
    assertTrue("no element #" + id + " in the DOM", m.find());
    Matcher a = Pattern.compile(Pattern.quote(name) + "=\"([^\"]*)\"").matcher(m.group());
    assertTrue("#" + id + " has no " + name, a.find());
    return unescape(a.group(1));
  }

  /** The first {@code cells} cells of each row of a table's body. */
  private static List<List<String>> rows(String dom, String tableId, int cells) {
    Matcher table =
        Pattern.compile(
                "id=\"" + Pattern.quote(tableId) + "\".*?<tbody>(.*?)</tbody>", Pattern.DOTALL)
            .matcher(dom);
    assertTrue("no table #" + tableId, table.find());
    List<List<String>> rows = new ArrayList<>();
    Matcher row = Pattern.compile("<tr>(.*?)</tr>", Pattern.DOTALL).matcher(table.group(1));
    while (row.find()) {
      Matcher cell = Pattern.compile("<td[^>]*>([^<]*)</td>").matcher(row.group(1));
      List<String> values = new ArrayList<>();
      while (values.size() < cells && cell.find()) {
        values.add(unescape(cell.group(1)));
      }
      rows.add(values);
    }
    return rows;
  }

  private static String unescape(String html) {
    return html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u00a0")
        .replace("&amp;", "&");
  }

  private static int count(String haystack, String needle) {
    int n = 0;
    for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
