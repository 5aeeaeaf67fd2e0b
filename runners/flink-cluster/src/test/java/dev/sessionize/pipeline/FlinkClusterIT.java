package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.joda.time.Instant;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * The bundled jar on a real Flink 1.19 standalone cluster ({@code cluster.sh}: a JobManager and two
 * TaskManagers with one slot each, each in a JVM of its own, from Maven jars), submitted the way a
 * user submits it, operated the way production operates it:
 *
 * <ul>
 *   <li>the web UI is served, and its REST API shows the running job and its completed checkpoints;
 *   <li>every JVM's Prometheus endpoint carries the job's counters, each equal to what the stream
 *       must give, and Flink's checkpoint, back-pressure and source figures;
 *   <li>the savepoint workflow: stopped with a savepoint through the REST API and submitted again
 *       from it while the rest of the stream arrives;
 *   <li>self-healing: a TaskManager killed with SIGKILL in the middle of the stream, a new one
 *       started as an operator would ({@code cluster.sh add-taskmanager}), and the job back by its
 *       restart strategy alone.
 * </ul>
 *
 * After each, the table, the dead letters and the dashboard must be exactly what the whole stream
 * gives. One cluster, broker and redis-server for the class.
 */
@RunWith(JUnit4.class)
public class FlinkClusterIT {
  private static final int PARTITIONS = 2;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @ClassRule public static final TemporaryFolder tmp = new TemporaryFolder();

