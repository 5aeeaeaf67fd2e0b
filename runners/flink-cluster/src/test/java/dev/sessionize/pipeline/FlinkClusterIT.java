package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.iceberg.Table;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * The bundled jar on a real Flink 1.19 standalone cluster ({@code cluster.sh}: a JobManager and a
 * TaskManager in their own JVMs, from Maven jars), submitted the way a user submits it, and the
 * savepoint workflow: the job runs on the first half of a generated stream, is stopped with a
 * savepoint through Flink's REST API, and is submitted again from that savepoint while the rest of
 * the stream arrives. The table, the dead letters and the dashboard must then be exactly what the
 * whole stream gives.
 */
@RunWith(JUnit4.class)
public class FlinkClusterIT {
  private static final int PARTITIONS = 2;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private final List<String> clusterEnv = new ArrayList<>();
  private int restPort;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private void cluster(String command) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(System.getProperty("sessionize.cluster.script"), command)
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(new File(tmp.getRoot(), "cluster.out")));
    for (String kv : clusterEnv) {
      String[] p = kv.split("=", 2);
      pb.environment().put(p[0], p[1]);
    }
    Process p = pb.start();
    assertTrue(command + " within 3 minutes", p.waitFor(180, TimeUnit.SECONDS));
    assertEquals(
        "cluster.sh "
            + command
            + ": "
            + Files.readString(new File(tmp.getRoot(), "cluster.out").toPath()),
        0,
        p.exitValue());
  }

  @After
  public void stopCluster() throws Exception {
    if (!clusterEnv.isEmpty()) {
      cluster("stop");
    }
    // What the cluster and the submissions said stays in target/ after the temporary folder goes.
    java.nio.file.Path keep = java.nio.file.Path.of("target", "FlinkClusterIT-logs");
    Files.createDirectories(keep);
    try (java.util.stream.Stream<java.nio.file.Path> files = Files.walk(tmp.getRoot().toPath())) {
      for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".out") || name.endsWith(".log")) {
          Files.copy(f, keep.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private JsonNode rest(String method, String path, String body) throws Exception {
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
  private String runningJob() throws Exception {
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

  @Test
  public void theBundleRunsOnAClusterAndResumesFromASavepoint() throws Exception {
    assertTrue(
        "the bundled jar (mvn package of runners/flink) " + System.getProperty("sessionize.bundle"),
        new File(System.getProperty("sessionize.bundle")).isFile());
    restPort = freePort();
    clusterEnv.add("FLINK_REST_PORT=" + restPort);
    clusterEnv.add("FLINK_RPC_PORT=" + freePort());
    clusterEnv.add("FLINK_SLOTS=2");
    clusterEnv.add("FLINK_TM_MEMORY=2048m");
    clusterEnv.add("FLINK_CLUSTER_DIR=" + tmp.newFolder("cluster"));
    cluster("start");

    RestartScenario scenario = new RestartScenario(2026L, 2_000, 40, PARTITIONS);
    servers.kafka().createTopic("clickstream_events", PARTITIONS);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    servers.kafka().produce("clickstream_events", PARTITIONS, scenario.firstHalf);
    File warehouse = tmp.newFolder("warehouse");
    String[] args = {
      "--parallelism=2",
      "--checkpointingInterval=2000",
      "--minPauseBetweenCheckpoints=1000",
      "--stateBackendStoragePath=" + tmp.newFolder("checkpoints").toURI(),
      "--bootstrapServers=" + servers.kafka().bootstrapServers(),
      "--groupId=cluster-it",
      "--idleTimeout=1h",
      "--commitInterval=1s",
      "--warehouse=" + warehouse,
      "--redisPort=" + servers.redis().port(),
      "--output=" + tmp.newFolder("out")
    };
    submit(args);
    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    RestartScenario.await(
        "rows in the table", () -> SessionRows.byId(table).size() > 0, this::noRunningJob);

    // Stop with a savepoint (Flink's REST API, what `flink stop --savepointPath` calls).
    String job = runningJob();
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

    servers.kafka().produce("clickstream_events", PARTITIONS, scenario.secondHalf);
    List<String> resume = new ArrayList<>(List.of(args));
    resume.add("--savepointPath=" + savepoint[0]);
    submit(resume.toArray(String[]::new));

    RestartScenario.await(
        scenario.expectedSessions.size() + " sessions",
        () -> RestartScenario.sessions(table).size() >= scenario.expectedSessions.size(),
        this::noRunningJob);
    scenario.assertTable(table);
    int deadLetters = scenario.assertDeadLettersOnce(servers.kafka(), "clickstream_events_dlq");
    try (Jedis jedis = servers.redis().client()) {
      RestartScenario.await(
          "dashboard minutes equal to the accepted events",
          () -> RestartScenario.dashboard(jedis).equals(scenario.eventsPerMinute),
          this::noRunningJob);
    }
    rest("PATCH", "/jobs/" + runningJob() + "?mode=cancel", null);
    System.out.printf(
        "FlinkClusterIT: %d sessions, %d dead letters, %d dashboard minutes after the resume%n",
        scenario.expectedSessions.size(), deadLetters, scenario.eventsPerMinute.size());
  }
}
