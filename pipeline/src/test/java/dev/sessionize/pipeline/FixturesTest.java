package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;

import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Session;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The JSON-lines fixtures of {@code testdata/events}, replayed one record at a time with a
 * bounded-out-of-orderness watermark, against the sessions and dead letters worked out by hand in
 * {@code testdata/expected}.
 */
@RunWith(JUnit4.class)
public class FixturesTest {
  static final Instant NOW = Replay.NOW;

  @Rule public final transient TestPipeline p = TestPipeline.create();

  static Path testdata() {
    String configured = System.getProperty("sessionize.testdata");
    return configured != null ? Paths.get(configured) : Paths.get("..", "testdata");
  }

  static List<RawRecord> lines(String fixture) throws IOException {
    List<RawRecord> records = new ArrayList<>();
    long line = 0;
    for (String text :
        Files.readAllLines(testdata().resolve("events").resolve(fixture + ".jsonl"))) {
      line++;
      if (!text.isBlank()) {
        records.add(RawRecord.of(text.getBytes(StandardCharsets.UTF_8), fixture, 0, line));
      }
    }
    return records;
  }

  static List<String> expected(String file) throws IOException {
    List<String> lines = new ArrayList<>();
    for (String line : Files.readAllLines(testdata().resolve("expected").resolve(file))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        lines.add(line);
      }
    }
    return lines;
  }

  private PipelineResult replay(String fixture, List<String> expectedDeadLetters)
      throws IOException {
    SessionizeConfig config =
        SessionizeConfig.defaults().toBuilder().setClock(Clock.fixed(NOW)).build();
    PCollectionTuple out =
        p.apply(Replay.of(lines(fixture), 1, (r, w) -> {}))
            .apply(SessionizeClickstream.of(config, ParseEvents.create()));
    PCollection<String> finals =
        out.get(SessionizeClickstream.SESSIONS)
            .apply(Filter.by(Session::isFinal))
            .apply(MapElements.into(TypeDescriptors.strings()).via(Replay::describe));
    PAssert.that(finals).containsInAnyOrder(expected(fixture + ".sessions.txt"));
    PCollection<String> dead =
        out.get(SessionizeClickstream.DEAD_LETTERS)
            .apply(
                "DescribeDeadLetters",
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (DeadLetter d) ->
                            d.reason()
                                + " "
                                + d.userId()
                                + " "
                                + d.eventTime()
                                + " (line "
                                + d.sourceOffset()
                                + ")"));
    PAssert.that(dead).containsInAnyOrder(expectedDeadLetters);
    PipelineResult result = p.run();
    result.waitUntilFinish();
    return result;
  }

  @Test
  public void happyPath() throws IOException {
    replay("happy-path", List.of());
  }

  @Test
  public void outOfOrderGivesTheSameSessionsAsInOrder() throws IOException {
    replay("out-of-order", List.of());
  }

  @Test
  public void duplicatesCountOnce() throws IOException {
    PipelineResult result = replay("duplicates", List.of());
    for (String line : expected("duplicates.counts.txt")) {
      String[] kv = line.split("=");
      assertEquals(kv[0], Long.parseLong(kv[1]), SessionizeMetrics.read(result, kv[0]));
    }
  }

  @Test
  public void lateEventsWithinTheLatenessCountAndTheOthersAreDeadLetters() throws IOException {
    replay("late", expected("late.dead-letters.txt"));
  }
}
