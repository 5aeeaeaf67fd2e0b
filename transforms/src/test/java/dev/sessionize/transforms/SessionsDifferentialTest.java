package dev.sessionize.transforms;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Session;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The proof that the sessions step in keyed state ({@link StatefulSessions}) emits what Beam's
 * session windows ({@link DedupEvents} then {@link Sessionize}, the reference) emit: the same
 * seeded random streams ({@link SessionScenarios}) go through both in one pipeline on the
 * DirectRunner, one element per {@code TestStream} step, and every emitted row must be equal in
 * every column but {@code emitted_at} ({@code version}, {@code is_final} and the superseded ids
 * included), as must the final table each set of rows leaves, the accepted events and the dead
 * letters.
 *
 * <p>{@code -Dsessionize.differential.seeds=N} runs more seeds (the default, 1 000 with the spec's
 * 24 h session cap and 250 with a 2 h cap, is what {@code mvn verify} runs).
 */
@RunWith(JUnit4.class)
public class SessionsDifferentialTest {
  /** The DirectRunner, with its checks off (the other tests run them on both steps). */
  private static PipelineOptions direct() {
    DirectOptions options = PipelineOptionsFactory.as(DirectOptions.class);
    options.setEnforceImmutability(false);
    options.setEnforceEncodability(false);
    return options;
  }

  private static final Map<String, Queue<String>> OUTPUT = new ConcurrentHashMap<>();

  private static final int SEEDS = Integer.getInteger("sessionize.differential.seeds", 1000);

  /** Seeds that share a stretch of event time and a watermark. */
  static final int PER_STREAM = 100;

