package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionImpl;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The accounting invariant on a generated stream of 100 000 events (fixed seed) with duplicates,
 * malformed and late records, delivered out of order: read = events in final sessions + duplicates
 * + dead letters. Every term is observed from the pipeline (its counters and its outputs) and each
 * is also checked against an independent computation from the generator's description of the
 * stream: which records are malformed, which arrive behind the watermark by more than gap + allowed
 * lateness, which repeat an accepted event id, and the sessions a plain sort-and-split of the
 * accepted events gives.
 */
@RunWith(JUnit4.class)
public class AccountingTest {
  // mvn verify runs 20 000 events; -Daccounting.events=100000 -Daccounting.users=1000
  // -Daccounting.batch=2000 is the long run (about ten minutes on the DirectRunner here).
  private static final int EVENTS = Integer.getInteger("accounting.events", 20_000);
  private static final int USERS = Integer.getInteger("accounting.users", 200);
  private static final int BATCH = Integer.getInteger("accounting.batch", 400);
  private static final Instant NOW = Replay.NOW;

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Counts what the test observes at the outputs, as counters in the test's own namespace. */
  static class CountFinalEvents extends DoFn<Session, Void> {
    private final Counter finalEvents = Metrics.counter("accounting", "final_session_events");

    @ProcessElement
    public void process(@Element Session s) {
      finalEvents.inc(s.eventCount());
    }
  }

  static class CountDeadLetters extends DoFn<DeadLetter, Void> {
    private final Counter dead = Metrics.counter("accounting", "dead_letters");

    @ProcessElement
    public void process(@Element DeadLetter d) {
      dead.inc();
    }
  }

  @Test
  public void readEqualsEventsInFinalSessionsPlusDuplicatesPlusDeadLetters() {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(20261124L)
            .start(Instant.parse("2026-11-20T00:00:00Z"))
            .events(EVENTS)
            .users(USERS)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .lateRate(0.005)
            .generate();

    // Independent expectation, record by record in delivery order.
    List<RawRecord> records = new ArrayList<>();
    for (int i = 0; i < stream.size(); i++) {
      // BATCH partitions, a record of each per replay step: within a step the runner may hand a
      // partition's records to the lateness gate in any order, so a step holds one of each.
      records.add(RawRecord.of(stream.get(i).payload, "generated", i % BATCH, i / BATCH));
    }
    Map<String, Long> expectedReasons = new TreeMap<>();
    Set<String> acceptedIds = new HashSet<>();
    SessionModel model =
        new SessionModel(Duration.standardMinutes(30), Duration.standardMinutes(5));
    long[] duplicates = {0};
    long lateness = Duration.standardMinutes(35).getMillis();
    Instant[] watermarkAt = new Instant[stream.size()];
    int[] index = {0};
    PCollectionTuple out;
    {
      org.apache.beam.sdk.testing.TestStream<RawRecord> replay =
          Replay.of(records, BATCH, (r, watermark) -> watermarkAt[index[0]++] = watermark);
      // The spec's lateness rule: the partition's stream time (the highest event time of the
      // earlier records that passed validation and the gate) minus the out-of-orderness, or the
      // watermark where it is ahead.
      long[] streamTime = new long[BATCH];
      java.util.Arrays.fill(streamTime, Long.MIN_VALUE);
      for (int i = 0; i < stream.size(); i++) {
        ClickstreamGenerator.Record r = stream.get(i);
        long partitionTime = streamTime[i % BATCH];
        long horizon =
            Math.max(
                partitionTime == Long.MIN_VALUE
                    ? Long.MIN_VALUE
                    : partitionTime - Replay.OUT_OF_ORDERNESS.getMillis(),
                watermarkAt[i].getMillis());
        if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
          expectedReasons.merge(r.expectedReason, 1L, Long::sum);
        } else if (r.eventTime.isAfter(Replay.NOW.plus(ParseEvents.DEFAULT_MAX_FUTURE_SKEW))) {
          expectedReasons.merge(Reason.FUTURE_TIMESTAMP.name(), 1L, Long::sum);
        } else if (r.eventTime.getMillis() + lateness <= horizon) {
          expectedReasons.merge(Reason.TOO_LATE.name(), 1L, Long::sum);
        } else {
          streamTime[i % BATCH] = Math.max(partitionTime, r.eventTime.getMillis());
          if (!acceptedIds.add(r.userId + "/" + r.eventId)) {
            duplicates[0]++;
          } else {
            model.accept(r.userId, r.eventTime, new Instant(horizon));
          }
        }
      }
      p.getOptions().as(DirectOptions.class).setEnforceImmutability(false);
      SessionizeConfig config =
          SessionizeConfig.defaults().toBuilder().setClock(Clock.fixed(NOW)).build();
      out =
          p.apply(replay)
              .apply(
                  SessionizeClickstream.of(config, ParseEvents.create())
                      .withSessionImpl(
                          SessionImpl.valueOf(
                              System.getProperty("accounting.sessionImpl", "state")
                                  .toUpperCase(java.util.Locale.ROOT))));
    }
    long accepted = acceptedIds.size();
    long expectedDead = expectedReasons.values().stream().mapToLong(Long::longValue).sum();
    assertEquals(stream.size(), accepted + duplicates[0] + expectedDead);
    // The stream really exercises every term.
    assertThat(expectedReasons.getOrDefault("TOO_LATE", 0L), greaterThan(EVENTS / 1000L));
    assertThat(duplicates[0], greaterThan(EVENTS / 100L));
    assertThat(accepted, greaterThanOrEqualTo(EVENTS * 99L / 100));

    PCollection<Session> finals =
        out.get(SessionizeClickstream.SESSIONS).apply("FinalOnly", Filter.by(Session::isFinal));
    finals.apply("CountFinalEvents", ParDo.of(new CountFinalEvents()));
    out.get(SessionizeClickstream.DEAD_LETTERS)
        .apply("CountDeadLetters", ParDo.of(new CountDeadLetters()));

    // The final sessions equal those of a plain model of the spec's rules, fed the accepted events
    // in delivery order with the watermark in force.
    List<String> expectedSessions = model.sessions();
    PAssert.that(
            finals.apply(
                "Describe",
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (Session s) ->
                            s.userId()
                                + " "
                                + s.startTime()
                                + " "
                                + s.endTime()
                                + " "
                                + s.eventCount())))
        .satisfies(actual -> SessionModel.assertSame(expectedSessions, actual));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    long read = SessionizeMetrics.read(result, "records_read");
    long dups = SessionizeMetrics.read(result, "duplicates");
    long inFinalSessions = SessionizeMetrics.read(result, "accounting", "final_session_events");
    long deadLetters = SessionizeMetrics.read(result, "accounting", "dead_letters");
    System.out.printf(
        "accounting: read %d = in final sessions %d + duplicates %d + dead letters %d %s%n",
        read, inFinalSessions, dups, deadLetters, expectedReasons);

    assertEquals("read", stream.size(), read);
    assertEquals(
        "read = in final sessions + duplicates + dead letters",
        read,
        inFinalSessions + dups + deadLetters);
    assertEquals("events in final sessions", accepted, inFinalSessions);
    assertEquals("duplicates", duplicates[0], dups);
    assertEquals("dead letters", expectedDead, deadLetters);
    for (Reason reason : Reason.values()) {
      assertEquals(
          reason.name(),
          (long) expectedReasons.getOrDefault(reason.name(), 0L),
          SessionizeMetrics.read(result, "dead_letter_" + reason.name()));
    }
    assertEquals(0L, SessionizeMetrics.read(result, "timestamp_behind_source"));
  }
}
