package dev.sessionize.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sessionize.transforms.model.Json;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Headless Chromium (Debian's {@code chromium} package) for the page's tests: the DOM after the
 * page ran ({@code --dump-dom}), a screenshot, and a live page driven over the DevTools protocol
 * (to watch it change while Redis goes away and comes back). A missing browser fails the test.
 */
final class Chromium implements AutoCloseable {
  private static final Duration PROCESS_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern DEVTOOLS = Pattern.compile("DevTools listening on (ws://\\S+)");

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

  private Chromium(Process process, Path profile, WebSocket socket) {
    this.process = process;
    this.profile = profile;
    this.socket = socket;
  }

  /** The browser binary; fails (never skips) when it is not installed. */
  static String binary() {
    for (String name : List.of("chromium", "chromium-browser")) {
      for (String dir :
          System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
        File candidate = new File(dir, name);
        if (candidate.canExecute()) {
          return candidate.getPath();
        }
      }
    }
    throw new AssertionError(
        "chromium is not installed: the dashboard's browser test needs it."
            + " Run: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium (.ci/run does)");
  }

  private static List<String> command(Path profile, String... extra) {
    List<String> command = new ArrayList<>();
    command.add(binary());
    command.add("--headless=new");
    command.add("--no-sandbox");
    command.add("--disable-gpu");
    command.add("--disable-dev-shm-usage");
    command.add("--no-first-run");
    command.add("--hide-scrollbars");
    command.add("--user-data-dir=" + profile);
    command.addAll(List.of(extra));
    return command;
  }

  /** The page's DOM, serialized, after {@code budgetMs} of (virtual) time. */
  static String dumpDom(String url, int budgetMs) throws Exception {
    Path profile = Files.createTempDirectory("chromium-profile");
    Path out = Files.createTempFile("dom", ".html");
    try {
      run(
          new ProcessBuilder(
                  command(profile, "--virtual-time-budget=" + budgetMs, "--dump-dom", url))
              .redirectOutput(out.toFile()));
      return Files.readString(out, StandardCharsets.UTF_8);
    } finally {
      Files.deleteIfExists(out);
      deleteRecursively(profile);
    }
  }

  /** A PNG of the page after {@code budgetMs} of (virtual) time. */
  static void screenshot(String url, Path png, int width, int height, int budgetMs)
      throws Exception {
    Path profile = Files.createTempDirectory("chromium-profile");
    try {
      run(
          new ProcessBuilder(
                  command(
                      profile,
                      "--virtual-time-budget=" + budgetMs,
                      "--window-size=" + width + "," + height,
                      "--screenshot=" + png.toAbsolutePath(),
                      url))
              .redirectOutput(ProcessBuilder.Redirect.DISCARD));
    } finally {
      deleteRecursively(profile);
    }
  }

  private static void run(ProcessBuilder builder) throws Exception {
    Path log = Files.createTempFile("chromium", ".log");
    try {
      Process p = builder.redirectError(log.toFile()).start();
      if (!p.waitFor(PROCESS_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("chromium did not finish in " + PROCESS_TIMEOUT);
      }
      if (p.exitValue() != 0) {
        throw new AssertionError(
            "chromium exited with " + p.exitValue() + ":\n" + Files.readString(log));
      }
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** A live page at {@code url}, driven over the DevTools protocol. */
  static Chromium open(String url) throws Exception {
    Path profile = Files.createTempDirectory("chromium-profile");
    Process process =
        new ProcessBuilder(command(profile, "--remote-debugging-port=0", url))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      String browserUrl = devToolsUrl(process);
      URI browser = URI.create(browserUrl);
      HttpClient http = HttpClient.newHttpClient();
      String pageSocket = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (pageSocket == null) {
        JsonNode targets =
            Json.MAPPER.readTree(
                http.send(
                        HttpRequest.newBuilder(
                                URI.create("http://" + browser.getAuthority() + "/json/list"))
                            .build(),
                        HttpResponse.BodyHandlers.ofString())
                    .body());
        for (JsonNode target : targets) {
          if ("page".equals(target.path("type").asText())) {
            pageSocket = target.path("webSocketDebuggerUrl").asText();
          }
        }
        if (pageSocket == null) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("chromium opened no page");
          }
          Thread.sleep(100);
        }
      }
      Listener listener = new Listener();
      WebSocket socket =
          http.newWebSocketBuilder().buildAsync(URI.create(pageSocket), listener).join();
      Chromium chromium = new Chromium(process, profile, socket);
      listener.owner = chromium;
      return chromium;
    } catch (Exception | Error e) {
      process.destroyForcibly();
      deleteRecursively(profile);
      throw e;
    }
  }

  private static String devToolsUrl(Process process) throws IOException {
    BufferedReader err =
        new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    for (String line = err.readLine(); line != null; line = err.readLine()) {
      Matcher m = DEVTOOLS.matcher(line);
      if (m.find()) {
        // Keep draining stderr so chromium never blocks on a full pipe.
        Thread drain =
            new Thread(
                () -> {
                  try {
                    while (err.readLine() != null) {
                      // discard
                    }
                  } catch (IOException e) {
                    // the browser is gone
                  }
                },
                "chromium-stderr");
        drain.setDaemon(true);
        drain.start();
        return m.group(1);
      }
      seen.append(line).append('\n');
    }
    throw new AssertionError("chromium printed no DevTools address:\n" + seen);
  }

  /** Evaluates a JavaScript expression in the page; its value as a string (JSON for objects). */
  String eval(String expression) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    pending.put(id, answer);
    ObjectNode call = Json.MAPPER.createObjectNode();
    call.put("id", id);
    call.put("method", "Runtime.evaluate");
    call.putObject("params").put("expression", expression).put("returnByValue", true);
    socket.sendText(Json.MAPPER.writeValueAsString(call), true).join();
    JsonNode response = answer.get(30, TimeUnit.SECONDS);
    if (response.has("error") || response.at("/result/exceptionDetails").isObject()) {
      throw new AssertionError("evaluating " + expression + " failed: " + response);
    }
    JsonNode value = response.at("/result/result/value");
    return value.isTextual() ? value.asText() : value.toString();
  }

  /**
   * Evaluates {@code expression} until its value passes {@code until}; fails after {@code max}. An
   * expression that throws (the page is still loading) counts as not yet.
   */
  String waitFor(String expression, Predicate<String> until, Duration max) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    String last = null;
    while (System.nanoTime() < deadline) {
      try {
        last = eval(expression);
      } catch (AssertionError e) {
        last = e.getMessage();
      }
      if (until.test(last)) {
        return last;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "after " + max.toSeconds() + " s, " + expression + " is still: " + last);
  }

  private void answer(String message) {
    try {
      JsonNode json = Json.MAPPER.readTree(message);
      if (json.has("id")) {
        CompletableFuture<JsonNode> f = pending.remove(json.get("id").asInt());
        if (f != null) {
          f.complete(json);
        }
      }
    } catch (IOException e) {
      // not an answer to a call of ours
    }
  }

  /** Collects a message's frames and hands the whole message over. */
  private static final class Listener implements WebSocket.Listener {
    volatile Chromium owner;
    private final StringBuilder message = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      message.append(data);
      if (last) {
        String whole = message.toString();
        message.setLength(0);
        if (owner != null) {
          owner.answer(whole);
        }
      }
      webSocket.request(1);
      return null;
    }
  }

  @Override
  public void close() throws Exception {
    try {
      socket.abort();
    } finally {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      deleteRecursively(profile);
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (var files = Files.walk(path)) {
      files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    }
  }
}
