package dev.sessionize.bench.nativejob;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The native yardstick computes the sessions it should, so the comparison with the Beam job is
 * between two jobs doing the same work: on a generated stream in 4 files (out of order by up to 4
 * minutes, duplicates, malformed records), every invalid record is dropped, nothing is too late,
 * and the sessions are exactly those of a model: per user, events no more than the gap apart.
 */
public class NativeSessionJobTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  /** A session of the model or of the job: user, start, end, events. */
  private record Key(String user, long start, long end, int events) {}

  @Test
  public void sessionsMatchAModelAndNothingIsLate() throws Exception {
    List<ClickstreamGenerator.Record> records =
        new ClickstreamGenerator()
            .seed(42)
            .events(2_000)
            .users(100)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    Path dir = folder.getRoot().toPath();
    List<String> files = new ArrayList<>();
    OutputStream[] out = new OutputStream[4];
    for (int s = 0; s < out.length; s++) {
      Path file = dir.resolve("part-" + s + ".jsonl");
      files.add(file.toString());
      out[s] = Files.newOutputStream(file);
    }
    for (int i = 0; i < records.size(); i++) {
      out[i % 4].write(records.get(i).payload);
      out[i % 4].write('\n');
    }
    for (OutputStream o : out) {
      o.close();
    }

    // The model: every event and duplicate (the job does not deduplicate), per user in time
    // order; a new session when an event is more than the gap after the latest one so far
    // (Flink's session windows [t, t + gap) merge when they touch).
    Map<String, List<Long>> times = new TreeMap<>();
    long malformed = 0;
    Map<String, Integer> reasons = new TreeMap<>();
    for (ClickstreamGenerator.Record r : records) {
      if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
        malformed++;
        reasons.merge(r.expectedReason, 1, Integer::sum);
      } else {
        times.computeIfAbsent(r.userId, u -> new ArrayList<>()).add(r.eventTime.getMillis());
      }
    }
    // The input has records that would drag the watermark ahead if they were accepted.
    assertTrue(reasons.toString(), reasons.containsKey("FUTURE_TIMESTAMP"));
    assertTrue(reasons.toString(), reasons.containsKey("OVERSIZE"));
    long gap = NativeSessionJob.GAP.toMillis();
    Map<Key, Integer> expected = new HashMap<>();
    for (Map.Entry<String, List<Long>> user : times.entrySet()) {
      List<Long> ts = user.getValue();
      ts.sort(null);
      long start = ts.get(0);
      long end = start;
      int n = 0;
      for (long t : ts) {
        if (t > end + gap) {
          expected.merge(new Key(user.getKey(), start, end, n), 1, Integer::sum);
          start = t;
          n = 0;
        }
        end = t;
        n++;
      }
      expected.merge(new Key(user.getKey(), start, end, n), 1, Integer::sum);
    }

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(1, new Configuration());
    env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
    DataStream<SessionRow> sessions = NativeSessionJob.build(env, files, true, true);
    Map<Key, Integer> actual = new HashMap<>();
    CloseableIterator<SessionRow> rows = sessions.collectAsync();
    JobClient job = env.executeAsync("native test");
    try (rows) {
      while (rows.hasNext()) {
        SessionRow s = rows.next();
        actual.merge(new Key(s.userId, s.start, s.end, s.events), 1, Integer::sum);
      }
    }
    JobExecutionResult result = job.getJobExecutionResult().get();
    Map<String, Object> counts = result.getAllAccumulatorResults();

    assertEquals((long) records.size(), counts.get("records"));
    assertEquals(malformed, counts.get("invalid"));
    assertEquals(0L, counts.getOrDefault("tooLate", 0L));
    // One firing per session (none early, none late), each with the model's bounds and count.
    assertEquals(expected.size(), actual.size());
    assertEquals(expected, actual);
    assertEquals((long) expected.size(), counts.get("sessions"));
  }
}