  @Test
  public void sameRowsAsSessionWindowsWithTheSpecsSessionCap() throws Exception {
    // Chunks of 250 seeds, two pipelines at a time: a TestStream of one element per step keeps a
    // DirectRunner pipeline on about one core.
    int chunk = 250;
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int first = 0; first < SEEDS; first += chunk) {
        int from = first;
        runs.add(
            pool.submit(
                () ->
                    compare(
                        "cap24h",
                        from,
                        Math.min(chunk, SEEDS - from),
                        TestEvents.config(),
                        direct())));
      }
      for (Future<?> run : runs) {
        try {
          run.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Error) {
            throw (Error) e.getCause(); // a seed's AssertionError as the test's own failure
          }
          throw e;
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  public void sameRowsAsSessionWindowsWhenBotsAreCutEveryTwoHours() {
    SessionizeConfig config =
        TestEvents.config().toBuilder().setMaxSessionDuration(Duration.standardHours(2)).build();
    compare("cap2h", 100_000, Math.max(1, SEEDS / 4), config, direct());
  }

  @Test
  public void sameRowsAsSessionWindowsWithThreeHoursOfAllowedLateness() {
    // Much late data within the lateness: merges of emitted sessions, moved starts, late panes.
    SessionizeConfig config =
        TestEvents.config().toBuilder().setAllowedLateness(Duration.standardHours(3)).build();
    compare("lateness3h", 200_000, Math.max(1, SEEDS / 4), config, direct());
  }

  /**
   * Runs seeds {@code [first, first + count)} through both steps on the runner of {@code options}
   * and compares per seed.
   */
  public static void compare(
      String name, long first, int count, SessionizeConfig config, PipelineOptions options) {
    String run = name + "-" + first;
    Pipeline p = Pipeline.create(options);
    List<SessionScenarios.Step> scenario = SessionScenarios.steps(first, count, PER_STREAM, config);
    int steps = scenario.size();
    PCollection<ClickEvent> events = p.apply("Stream", SessionScenarios.stream(scenario));

    PCollectionTuple gated = events.apply("WindowsDedup", DedupEvents.of(config));
    PCollection<Session> windowRows =
        gated.get(DedupEvents.ACCEPTED).apply("WindowsSessionize", Sessionize.of(config));
    PCollectionTuple state = events.apply("State", StatefulSessions.of(config));

    collectRows(windowRows, run + "/windows/rows");
    collectRows(state.get(StatefulSessions.SESSIONS), run + "/state/rows");
    collectEvents(gated.get(DedupEvents.ACCEPTED), run + "/windows/accepted");
    collectEvents(state.get(StatefulSessions.ACCEPTED), run + "/state/accepted");
    collectDeadLetters(gated.get(DedupEvents.TOO_LATE), run + "/windows/tooLate");
    collectDeadLetters(state.get(StatefulSessions.TOO_LATE), run + "/state/tooLate");
    p.run().waitUntilFinish();

    int rows = 0;
    int versioned = 0;
    int accepted = 0;
    int tooLate = 0;
    int superseding = 0;
    for (long seed = first; seed < first + count; seed++) {
      String prefix = SessionScenarios.userPrefix(seed);
      for (String what : List.of("rows", "accepted", "tooLate")) {
        List<String> windows = forSeed(run + "/windows/" + what, prefix);
        List<String> inState = forSeed(run + "/state/" + what, prefix);
        if (!windows.equals(inState)) {
          fail(
              "seed "
                  + seed
                  + " ("
                  + name
                  + "): the "
                  + what
                  + " differ\n  windows: "
                  + String.join("\n           ", windows)
                  + "\n  state:   "
                  + String.join("\n           ", inState));
        }
        if (what.equals("rows")) {
          rows += windows.size();
          for (String line : windows) {
            superseding += line.contains("supersededSessionIds=[]") ? 0 : 1;
          }
        } else if (what.equals("accepted")) {
          accepted += windows.size();
        } else {
          tooLate += windows.size();
        }
      }
      Map<String, Session> windowsTable = table(rowsOf(run + "/windows/rowObjects", prefix));
      Map<String, Session> stateTable = table(rowsOf(run + "/state/rowObjects", prefix));
      assertEquals("seed " + seed + ": final table", windowsTable, stateTable);
      for (Session s : stateTable.values()) {
        assertTrue("seed " + seed + ": a row left open " + s, s.isFinal());
        versioned += s.version() > 1 ? 1 : 0;
      }
    }
    System.out.printf(
        "differential %s: %d seeds, %d steps: %d events accepted, %d too late; %d rows equal (%d"
            + " superseding others), %d final sessions with version > 1%n",
        run, count, steps, accepted, tooLate, rows, superseding, versioned);
    assertTrue("the streams produce rows", rows > count);
  }

  /** The table the rows leave: upserts in version order, superseded rows deleted. */
  static Map<String, Session> table(List<Session> rows) {
    List<Session> ordered = new ArrayList<>(rows);
    ordered.sort(
        Comparator.comparing(Session::userId)
            .thenComparingInt(Session::version)
            .thenComparing(Session::isFinal));
    Map<String, Session> table = new TreeMap<>();
    for (Session s : ordered) {
      for (String id : s.supersededSessionIds()) {
        table.remove(id);
      }
      table.put(s.sessionId(), s.toBuilder().setEmittedAt(new Instant(0)).build());
    }
    return table;
  }

  private static List<String> forSeed(String key, String prefix) {
    List<String> out = new ArrayList<>();
    for (String line : OUTPUT.getOrDefault(key, new ConcurrentLinkedQueue<>())) {
      if (line.startsWith(prefix)) {
        out.add(line);
      }
    }
    Collections.sort(out);
    return out;
  }

  private static final Map<String, Queue<Session>> ROWS = new ConcurrentHashMap<>();

  private static List<Session> rowsOf(String key, String prefix) {
    List<Session> out = new ArrayList<>();
    for (Session s : ROWS.getOrDefault(key, new ConcurrentLinkedQueue<>())) {
      if (s.userId().startsWith(prefix)) {
        out.add(s);
      }
    }
    return out;
  }

  private static void collectRows(PCollection<Session> rows, String key) {
    String objects = key.replace("/rows", "/rowObjects");
    rows.apply(
        "Collect" + key.replace("/", ""),
        ParDo.of(
            new DoFn<Session, Void>() {
              @ProcessElement
              public void process(@Element Session s) {
                Session row = s.toBuilder().setEmittedAt(new Instant(0)).build();
                OUTPUT
                    .computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>())
                    .add(s.userId() + " " + row);
                ROWS.computeIfAbsent(objects, k -> new ConcurrentLinkedQueue<>()).add(row);
              }
            }));
  }

  private static void collectEvents(PCollection<ClickEvent> events, String key) {
    events.apply(
        "Collect" + key.replace("/", ""),
        ParDo.of(
            new DoFn<ClickEvent, Void>() {
              @ProcessElement
              public void process(@Element ClickEvent e) {
                // Whether an event opened a session is told differently by the two (see
                // StatefulSessions); everything else must match.
                OUTPUT
                    .computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>())
                    .add(e.userId() + " " + e.toBuilder().setOpensSession(false).build());
              }
            }));
  }

  private static void collectDeadLetters(PCollection<DeadLetter> letters, String key) {
    letters.apply(
        "Collect" + key.replace("/", ""),
        ParDo.of(
            new DoFn<DeadLetter, Void>() {
              @ProcessElement
              public void process(@Element DeadLetter d) {
                OUTPUT
                    .computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>())
                    .add(d.userId() + " " + d.toBuilder().setRejectedAt(new Instant(0)).build());
              }
            }));
  }
}