  private static final Map<String, String> clusterEnv = new TreeMap<>();
  private static int restPort;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The first of {@code n} consecutive free ports (the JobManager's and TaskManagers' metrics). */
  private static int freePorts(int n) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int first = freePort();
      boolean free = first + n < 65_000;
      for (int p = first; free && p < first + n; p++) {
        try (ServerSocket s = new ServerSocket(p)) {
          s.getLocalPort();
        } catch (IOException taken) {
          free = false;
        }
      }
      if (free) {
        return first;
      }
    }
    throw new IllegalStateException("no " + n + " consecutive free ports");
  }

  private static String cluster(String command) throws Exception {
    File out = new File(tmp.getRoot(), "cluster.out");
    long before = out.length();
    ProcessBuilder pb =
        new ProcessBuilder(System.getProperty("sessionize.cluster.script"), command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(out));
    pb.environment().putAll(clusterEnv);
    Process p = pb.start();
    assertTrue(command + " within 3 minutes", p.waitFor(180, TimeUnit.SECONDS));
    String said = Files.readString(out.toPath()).substring((int) before);
    assertEquals("cluster.sh " + command + ": " + said, 0, p.exitValue());
    return said;
  }

  @BeforeClass
  public static void startCluster() throws Exception {
    assertTrue(
        "the bundled jar (mvn package of runners/flink) " + System.getProperty("sessionize.bundle"),
        new File(System.getProperty("sessionize.bundle")).isFile());
    restPort = freePort();
    clusterEnv.put("FLINK_REST_PORT", String.valueOf(restPort));
    clusterEnv.put("FLINK_RPC_PORT", String.valueOf(freePort()));
    clusterEnv.put("FLINK_METRICS_PORT", String.valueOf(freePorts(5)));
    clusterEnv.put("FLINK_TASKMANAGERS", "2");
    clusterEnv.put("FLINK_SLOTS", "1");
    clusterEnv.put("FLINK_TM_MEMORY", "1536m");
    clusterEnv.put("FLINK_CLUSTER_DIR", tmp.newFolder("cluster").getPath());
    cluster("start");
  }

  @AfterClass
  public static void stopCluster() throws Exception {
    try {
      if (!clusterEnv.isEmpty()) {
        cluster("stop");
      }
    } finally {
      // What the cluster and the submissions said stays in target/ after the temporary folder goes.
      Path keep = Path.of("target", "FlinkClusterIT-logs");
      Files.createDirectories(keep);
      try (Stream<Path> files = Files.walk(tmp.getRoot().toPath())) {
        for (Path f : (Iterable<Path>) files::iterator) {
          String name = f.getFileName().toString();
          if (name.endsWith(".out") || name.endsWith(".log") || name.endsWith(".prom")) {
            Files.copy(f, keep.resolve(name), StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    }
  }

  /** Each test leaves the cluster's slots free for the next one. */
  @After
  public void cancelJobs() throws Exception {
    for (JsonNode job : rest("GET", "/jobs", null).get("jobs")) {
      if ("RUNNING".equals(job.get("status").asText())) {
        rest("PATCH", "/jobs/" + job.get("id").asText() + "?mode=cancel", null);
      }
    }
    RestartScenario.await("the jobs to stop", () -> runningJob() == null, () -> null);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode rest(String method, String path, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + restPort + path));
    request =
        body == null
            ? request.method(method, HttpRequest.BodyPublishers.noBody())
            : request
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> response =
        HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(
        path + " -> " + response.statusCode() + " " + response.body(), response.statusCode() < 300);
    return Json.MAPPER.readTree(response.body().isEmpty() ? "{}" : response.body());
  }

  /** The id of the one running job, or null. */
  private static String runningJob() throws Exception {
    for (JsonNode job : rest("GET", "/jobs", null).get("jobs")) {
      if ("RUNNING".equals(job.get("status").asText())) {
        return job.get("id").asText();
      }
    }
    return null;
  }

  /** Null while a job runs; else what the cluster says about its jobs. */
  private String noRunningJob() throws Exception {
    return runningJob() != null ? null : rest("GET", "/jobs", null).toString();
  }

  /** Null while the job runs or restarts by itself; else what the cluster says about it. */
  private String jobGone(String job) throws Exception {
    String state = rest("GET", "/jobs/" + job, null).get("state").asText();
    return List.of("FAILED", "CANCELED", "FINISHED").contains(state) ? "job " + state : null;
  }

  private void submit(String... args) throws Exception {
    String bundle = System.getProperty("sessionize.bundle");
    String lib =
        new File(System.getProperty("sessionize.cluster.script")).getParent() + "/target/lib/*";
    List<String> options = new ArrayList<>();
    options.add("--flinkMaster=localhost:" + restPort);
    options.add("--filesToStage=" + bundle);
    options.add("--attachedMode=false");
    options.addAll(List.of(args));
    List<String> command =
        JavaCommand.of(
            bundle + File.pathSeparator + lib,
            List.of(),
            "dev.sessionize.runners.flink.FlinkProduction",
            options);
    File out = new File(tmp.getRoot(), "submit.out");
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(out))
            .start();
    assertTrue("the submission returns (detached)", p.waitFor(180, TimeUnit.SECONDS));
    assertEquals("the submission: " + Files.readString(out.toPath()), 0, p.exitValue());
  }

  /** The job's options for a test of its own: its topics, consumer group and warehouse. */
  private String[] jobArgs(String name, File warehouse) throws Exception {
    servers.kafka().createTopic(name, PARTITIONS);
    servers.kafka().createTopic(name + "_dlq", 1);
    return new String[] {
      "--parallelism=2",
      "--checkpointingInterval=2000",
      "--minPauseBetweenCheckpoints=1000",
      "--stateBackendStoragePath=" + tmp.newFolder(name + "-checkpoints").toURI(),
      "--bootstrapServers=" + servers.kafka().bootstrapServers(),
      "--inputTopic=" + name,
      "--deadLetterTopic=" + name + "_dlq",
      "--groupId=" + name,
      "--idleTimeout=1h",
      "--commitInterval=1s",
      "--warehouse=" + warehouse,
      "--redisPort=" + servers.redis().port(),
      "--output=" + tmp.newFolder(name + "-out")
    };
  }

  /** Redis empty and its command statistics at zero, for a job of its own. */
  private static void freshRedis() {
    try (Jedis jedis = servers.redis().client()) {
      jedis.flushAll();
      jedis.configResetStat();
    }
  }

  /**
   * The web UI, the REST overview and the Prometheus endpoints while the job has worked through the
   * first half of the stream, then the savepoint workflow.
   */
  @Test
  public void theBundleIsWatchedThroughTheWebUiAndPrometheusAndResumesFromASavepoint()
      throws Exception {
    freshRedis();
    RestartScenario scenario = new RestartScenario(2026L, 2_000, 40, PARTITIONS);
    File warehouse = tmp.newFolder("warehouse-savepoint");
    String[] args = jobArgs("clicks_savepoint", warehouse);
    servers.kafka().produce("clicks_savepoint", PARTITIONS, scenario.firstHalf);
    submit(args);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    RestartScenario.await(
        "rows in the table", () -> SessionRows.byId(table).size() > 0, this::noRunningJob);
    String job = runningJob();

    // The web UI's page and its script are served by the JobManager's REST endpoint.
    HttpResponse<String> index = get("http://localhost:" + restPort + "/");
    assertEquals(200, index.statusCode());
    assertTrue(index.body(), index.body().contains("<title>Apache Flink Web Dashboard</title>"));
    Matcher script = Pattern.compile("src=\"(main[.a-z0-9]*\\.js)\"").matcher(index.body());
    assertTrue("the page's main script in " + index.body(), script.find());
    assertEquals(200, get("http://localhost:" + restPort + "/" + script.group(1)).statusCode());
    // What the UI shows: the running job in the overview, its completed checkpoints.
    JsonNode overview = rest("GET", "/jobs/overview", null);
    assertTrue(overview.toString(), overview.toString().contains("\"jid\":\"" + job + "\""));
    assertEquals(1, rest("GET", "/overview", null).get("jobs-running").asInt());
    RestartScenario.await(
        "completed checkpoints",
        () ->
            rest("GET", "/jobs/" + job + "/checkpoints", null).at("/counts/completed").asInt() > 0,
        this::noRunningJob);

    assertMetricsOfTheFirstHalf(job, table);

    // Stop with a savepoint (Flink's REST API, what `flink stop --savepointPath` calls).
    String trigger =
        rest(
                "POST",
                "/jobs/" + job + "/stop",
                "{\"targetDirectory\":\""
                    + tmp.newFolder("savepoints").toURI()
                    + "\",\"drain\":false}")
            .get("request-id")
            .asText();
    String[] savepoint = {null};
    RestartScenario.await(
        "the savepoint",
        () -> {
          JsonNode status = rest("GET", "/jobs/" + job + "/savepoints/" + trigger, null);
          if (!"COMPLETED".equals(status.at("/status/id").asText())) {
            return false;
          }
          JsonNode operation = status.get("operation");
          if (operation.has("failure-cause")) {
            throw new AssertionError("the savepoint failed: " + operation);
          }
          savepoint[0] = operation.get("location").asText();
          return true;
        },
        () -> null);
    RestartScenario.await("the job to stop", () -> runningJob() == null, () -> null);
    System.out.printf("FlinkClusterIT: stopped with savepoint %s%n", savepoint[0]);

    servers.kafka().produce("clicks_savepoint", PARTITIONS, scenario.secondHalf);
    List<String> resume = new ArrayList<>(List.of(args));
    resume.add("--savepointPath=" + savepoint[0]);
    submit(resume.toArray(String[]::new));
    assertEverything(scenario, table, "clicks_savepoint_dlq", this::noRunningJob);
  }

  /**
   * A TaskManager dies (SIGKILL) while the job works; an operator starts another one; Flink's
   * restart strategy brings the same job back from its last checkpoint without any command to it.
   */
  @Test
  public void theJobHealsItselfWhenATaskManagerIsKilled() throws Exception {
    freshRedis();
    RestartScenario scenario = new RestartScenario(2027L, 2_000, 40, PARTITIONS);
    File warehouse = tmp.newFolder("warehouse-heal");
    String[] args = jobArgs("clicks_heal", warehouse);
    servers.kafka().produce("clicks_heal", PARTITIONS, scenario.firstHalf);
    submit(args);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    RestartScenario.await(
        "rows in the table", () -> SessionRows.byId(table).size() > 0, this::noRunningJob);
    String job = runningJob();
    RestartScenario.await(
        "a completed checkpoint",
        () ->
            rest("GET", "/jobs/" + job + "/checkpoints", null).at("/counts/completed").asInt() > 0,
        this::noRunningJob);

    // SIGKILL one of the two TaskManagers that run the job's subtasks.
    String victim = firstRunningTaskManager();
    long pid =
        Long.parseLong(
            Files.readString(Path.of(clusterEnv.get("FLINK_CLUSTER_DIR"), victim + ".pid")).trim());
    long killedAt = System.currentTimeMillis();
    assertEquals(0, new ProcessBuilder("kill", "-9", String.valueOf(pid)).start().waitFor());
    System.out.printf("FlinkClusterIT: killed %s (pid %d) with SIGKILL%n", victim, pid);
    // The rest of the stream arrives while the job is down; an operator replaces the machine.
    servers.kafka().produce("clicks_heal", PARTITIONS, scenario.secondHalf);
    System.out.print(cluster("add-taskmanager"));
    RestartScenario.await(
        "the job restarted by Flink",
        () -> restarts(job) > 0 && allTasksRunning(job),
        () -> jobGone(job));
    long backAt = System.currentTimeMillis();
    assertEquals("the same job, never submitted again", job, runningJob());

    assertEverything(scenario, table, "clicks_heal_dlq", () -> jobGone(job));
    System.out.printf(
        "FlinkClusterIT: %s killed; the job was running again %.1f s later (%d restarts), with"
            + " the table, dead letters and dashboard exact%n",
        victim, (backAt - killedAt) / 1000.0, restarts(job));
  }

  private String firstRunningTaskManager() throws Exception {
    for (String line : cluster("metrics").split("\n")) {
      if (line.startsWith("taskmanager-")) {
        return line.split(" ")[0];
      }
    }
    throw new AssertionError("no running TaskManager");
  }

  private static long restarts(String job) throws Exception {
    // The JobManager's job metric, as the web UI shows it.
    JsonNode metrics = rest("GET", "/jobs/" + job + "/metrics?get=numRestarts", null);
    return metrics.size() == 0 ? 0 : metrics.get(0).get("value").asLong();
  }

  private static boolean allTasksRunning(String job) throws Exception {
    JsonNode detail = rest("GET", "/jobs/" + job, null);
    if (!"RUNNING".equals(detail.get("state").asText())) {
      return false;
    }
    for (JsonNode vertex : detail.get("vertices")) {
      if (!"RUNNING".equals(vertex.get("status").asText())) {
        return false;
      }
    }
    return true;
  }

  /** The table, the dead letters and every dashboard minute are exactly the whole stream's. */
  private void assertEverything(
      RestartScenario scenario,
      Table table,
      String deadLetterTopic,
      java.util.concurrent.Callable<String> trouble)
      throws Exception {
    RestartScenario.await(
        scenario.expectedSessions.size() + " sessions",
        () -> RestartScenario.sessions(table).size() >= scenario.expectedSessions.size(),
        trouble);
    scenario.assertTable(table);
    int deadLetters = scenario.assertDeadLettersOnce(servers.kafka(), deadLetterTopic);
    try (Jedis jedis = servers.redis().client()) {
      RestartScenario.await(
          "dashboard minutes equal to the accepted events",
          () -> RestartScenario.dashboard(jedis).equals(scenario.eventsPerMinute),
          trouble);
    }
    System.out.printf(
        "FlinkClusterIT: %d sessions, %d dead letters, %d dashboard minutes%n",
        scenario.expectedSessions.size(), deadLetters, scenario.eventsPerMinute.size());
  }

  // ---- Prometheus ----

  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})? (\\S+)$");

  /** Every sample of every running JVM's endpoint: "name{labels}" to value. */
  private Map<String, Double> scrape() throws Exception {
    Map<String, Double> samples = new TreeMap<>();
    StringBuilder raw = new StringBuilder();
    for (String line : cluster("metrics").split("\n")) {
      String[] roleUrl = line.trim().split(" ");
      if (roleUrl.length != 2) {
        continue;
      }
      HttpResponse<String> response = get(roleUrl[1]);
      assertEquals(roleUrl[1], 200, response.statusCode());
      raw.append("# ").append(line).append('\n').append(response.body());
      for (String sample : response.body().split("\n")) {
        Matcher m = SAMPLE.matcher(sample);
        if (!sample.startsWith("#") && m.matches()) {
          String labels = m.group(3) == null ? "" : m.group(3);
          samples.put(roleUrl[0] + " " + m.group(1) + "{" + labels + "}", parse(m.group(4)));
        }
      }
    }
    Files.writeString(new File(tmp.getRoot(), "scrape.prom").toPath(), raw);
    return samples;
  }

  private static double parse(String value) {
    switch (value) {
      case "NaN":
        return Double.NaN;
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      default:
        return Double.parseDouble(value);
    }
  }

  /** The sum of a metric over every JVM, subtask and operator of the job; -1 when absent. */
  private static long sum(Map<String, Double> samples, String name, String job) {
    double total = 0;
    boolean found = false;
    for (Map.Entry<String, Double> s : samples.entrySet()) {
      String key = s.getKey().substring(s.getKey().indexOf(' ') + 1);
      if (key.startsWith(name + "{") && key.contains("job_id=\"" + job + "\"")) {
        total += s.getValue();
        found = true;
      }
    }
    return found ? Math.round(total) : -1;
  }

  /**
   * Each of the job's counters, summed over the TaskManagers' endpoints, equals what the first half
   * of the stream must give (computed from the stream without the job), or what Redis and the table
   * themselves count; Flink's own checkpoint, back-pressure and source figures are there.
   */
  private void assertMetricsOfTheFirstHalf(String job, Table table) throws Exception {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(2026L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(2_000)
            .users(40)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    GeneratedExpectations half = new GeneratedExpectations(stream.subList(0, stream.size() / 2));
    long read = half.payloads.size();
    long accepted = half.eventsPerMinute.values().stream().mapToLong(Integer::longValue).sum();
    Map<String, Long> expected = new TreeMap<>();
    expected.put("sessionize_records_read", read);
    expected.put("sessionize_accepted", accepted);
    expected.put("sessionize_duplicates", read - half.rejected() - accepted);
    half.reasons.forEach((reason, n) -> expected.put("sessionize_dead_letter_" + reason, (long) n));
    String operator = "flink_taskmanager_job_task_operator_";
    Map<String, Long> observed = new TreeMap<>();
    String[] differences = {""};
    // Counters reach Flink when a bundle finishes (at most a second apart): wait until they and
    // what Redis and the table count have settled to the same figures.
    try {
      awaitCounters(expected, observed, differences, job, table, operator);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n" + differences[0], e);
    }
    System.out.println("FlinkClusterIT: Prometheus counters " + observed);
    assertFlinksOwnMetrics(job, read);
  }

  private void awaitCounters(
      Map<String, Long> expected,
      Map<String, Long> observed,
      String[] differences,
      String job,
      Table table,
      String operator)
      throws Exception {
    RestartScenario.await(
        "the job's counters equal to the stream's figures",
        () -> {
          Map<String, Double> samples = scrape();
          observed.clear();
          for (String name : expected.keySet()) {
            observed.put(name, sum(samples, operator + name, job));
          }
          try (Jedis jedis = servers.redis().client()) {
            // Every write of the job is one SET; Redis counts the calls it served.
            expected.put("sessionize_redis_writes", setCalls(jedis.info("commandstats")));
          }
          expected.put("sessionize_session_emissions", emissions(table));
          expected.put("sessionize_iceberg_commits", snapshots(table));
          for (String name :
              List.of(
                  "sessionize_redis_writes",
                  "sessionize_session_emissions",
                  "sessionize_iceberg_commits",
                  "sessionize_redis_write_retries",
                  "sessionize_iceberg_commit_retries")) {
            observed.put(name, Math.max(0, sum(samples, operator + name, job)));
          }
          expected.put("sessionize_redis_write_retries", 0L);
          expected.put("sessionize_iceberg_commit_retries", 0L);
          differences[0] = "expected " + expected + "\nobserved " + observed;
          return expected.equals(observed);
        },
        () -> differences[0].isEmpty() || runningJob() != null ? null : differences[0]);
  }

  private void assertFlinksOwnMetrics(String job, long read) throws Exception {
    Map<String, Double> samples = scrape();
    // Flink's own: checkpoints (the JobManager), back pressure (every task), the source's lag.
    assertTrue(
        "completed checkpoints",
        sum(samples, "flink_jobmanager_job_numberOfCompletedCheckpoints", job) > 0);
    assertTrue(
        "a checkpoint's duration",
        sum(samples, "flink_jobmanager_job_lastCheckpointDuration", job) >= 0);
    assertTrue(
        "a checkpoint's size", sum(samples, "flink_jobmanager_job_lastCheckpointSize", job) > 0);
    assertTrue(
        "back pressure per task",
        sum(samples, "flink_taskmanager_job_task_backPressuredTimeMsPerSecond", job) >= 0);
    assertTrue(
        "records out of the operators (Flink's I/O metrics)",
        sum(samples, "flink_taskmanager_job_task_operator_numRecordsOut", job) >= read);
    assertEquals("KafkaIO's backlog per partition", PARTITIONS, sourceBacklogSplits(samples, job));
    assertTrue(
        "the source's event-time lag (Flink's watermarkLag)",
        sum(samples, "flink_taskmanager_job_task_operator_watermarkLag", job) > 0);
  }

  /**
   * KafkaIO's backlog of each split (partition), as the FlinkRunner forwards Beam's source metrics:
   * one gauge per split, {@code source_splits_<n>_backlog_elements}; the number of splits found.
   * (KafkaIO updates them while records arrive: an idle source keeps its last estimate.)
   */
  static long sourceBacklogSplits(Map<String, Double> samples, String job) {
    return samples.keySet().stream()
        .filter(
            k ->
                k.matches(
                        "\\S+ flink_taskmanager_job_task_operator_source_splits_[0-9]+_backlog_elements\\{.*")
                    && k.contains("job_id=\"" + job + "\""))
        .count();
  }

  private static long setCalls(String commandStats) {
    Matcher m = Pattern.compile("cmdstat_set:calls=([0-9]+)").matcher(commandStats);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  /** Emissions the table shows: a session's rows are versions 0, 1, ..., so version + 1 each. */
  private static long emissions(Table table) throws Exception {
    long n = 0;
    for (Record r : SessionRows.all(table)) {
      n += ((Integer) r.getField("version")) + 1;
    }
    return n;
  }

  private static long snapshots(Table table) {
    table.refresh();
    long n = 0;
    for (Snapshot ignored : table.snapshots()) {
      n++;
    }
    return n;
  }
}
