package dev.sessionize.bench;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.pipeline.JavaCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The CI version of {@code ./sessionize soak} (issue 19): the same harness ({@link Soak}: the
 * production preset from the bundled jar on the standalone cluster, a real broker and redis-server,
 * a steady live stream sampled every 10 s) for two minutes at 1 000 events/s, no warm-up. The long
 * run says whether the figures stay flat; this one says that the harness and the job it watches
 * work: every sample has each figure, the job reads the stream without restarting, checkpoints
 * complete and the dashboard is written.
 */
@RunWith(JUnit4.class)
public class SoakIT {
  private static final int RATE = 1_000;
  private static final int MINUTES = 2;
  private static final int SAMPLE_SECONDS = 10;

  @Test
  public void theProductionPresetOnTheClusterIsSampledForTwoMinutes() throws Exception {
    Path root = Path.of(System.getProperty("sessionize.root", "..")).toAbsolutePath().normalize();
    Path out = root.resolve("benchmarks/target/soak-it");
    Files.createDirectories(out);
    Files.deleteIfExists(out.resolve("soak.csv"));
    Files.deleteIfExists(out.resolve("soak.png"));
    Path log = out.resolve("soak.log");

    // Failsafe's own class path is a manifest-only jar; this property has the module's.
    List<String> command =
        JavaCommand.of(
            System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
            List.of(
                "-Xmx1g",
                "-Dsessionize.jvm.opens=" + System.getProperty("sessionize.jvm.opens", "")),
            Soak.class.getName(),
            List.of(
                "--root=" + root,
                "--minutes=" + MINUTES,
                "--warmupMinutes=0",
                "--rate=" + RATE,
                "--out=" + out));
    Process soak =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean ended = soak.waitFor(MINUTES + 8, TimeUnit.MINUTES);
    if (!ended) {
      soak.destroyForcibly();
    }
    assertTrue("the soak run ended (its output: " + log + ")", ended);
    assertEquals("the soak run's exit status (its output: " + log + ")", 0, soak.exitValue());

    List<String> lines = Files.readAllLines(out.resolve("soak.csv"));
    String[] header = lines.get(0).split(",");
    assertArrayEquals(
        new String[] {
          "seconds",
          "phase",
          "events_sent",
          "checkpoints_completed",
          "checkpoint_state_mb",
          "checkpoint_duration_s",
          "tm_heap_mb",
          "tm_rss_mb",
          "records_read",
          "source_backlog_records",
          "uncommitted_records",
          "dashboard_freshness_s"
        },
        header);
    List<Map<String, String>> samples = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] values = line.split(",");
      assertEquals(line, header.length, values.length);
      Map<String, String> sample = new HashMap<>();
      for (int i = 0; i < header.length; i++) {
        sample.put(header[i], values[i]);
      }
      samples.add(sample);
    }
    assertEquals("one sample every 10 s", MINUTES * 60 / SAMPLE_SECONDS, samples.size());

    long previousRead = -1;
    for (Map<String, String> s : samples) {
      String at = "at " + s.get("seconds") + " s: " + s;
      assertEquals(at, "measured", s.get("phase"));
      assertTrue(at, number(s, "tm_heap_mb") > 0);
      assertTrue(at, number(s, "tm_rss_mb") > 0);
      assertTrue(at, number(s, "source_backlog_records") >= 0);
      assertTrue(at, number(s, "uncommitted_records") >= 0);
      // The job's own counter since its last start: it never goes down unless the job restarted.
      long read = (long) number(s, "records_read");
      assertTrue(at + ": records_read went down (a restart?)", read >= previousRead);
      previousRead = read;
    }
    Map<String, String> last = samples.get(samples.size() - 1);
    Map<String, String> halfMinuteBefore = samples.get(samples.size() - 1 - 30 / SAMPLE_SECONDS);
    assertTrue(
        "the producer kept its rate: " + last,
        number(last, "events_sent") >= 0.9 * RATE * MINUTES * 60);
    assertTrue(
        "the job has read what was sent 30 s before the end: " + last + " / " + halfMinuteBefore,
        number(last, "records_read") >= number(halfMinuteBefore, "events_sent"));
    assertTrue("a checkpoint completed: " + last, number(last, "checkpoints_completed") >= 1);
    assertTrue("the checkpoint has state: " + last, number(last, "checkpoint_state_mb") > 0);
    double freshness = number(last, "dashboard_freshness_s");
    assertTrue(
        "the dashboard is written (age of its newest minute, s): " + last,
        freshness >= 0 && freshness < 60);

    byte[] png = Files.readAllBytes(out.resolve("soak.png"));
    assertArrayEquals(
        "soak.png is a PNG", new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
  }

  private static double number(Map<String, String> sample, String column) {
    return Double.parseDouble(sample.get(column));
  }
}
