package dev.sessionize.dashboard;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sessionize.transforms.model.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * The live dashboard: one page ({@code /}) with its script, style sheet and chart library, and
 * {@code /api/dashboard}, the JSON the page polls every second ({@link RedisDashboard#read}), and
 * {@code /api/health}, the pipeline-health panel's figures from the job's Prometheus endpoints
 * ({@link PipelineHealth}, with {@code --metricsUrls}). It reads Redis and those endpoints only. On
 * the JDK's {@code com.sun.net.httpserver}: no web framework.
 *
 * <p>Run alone: {@code ./sessionize dashboard --redisHost=... --redisPort=... --port=8080}; the
 * demo starts one next to the job.
 */
public final class DashboardServer implements AutoCloseable {
  static final String API_PATH = "/api/dashboard";
  static final String HEALTH_PATH = "/api/health";
  private static final Charset UTF8 = StandardCharsets.UTF_8;

  /**
   * No inline script or style, nothing from another origin: even a page URL holding a script that
   * got into the DOM as markup could not run. (The page puts data in the DOM as text only.)
   */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private final HttpServer server;
  private final ExecutorService executor;
  private final RedisDashboard redis;
  private final Map<String, Asset> assets;
  private volatile PipelineHealth health;

  private DashboardServer(
      HttpServer server,
      ExecutorService executor,
      RedisDashboard redis,
      Map<String, Asset> assets,
      PipelineHealth health) {
    this.server = server;
    this.executor = executor;
    this.redis = redis;
    this.assets = assets;
    this.health = health;
  }

  /**
   * Shows the pipeline-health panel from these Prometheus endpoints from now on (the demo learns
   * its embedded cluster's port after the page is up).
   */
  public void watchMetrics(List<URI> endpoints) {
    health = PipelineHealth.of(endpoints);
  }

  public static void main(String[] args) throws InterruptedException {
    for (String arg : args) {
      if (arg.equals("--help") || arg.equals("-h")) {
        System.out.println("sessionize dashboard: the live dashboard page, read from Redis");
        PipelineOptionsFactory.printHelp(System.out, DashboardOptions.Flags.class);
        return;
      }
    }
    DashboardOptions options;
    try {
      options = DashboardOptions.parse(args);
    } catch (DashboardOptions.InvalidOptionsException e) {
      for (String problem : e.problems()) {
        System.err.println("sessionize dashboard: " + problem);
      }
      System.exit(2);
      return;
    }
    DashboardServer server;
    try {
      server = start(options);
    } catch (BindException e) {
      System.err.println(
          "sessionize dashboard: --port="
              + options.port()
              + " cannot be used ("
              + e.getMessage()
              + "): pass another --port, or --port=0 for any free port");
      System.exit(2);
      return;
    } catch (IOException e) {
      System.err.println("sessionize dashboard: cannot start the server: " + e.getMessage());
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "dashboard-shutdown"));
    System.out.println(
        "sessionize dashboard: "
            + server.url()
            + " (reading Redis at "
            + server.redis.where()
            + "; Ctrl-C stops)");
    new CountDownLatch(1).await();
  }

  /** Starts serving; {@code --port=0} takes any free port ({@link #port()} tells which). */
  public static DashboardServer start(DashboardOptions options) throws IOException {
    Map<String, Asset> assets = loadAssets();
    HttpServer server = HttpServer.create(new InetSocketAddress(options.bind(), options.port()), 0);
    AtomicInteger threads = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "dashboard-http-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    RedisDashboard redis = new RedisDashboard(options);
    DashboardServer dashboard =
        new DashboardServer(
            server, executor, redis, assets, PipelineHealth.of(options.metricsUrls()));
    server.createContext("/", dashboard::handle);
    server.start();
    return dashboard;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The page's address, on {@code localhost} when listening on loopback or every address. */
  public String url() {
    String host =
        server.getAddress().getAddress().isAnyLocalAddress()
                || server.getAddress().getAddress().isLoopbackAddress()
            ? "localhost"
            : server.getAddress().getHostString();
    return "http://" + host + ":" + port() + "/";
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      exchange.getResponseHeaders().set("Referrer-Policy", "no-referrer");
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        send(exchange, 405, "text/plain; charset=utf-8", "GET only\n".getBytes(UTF8), "no-store");
        return;
      }
      String path = exchange.getRequestURI().getPath();
      if (path.equals(API_PATH)) {
        byte[] body = Json.MAPPER.writeValueAsBytes(redis.read());
        send(exchange, 200, "application/json; charset=utf-8", body, "no-store");
        return;
      }
      if (path.equals(HEALTH_PATH)) {
        byte[] body = Json.MAPPER.writeValueAsBytes(health.read());
        send(exchange, 200, "application/json; charset=utf-8", body, "no-store");
        return;
      }
      Asset asset = assets.get(path);
      if (asset == null) {
        send(exchange, 404, "text/plain; charset=utf-8", "not found\n".getBytes(UTF8), "no-store");
        return;
      }
      if (asset.contentType.startsWith("text/html")) {
        exchange.getResponseHeaders().set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      }
      send(exchange, 200, asset.contentType, asset.bytes, "no-cache");
    }
  }

  private static void send(
      HttpExchange exchange, int status, String contentType, byte[] body, String cache)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set("Cache-Control", cache);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** A static file, read once from the class path. */
  private static final class Asset {
    final String contentType;
    final byte[] bytes;

    Asset(String contentType, byte[] bytes) {
      this.contentType = contentType;
      this.bytes = bytes;
    }
  }

  private static Map<String, Asset> loadAssets() {
    Properties vendor = new Properties();
    try (InputStream in = resource("dev/sessionize/dashboard/vendor.properties")) {
      vendor.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String base = "dev/sessionize/dashboard/static/";
    return Map.of(
        "/", asset("text/html; charset=utf-8", base + "index.html"),
        "/index.html", asset("text/html; charset=utf-8", base + "index.html"),
        "/dashboard.js", asset("text/javascript; charset=utf-8", base + "dashboard.js"),
        "/dashboard.css", asset("text/css; charset=utf-8", base + "dashboard.css"),
        "/vendor/chart.umd.js",
            asset("text/javascript; charset=utf-8", vendor.getProperty("chartjs.resource")));
  }

  private static Asset asset(String contentType, String resource) {
    try (InputStream in = resource(resource)) {
      return new Asset(contentType, in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream resource(String name) {
    InputStream in = DashboardServer.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException("missing on the class path: " + name);
    }
    return in;
  }

  /** Stops serving (in-flight requests get a second) and closes the Redis connections. */
  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    redis.close();
  }
}
