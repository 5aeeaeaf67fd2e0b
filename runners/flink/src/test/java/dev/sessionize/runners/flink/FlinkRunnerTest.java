package dev.sessionize.runners.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.SessionizationPipeline;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The same job, unchanged, on the FlinkRunner: an embedded Flink mini-cluster in this JVM,
 * streaming mode (the production mode), parallelism 2.
 */
@RunWith(JUnit4.class)
public class FlinkRunnerTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void happyPathGivesTheSameSessionsAsOnTheDirectRunner() throws Exception {
    String testdata = System.getProperty("sessionize.testdata", "../../testdata");
    Path input = Paths.get(testdata, "events", "happy-path.jsonl");
    File out = tmp.newFolder("out");
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(
                "--runner=FlinkRunner",
                "--flinkMaster=[local]",
                "--parallelism=2",
                "--streaming=true",
                "--input=" + input.toAbsolutePath(),
                "--output=" + out.getAbsolutePath())
            .as(SessionizationPipeline.Options.class);
    SessionizationPipeline.run(options).waitUntilFinish();

    List<String> finals = new ArrayList<>();
    for (String line : Files.readAllLines(out.toPath().resolve("sessions-00000-of-00001.jsonl"))) {
      JsonNode s = Json.MAPPER.readTree(line);
      if (s.get("is_final").asBoolean()) {
        finals.add(
            s.get("user_id").asText()
                + " "
                + s.get("start_time").asText()
                + ".."
                + s.get("end_time").asText()
                + " events="
                + s.get("event_count").asInt());
      }
    }
    finals.sort(null);
    assertThat(
        finals,
        contains(
            "alice 2026-11-24T10:00:00.000Z..2026-11-24T10:07:00.000Z events=4",
            "alice 2026-11-24T11:00:00.000Z..2026-11-24T11:10:00.000Z events=2",
            "bob 2026-11-24T10:01:00.000Z..2026-11-24T10:49:59.000Z events=3",
            "bob 2026-11-24T11:20:00.000Z..2026-11-24T11:20:00.000Z events=1",
            "carol 2026-11-24T10:30:00.000Z..2026-11-24T10:30:00.000Z events=1"));
  }
}
