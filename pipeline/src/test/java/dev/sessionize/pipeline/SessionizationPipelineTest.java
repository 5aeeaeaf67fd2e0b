package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.transforms.model.Json;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The job end to end on the DirectRunner with the file source and sinks, and its options. */
@RunWith(JUnit4.class)
public class SessionizationPipelineTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static SessionizationPipeline.Options options(String... args) {
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    return PipelineOptionsFactory.fromArgs(args).as(SessionizationPipeline.Options.class);
  }

  private static List<JsonNode> readJsonLines(Path file) throws IOException {
    List<JsonNode> nodes = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      nodes.add(Json.MAPPER.readTree(line));
    }
    return nodes;
  }

  @Test
  public void runsOnTheHappyPathFixtureAndWritesEveryOutput() throws Exception {
    Path input = FixturesTest.testdata().resolve("events/happy-path.jsonl");
    File out = tmp.newFolder("out");
    SessionizationPipeline.Options options =
        options("--runner=DirectRunner", "--input=" + input, "--output=" + out);
    PipelineResult result = SessionizationPipeline.run(options);
    result.waitUntilFinish();

    List<JsonNode> sessions = readJsonLines(out.toPath().resolve("sessions-00000-of-00001.jsonl"));
    // A bounded file: the watermark jumps to the end, so each session is emitted once, final.
    List<String> described =
        sessions.stream()
            .map(
                s ->
                    s.get("user_id").asText()
                        + " "
                        + s.get("start_time").asText()
                        + " "
                        + s.get("event_count").asInt()
                        + " "
                        + s.get("is_final").asBoolean()
                        + " v"
                        + s.get("version").asInt())
            .sorted()
            .collect(Collectors.toList());
    assertThat(
        described,
        contains(
            "alice 2026-11-24T10:00:00.000Z 4 true v0",
            "alice 2026-11-24T11:00:00.000Z 2 true v0",
            "bob 2026-11-24T10:01:00.000Z 3 true v0",
            "bob 2026-11-24T11:20:00.000Z 1 true v0",
            "carol 2026-11-24T10:30:00.000Z 1 true v0"));
    JsonNode alice =
        sessions.stream().filter(s -> s.get("event_count").asInt() == 4).findFirst().orElseThrow();
    assertEquals(
        0, new java.math.BigDecimal("59.90").compareTo(alice.get("revenue").decimalValue()));
    assertThat(
        Files.readString(out.toPath().resolve("sessions-00000-of-00001.jsonl")),
        containsString("\"revenue\":59.90,"));
    assertEquals("c-alice-1", alice.get("client_session_id").asText());
    assertEquals(420, alice.get("duration_seconds").asLong());
    assertEquals(true, alice.get("conversion").asBoolean());
    assertEquals("https://www.google.com/", alice.get("referrer").asText());

    List<String> dashboard =
        Files.readAllLines(out.toPath().resolve("dashboard-00000-of-00001.jsonl"));
    long events = 0;
    for (String line : dashboard) {
      assertThat(line, startsWith("dash:minute:2026-11-24T"));
      events += Json.MAPPER.readTree(line.substring(line.indexOf('\t') + 1)).get("events").asLong();
    }
    assertEquals(11, events);
    assertThat(
        Files.readAllLines(out.toPath().resolve("dead-letters-00000-of-00001.jsonl")), empty());
    String summary = SessionizationPipeline.summary(result, options);
    assertThat(summary, containsString("read 11 records: 11 events accepted into 5 sessions"));
    assertThat(summary, containsString("accounting holds"));
  }

  @Test
  public void rejectedRecordsOfTheSampleReachTheDeadLetterFileWithTheirReason() throws Exception {
    Path input = tmp.newFile("mixed.jsonl").toPath();
    Files.write(
        input,
        List.of(
            "{\"user_id\":\"u1\",\"event_type\":\"click\",\"timestamp\":\"2026-11-24T10:00:00Z\"}",
            "{\"user_id\":\"u1\",\"event_type\":\"click\"",
            "{\"event_type\":\"click\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"));
    File out = tmp.newFolder("out");
    SessionizationPipeline.run(options("--input=" + input, "--output=" + out)).waitUntilFinish();
    List<JsonNode> dead = readJsonLines(out.toPath().resolve("dead-letters-00000-of-00001.jsonl"));
    assertThat(dead, hasSize(2));
    List<String> reasons =
        dead.stream()
            .map(d -> d.get("source").get("offset").asLong() + " " + d.get("reason").asText())
            .sorted()
            .collect(Collectors.toList());
    assertThat(reasons, contains("2 MALFORMED_JSON", "3 MISSING_FIELD"));
    assertEquals("mixed.jsonl", dead.get(0).get("source").get("topic").asText());
  }

  @Test
  public void defaultsAreValid() {
    assertThat(
        SessionizationPipeline.validate(
            options("--input=" + FixturesTest.testdata().resolve("events/sample.jsonl"))),
        empty());
  }

  @Test
  public void eachBadOptionGetsOneLineNamingIt() {
    String[][] cases = {
      {"--sessionGap=-5m", "--sessionGap=-5m is out of range: allowed values are 1ms to 1d"},
      {"--sessionGap=soon", "--sessionGap=soon is not valid: 'soon' is not a duration"},
      {"--allowedLateness=2d", "--allowedLateness=2d is out of range: allowed values are 0s to 1d"},
      {"--maxOutOfOrderness=-1s", "--maxOutOfOrderness=-1s is out of range"},
      {"--dashboardFiring=0s", "--dashboardFiring=0s is out of range"},
      {
        "--maxRecordBytes=0", "--maxRecordBytes=0 is out of range: allowed values are 1 to 16777216"
      },
      {"--maxPagesPerSession=0", "--maxPagesPerSession=0 is out of range"},
      {
        "--maxSessionDuration=30m",
        "--maxSessionDuration=30m is out of range: allowed values are 40m (sessionGap +"
            + " allowedLateness + maxOutOfOrderness) to 30d"
      },
      {"--maxSessionDuration=60d", "--maxSessionDuration=60d is out of range"},
      {"--maxSessionDuration=forever", "--maxSessionDuration=forever is not valid"},
      {"--redisPort=70000", "--redisPort=70000 is out of range: allowed values are 1 to 65535"},
      {
        "--redisFlushTimeout=-1s",
        "--redisFlushTimeout=-1s is out of range: allowed values are 0s to 1d"
      },
      {"--reportingCurrency=dollars", "--reportingCurrency=dollars is not valid: use a 3-letter"},
      {"--inputTopic=bad topic", "--inputTopic=bad topic is not a valid Kafka topic name"},
      {"--bootstrapServers=localhost", "--bootstrapServers=localhost is not valid: use host:port"},
      {
        "--source=carrier-pigeon",
        "--source=carrier-pigeon is not supported: allowed values are file, kafka"
      },
      {
        "--startingOffsets=middle",
        "--startingOffsets=middle is not valid: allowed values are earliest, latest"
      },
      {
        "--input=/no/such/file.jsonl", "--input=/no/such/file.jsonl does not exist or is not a file"
      },
    };
    String input = "--input=" + FixturesTest.testdata().resolve("events/sample.jsonl");
    for (String[] c : cases) {
      String[] args =
          c[0].startsWith("--input=") ? new String[] {c[0]} : new String[] {input, c[0]};
      List<String> problems = SessionizationPipeline.validate(options(args));
      assertThat(c[0], problems, hasSize(1));
      assertThat(c[0], problems.get(0), startsWith(c[1]));
      assertThat(c[0], problems.get(0), org.hamcrest.Matchers.not(containsString("\n")));
    }
    // An output folder below a regular file can never be created (even by root).
    String file = FixturesTest.testdata().resolve("events/sample.jsonl").toString();
    String[][] iceberg = {
      {
        "--catalogType=hive",
        "--catalogType=hive is not supported: allowed values are hadoop, jdbc, rest"
      },
      {"--catalogType=jdbc", "--catalogProperties has no uri: a jdbc catalog needs uri="},
      {"--catalogProperties=oops", "--catalogProperties is not valid: 'oops' is not key=value"},
      {
        "--catalogType=rest --catalogProperties=uri=http://localhost:1,token=${env:SESSIONIZE_UNSET}",
        "--catalogProperties: token reads the environment variable SESSIONIZE_UNSET, which is not"
      },
      {"--warehouse=" + file + "/wh", "--warehouse=" + file + "/wh cannot be created"},
    };
    for (String[] c : iceberg) {
      List<String> args = new java.util.ArrayList<>(List.of(input, "--sessionsSink=iceberg"));
      args.addAll(List.of(c[0].split(" ")));
      List<String> found = SessionizationPipeline.validate(options(args.toArray(String[]::new)));
      assertThat(c[0], found, hasSize(1));
      assertThat(c[0], found.get(0), startsWith(c[1]));
    }
    List<String> problems =
        SessionizationPipeline.validate(options(input, "--output=" + file + "/out"));
    assertThat(problems, hasSize(1));
    assertThat(problems.get(0), startsWith("--output=" + file + "/out cannot be created"));
  }

  @Test
  public void theSessionCapFollowsTheOtherDurations() {
    String input = "--input=" + FixturesTest.testdata().resolve("events/sample.jsonl");
    // 2h gap + 5m + 5m: a 2h cap is too short, 2h10m is the least allowed.
    List<String> problems =
        SessionizationPipeline.validate(
            options(input, "--sessionGap=2h", "--maxSessionDuration=2h"));
    assertThat(problems, hasSize(1));
    assertThat(
        problems.get(0),
        startsWith("--maxSessionDuration=2h is out of range: allowed values are 130m"));
    assertThat(
        SessionizationPipeline.validate(
            options(input, "--sessionGap=2h", "--maxSessionDuration=130m")),
        empty());
    assertEquals(
        org.joda.time.Duration.standardHours(24),
        SessionizationPipeline.config(options(input)).maxSessionDuration());
  }

  @Test
  public void anUnknownRunnerOrOptionIsOneLineNamingIt() {
    IllegalArgumentException runner =
        assertThrows(
            IllegalArgumentException.class,
            () -> SessionizationPipeline.parse(new String[] {"--runner=SparkRunner"}));
    assertThat(
        runner.getMessage(),
        startsWith("--runner=SparkRunner is not available: allowed values are "));
    assertThat(runner.getMessage(), containsString("DirectRunner"));
    assertThat(runner.getMessage(), org.hamcrest.Matchers.not(containsString("\n")));
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> SessionizationPipeline.parse(new String[] {"--sesionGap=5m"}));
    assertThat(unknown.getMessage(), containsString("'sesionGap'"));
    IllegalArgumentException wrongType =
        assertThrows(
            IllegalArgumentException.class,
            () -> SessionizationPipeline.parse(new String[] {"--maxPagesPerSession=many"}));
    assertThat(wrongType.getMessage(), containsString("maxPagesPerSession"));
    assertEquals(
        "DirectRunner",
        SessionizationPipeline.parse(new String[] {"--runner=DirectRunner"})
            .getRunner()
            .getSimpleName());
  }

  @Test
  public void runRefusesToStartWithBadOptionsAndListsEveryProblem() {
    InvalidOptionsException e =
        assertThrows(
            InvalidOptionsException.class,
            () ->
                SessionizationPipeline.run(
                    options(
                        "--input=/missing.jsonl", "--sessionGap=0m", "--reportingCurrency=usd")));
    assertThat(e.problems(), hasSize(3));
    assertThat(e.problems().get(0), startsWith("--sessionGap=0m"));
  }

  @Test
  public void deadLettersGoWhereTheSourceIsUnlessDeadLetterSinkSaysOtherwise() {
    String input = "--input=" + FixturesTest.testdata().resolve("events/sample.jsonl");
    assertEquals(Sinks.DeadLetterSink.FILE, Settings.of(options(input)).deadLetterSink());
    Settings kafka = Settings.of(options(input, "--source=kafka"));
    assertEquals(Sinks.DeadLetterSink.KAFKA, kafka.deadLetterSink());
    assertThat(
        Sinks.deadLetters(kafka),
        org.hamcrest.Matchers.instanceOf(
            dev.sessionize.pipeline.kafka.WriteDeadLettersToKafka.class));
    Settings kafkaToFiles = Settings.of(options(input, "--source=kafka", "--deadLetterSink=file"));
    assertEquals(Sinks.DeadLetterSink.FILE, kafkaToFiles.deadLetterSink());
    assertThat(
        Sinks.deadLetters(kafkaToFiles),
        org.hamcrest.Matchers.instanceOf(dev.sessionize.pipeline.files.WriteToFiles.class));
    assertEquals(
        Sinks.DeadLetterSink.KAFKA,
        Settings.of(options(input, "--deadLetterSink=kafka")).deadLetterSink());
    List<String> problems =
        SessionizationPipeline.validate(options(input, "--deadLetterSink=redis"));
    assertThat(problems, hasSize(1));
    assertEquals(
        "--deadLetterSink=redis is not supported: allowed values are kafka, file", problems.get(0));
  }
}
