package dev.sessionize.runners.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;

import dev.sessionize.pipeline.SessionizationPipeline;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The production preset: defaults fill in what the user left out, and bad values stop it. */
@RunWith(JUnit4.class)
public class FlinkProductionTest {
  @Test
  public void theUsersOptionsWinOverThePreset() {
    List<String> args =
        List.of(FlinkProduction.withPreset(new String[] {"--parallelism=4", "--streaming"}));
    assertThat(args, hasItem("--parallelism=4"));
    assertThat(args, not(hasItem("--parallelism=30")));
    assertThat(args, not(hasItem("--streaming=true")));
    assertThat(args, hasItem("--checkpointingInterval=60000"));
    assertThat(args, hasItem("--stateBackend=rocksdb"));
    assertThat(args, hasItem("--retainExternalizedCheckpointsOnCancellation=true"));
    assertThat(args, hasItem("--finishBundleBeforeCheckpointing=true"));
    assertEquals(
        List.of(), FlinkProduction.problems(new String[] {"--parallelism=4", "--streaming"}));
  }

  @Test
  public void eachBadFlinkOptionGetsOneLine() {
    String[][] cases = {
      {"--parallelism=0", "--parallelism=0 is out of range: allowed values are 1 and more"},
      {"--checkpointingInterval=soon", "--checkpointingInterval=soon is not valid"},
      {
        "--checkpointingInterval=99999999999999999999",
        "--checkpointingInterval=99999999999999999999 is not valid"
      },
      {"--parallelism=abc", "--parallelism=abc is not valid"},
      {"--savepointPath", "--savepointPath has no value"},
      {"--checkpointingMode=MAYBE", "--checkpointingMode=MAYBE is not supported"},
      {"--stateBackend=memory", "--stateBackend=memory is not supported: allowed values are"},
      {"--stateBackendStoragePath=checkpoints", "--stateBackendStoragePath=checkpoints is not"},
      {"--checkpointingInterval=0", "--deadLetterExactlyOnce=true needs checkpoints"},
      {
        "--finishBundleBeforeCheckpointing=false",
        "--finishBundleBeforeCheckpointing=false loses dashboard events at checkpoints"
      },
    };
    for (String[] c : cases) {
      List<String> problems = FlinkProduction.problems(new String[] {c[0]});
      assertThat(c[0], problems, hasSize(1));
      assertThat(c[0], problems.get(0), startsWith(c[1]));
    }
  }

  /**
   * The session windows change their accumulators in place; with the heap state backend and {@code
   * --fasterCopy=true} a running checkpoint holds those same objects, so the launch refuses the
   * combination with one line. The keyed-state step never changes a value it read.
   */
  @Test
  public void windowsWithFasterCopyOnHeapCheckpointsAreRefusedWithOneLine() {
    List<String> problems = problems("true", "5000", null, "windows");
    assertThat(problems.toString(), problems, hasSize(1));
    assertThat(problems.get(0), startsWith("--sessionImpl=windows is not safe with --fasterCopy"));
    assertEquals(List.of(), problems("true", "5000", null, "state"));
    assertEquals(List.of(), problems("true", "5000", "rocksdb", "windows"));
    assertEquals(List.of(), problems("false", "5000", null, "windows"));
    assertEquals(List.of(), problems("true", "-1", null, "windows"));
  }

