package dev.sessionize.bench;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.RawRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.util.CoderUtils;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The benchmark's event-time file source: order, positions, timestamps, watermark, restore. */
public class EventTimeFileSourceTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  private static final Instant T0 = Instant.parse("2026-11-24T10:00:00Z");
  private static final Duration OUT_OF_ORDER = Duration.standardMinutes(5);

  private static String event(String user, Instant t) {
    return "{\"user_id\":\"" + user + "\",\"event_type\":\"click\",\"timestamp\":\"" + t + "\"}";
  }

  private static Instant min(int minutes) {
    return T0.plus(Duration.standardMinutes(minutes));
  }

  /** One record as the test expects it: file, line, payload, timestamp. */
  private record Expected(String file, int partition, long line, String payload, Instant time) {}

  private Path write(String name, String content) throws Exception {
    Path p = folder.getRoot().toPath().resolve(name);
    Files.writeString(p, content, StandardCharsets.UTF_8);
    return p;
  }

  @Test
  public void readsFilesInTurnWithEventTimeAndAWatermarkPerFile() throws Exception {
    // File a: a blank line, CRLF, an invalid record, no newline at the end.
    write(
        "a.jsonl",
        event("u1", min(0))
            + "\n\n"
            + event("u1", min(10))
            + "\r\n"
            + "not json\n"
            + event("u2", min(8)));
    write("b.jsonl", event("u3", min(2)) + "\n" + event("u3", min(30)) + "\n");
    EventTimeFileSource source =
        EventTimeFileSource.of(folder.getRoot() + "/*.jsonl", OUT_OF_ORDER);
    assertEquals(2, source.parts().size());
    assertEquals(2, source.split(7, PipelineOptionsFactory.create()).size());

    InputProgress.expect(2);
    EventTimeFileSource.Reader reader = source.createReader(PipelineOptionsFactory.create(), null);
    assertEquals(BoundedWindow.TIMESTAMP_MIN_VALUE, reader.getWatermark());

    List<Object[]> seen = new ArrayList<>(); // record, timestamp, watermark after it
    for (boolean more = reader.start(); more; more = reader.advance()) {
      seen.add(
          new Object[] {reader.getCurrent(), reader.getCurrentTimestamp(), reader.getWatermark()});
    }
    assertTrue(InputProgress.ended());

    // In turn: a1, b1, a3 (line 2 is blank), b2, a4 (invalid), a5; then both files are done.
    List<Expected> expected =
        List.of(
            new Expected("a.jsonl", 0, 1, event("u1", min(0)), min(0)),
            new Expected("b.jsonl", 1, 1, event("u3", min(2)), min(2)),
            new Expected("a.jsonl", 0, 3, event("u1", min(10)), min(10)),
            new Expected("b.jsonl", 1, 2, event("u3", min(30)), min(30)),
            // Invalid: stamped with its file's watermark (10 - 5 min), never moves it.
            new Expected("a.jsonl", 0, 4, "not json", min(5)),
            new Expected("a.jsonl", 0, 5, event("u2", min(8)), min(8)));
    // Watermark after each record: the smaller of the two files' (max event time - 5 min); b is
    // done when the reader finds its end (before a's last line), a when its last line (without a
    // newline) is read: then the watermark is at the end of time.
    List<Instant> watermarks =
        List.of(
            BoundedWindow.TIMESTAMP_MIN_VALUE, // b has read nothing yet
            min(-5),
            min(-3),
            min(5),
            min(5),
            BoundedWindow.TIMESTAMP_MAX_VALUE);
    assertEquals(expected.size(), seen.size());
    for (int i = 0; i < expected.size(); i++) {
      Expected e = expected.get(i);
      RawRecord r = (RawRecord) seen.get(i)[0];
      assertEquals("record " + i, e.payload(), new String(r.payload(), StandardCharsets.UTF_8));
      assertEquals("record " + i, e.file(), r.sourceTopic());
      assertEquals("record " + i, e.partition(), r.sourcePartition());
      assertEquals("record " + i, e.line(), r.sourceOffset());
      assertEquals("record " + i, e.time(), seen.get(i)[1]);
      assertEquals("watermark after record " + i, watermarks.get(i), seen.get(i)[2]);
    }
    // Read to the end: the watermark is at the end of time, so the run finishes.
    assertFalse(reader.advance());
    assertEquals(BoundedWindow.TIMESTAMP_MAX_VALUE, reader.getWatermark());
    assertEquals(0, reader.getSplitBacklogBytes());
  }

  @Test
  public void aReaderRestoredFromACheckpointGoesOnWithTheSameRecordsAndWatermark()
      throws Exception {
    StringBuilder a = new StringBuilder();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      a.append(event("a" + i % 3, min(i))).append('\n');
      b.append(event("b" + i % 3, min(i + 1))).append(i % 7 == 0 ? "\r\n\n" : "\n");
    }
    write("part-0.jsonl", a.toString());
    write("part-1.jsonl", b.toString());
    EventTimeFileSource source =
        EventTimeFileSource.of(folder.getRoot() + "/part-*.jsonl", OUT_OF_ORDER);

    List<String> whole = readAll(source.createReader(PipelineOptionsFactory.create(), null));
    assertEquals(100, whole.size());

    EventTimeFileSource.Reader first = source.createReader(PipelineOptionsFactory.create(), null);
    List<String> resumed = new ArrayList<>();
    assertTrue(first.start());
    resumed.add(describe(first));
    for (int i = 1; i < 37; i++) {
      assertTrue(first.advance());
      resumed.add(describe(first));
    }
    // The position after the 37th record, through the mark's coder as a runner stores it.
    EventTimeFileSource.Mark mark =
        CoderUtils.clone(source.getCheckpointMarkCoder(), first.getCheckpointMark());
    Instant watermark = first.getWatermark();
    first.close();

    EventTimeFileSource.Reader second = source.createReader(PipelineOptionsFactory.create(), mark);
    assertEquals(watermark, second.getWatermark());
    resumed.addAll(readAll(second));
    for (int i = 0; i < whole.size(); i++) {
      assertEquals("record " + i, whole.get(i), resumed.get(i));
    }
    assertEquals(whole.size(), resumed.size());
  }

  private static List<String> readAll(EventTimeFileSource.Reader reader) throws Exception {
    List<String> out = new ArrayList<>();
    for (boolean more = reader.start(); more; more = reader.advance()) {
      out.add(describe(reader));
    }
    reader.close();
    return out;
  }

  private static String describe(EventTimeFileSource.Reader r) {
    RawRecord rec = r.getCurrent();
    return rec.sourceTopic()
        + ":"
        + rec.sourceOffset()
        + ":"
        + new String(rec.payload(), StandardCharsets.UTF_8)
        + "@"
        + r.getCurrentTimestamp();
  }

  @Test
  public void markCoderRoundTrips() throws Exception {
    EventTimeFileSource.Mark mark =
        new EventTimeFileSource.Mark(
            new long[] {0, 123456789L},
            new long[] {0, 1000},
            new long[] {BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis(), T0.getMillis()},
            new boolean[] {false, true},
            1);
    EventTimeFileSource.Mark back = CoderUtils.clone(EventTimeFileSource.MarkCoder.INSTANCE, mark);
    assertArrayEquals(mark.position, back.position);
    assertEquals(mark, back);
  }
}