  /** An input file that exists, so the only problem left is the one under test. */
  private static Path input() {
    try {
      Path file = Files.createTempFile("events", ".jsonl");
      file.toFile().deleteOnExit();
      return file;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static List<String> problems(
      String fasterCopy, String checkpointing, String backend, String impl) {
    List<String> args = new ArrayList<>();
    args.add("--runner=FlinkRunner");
    args.add("--output=target");
    args.add("--input=" + input().toString());
    args.add("--fasterCopy=" + fasterCopy);
    args.add("--checkpointingInterval=" + checkpointing);
    args.add("--sessionImpl=" + impl);
    if (backend != null) {
      args.add("--stateBackend=" + backend);
    }
    return SessionizationPipeline.validate(
        PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
            .as(SessionizationPipeline.Options.class));
  }

  @Test
  public void localModeGetsNetworkMemoryForItsParallelismAndTheRestorePath() throws Exception {
    FlinkPipelineOptions args = flink("--parallelism=30", "--savepointPath=file:///tmp/chk-7");
    FlinkProduction.localClusterConf(args);
    String yaml = flinkConf(args);
    long mb = FlinkProduction.networkMemoryMb(30);
    assertThat(yaml, containsString("taskmanager.memory.network.min: " + mb + "mb"));
    assertThat(yaml, containsString("taskmanager.memory.network.max: " + mb + "mb"));
    assertThat(yaml, containsString("execution.savepoint.path: file:///tmp/chk-7"));
    assertThat(mb, greaterThan(64L));
  }

  @Test
  public void theUsersFlinkConfigurationIsKeptAndWins() throws Exception {
    Path userConf = Files.createTempDirectory("user-flink-conf");
    Files.writeString(
        userConf.resolve("flink-conf.yaml"),
        "taskmanager.memory.network.max: 2gb\nstate.backend.rocksdb.localdir: /data\n");
    FlinkPipelineOptions args =
        flink("--parallelism=30", "--flinkConfDir=" + userConf, "--savepointPath=file:///s");
    FlinkProduction.localClusterConf(args);
    String yaml = flinkConf(args);
    assertThat(yaml, containsString("taskmanager.memory.network.max: 2gb"));
    assertThat(yaml, containsString("state.backend.rocksdb.localdir: /data"));
    assertThat(yaml, not(containsString("taskmanager.memory.network.min")));
    assertThat(yaml, containsString("execution.savepoint.path: file:///s"));
  }

  @Test
  public void aRemoteClusterGetsOnlyTheRestartStrategy() throws Exception {
    FlinkPipelineOptions remote =
        flink("--flinkMaster=jobmanager:8081", "--parallelism=30", "--savepointPath=x");
    FlinkProduction.localClusterConf(remote);
    String yaml = flinkConf(remote);
    assertEquals(FlinkProduction.RESTART_STRATEGY, yaml);
    assertEquals(List.of(), FlinkProduction.localEndpoints(remote));
  }

  @Test
  public void localModeServesTheWebUiAndPrometheusMetricsAndRestartsByItself() throws Exception {
    FlinkPipelineOptions args = flink("--flinkMaster=[local]", "--parallelism=2");
    FlinkProduction.localClusterConf(args);
    String yaml = flinkConf(args);
    assertThat(yaml, containsString("restart-strategy.type: exponential-delay"));
    assertThat(yaml, not(containsString("taskmanager.memory.network")));
    assertThat(
        yaml,
        containsString(
            "metrics.reporter.prom.factory.class:"
                + " org.apache.flink.metrics.prometheus.PrometheusReporterFactory"));
    List<String> urls = FlinkProduction.localEndpoints(args);
    assertEquals(2, urls.size());
    assertThat(urls.get(0), startsWith("Flink web UI: http://localhost:"));
    assertThat(urls.get(1), startsWith("Prometheus metrics: http://localhost:"));
    // A port that is taken is not written: the embedded cluster would fail to start.
    try (ServerSocket busy = new ServerSocket(0)) {
      int port = FlinkProduction.portOrFree(busy.getLocalPort());
      assertThat(port, not(busy.getLocalPort()));
    }
  }

  @Test
  public void theUsersRestartStrategyPortsAndReportersWin() throws Exception {
    Path userConf = Files.createTempDirectory("user-flink-conf");
    Files.writeString(
        userConf.resolve("flink-conf.yaml"),
        "restart-strategy.type: fixed-delay\nrest.port: 18081\n"
            + "metrics.reporter.jmx.factory.class: org.apache.flink.metrics.jmx.JMXReporterFactory\n");
    FlinkPipelineOptions args = flink("--parallelism=2", "--flinkConfDir=" + userConf);
    FlinkProduction.localClusterConf(args);
    String yaml = flinkConf(args);
    assertThat(yaml, not(containsString("exponential-delay")));
    assertThat(yaml, not(containsString("rest.bind-port")));
    assertThat(yaml, not(containsString("prometheus")));
    assertEquals(
        List.of("Flink web UI: http://localhost:18081/"), FlinkProduction.localEndpoints(args));
  }

  /** The FlinkRunner's options of {@code args}, no preset. */
  private static FlinkPipelineOptions flink(String... args) {
    return PipelineOptionsFactory.fromArgs(args).as(FlinkPipelineOptions.class);
  }

  private static String flinkConf(FlinkPipelineOptions options) throws Exception {
    String dir = options.getFlinkConfDir();
    assertThat("--flinkConfDir", dir, notNullValue());
    return Files.readString(Paths.get(dir, "flink-conf.yaml"));
  }
}
