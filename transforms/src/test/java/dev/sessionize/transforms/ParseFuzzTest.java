package dev.sessionize.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A seeded random mutator over valid events (byte flips, truncation, insertion, field removal, type
 * swaps, duplicated keys, deep nesting, odd numbers and strings): the parser never throws, every
 * record is either an event that keeps the input contract or a dead letter with a reason and a
 * detail, and through the pipeline read = accepted + duplicates + dead letters.
 */
@RunWith(JUnit4.class)
public class ParseFuzzTest {
  private static final int CASES = 100_000;
  private static final EventParser PARSER =
      new EventParser(ParseEvents.DEFAULT_MAX_RECORD_BYTES, ParseEvents.DEFAULT_MAX_FUTURE_SKEW);

  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void parserNeverThrowsAndEveryRecordGetsAnEventOrAReason() {
    Random r = new Random(20261126L);
    Instant now = Instant.parse("2026-11-26T10:00:00Z");
    Map<Reason, Integer> reasons = new EnumMap<>(Reason.class);
    int valid = 0;
    for (int i = 0; i < CASES; i++) {
      byte[] record = Mutator.mutate(r, Mutator.validEvent(r, i));
      EventParser.Outcome outcome = PARSER.parse(record, now);
      // An event or a dead letter with a reason, never both, never neither.
      assertTrue("event xor reason", (outcome.event == null) == (outcome.reason != null));
      if (outcome.isValid()) {
        valid++;
        ClickEvent e = outcome.event;
        assertFalse(e.userId().isEmpty());
        assertTrue(
            e.userId().codePointCount(0, e.userId().length()) <= EventParser.MAX_USER_ID_CHARS);
        assertTrue(record.length <= ParseEvents.DEFAULT_MAX_RECORD_BYTES);
        assertFalse(e.timestamp().isAfter(now.plus(ParseEvents.DEFAULT_MAX_FUTURE_SKEW)));
        assertTrue(e.timestamp().getMillis() >= 0);
        if (e.amount() != null) {
          assertEquals(2, e.amount().scale());
          assertTrue(e.amount().signum() >= 0);
        }
        assertTrue(e.currency().matches("[A-Z]{3}"));
      } else {
        assertNotNull(outcome.reason);
        assertFalse(outcome.detail.isBlank());
        assertFalse("one line", outcome.detail.contains("\n"));
        reasons.merge(outcome.reason, 1, Integer::sum);
      }
    }
    System.out.println("fuzz: " + CASES + " records, " + valid + " valid, rejected " + reasons);
    assertThat(valid, greaterThan(CASES / 10));
    for (Reason reason :
        new Reason[] {
          Reason.OVERSIZE,
          Reason.MALFORMED_JSON,
          Reason.MISSING_FIELD,
          Reason.INVALID_FIELD,
          Reason.FUTURE_TIMESTAMP
        }) {
      assertThat(reason.name(), reasons.getOrDefault(reason, 0), greaterThan(10));
    }
  }

  @Test
  public void hostileGiants() {
    Instant now = Instant.parse("2026-11-26T10:00:00Z");
    // 100 000-deep nesting, under the size limit so the parser itself must refuse it.
    EventParser big = new EventParser(16 << 20, ParseEvents.DEFAULT_MAX_FUTURE_SKEW);
    String deep = "{\"user_id\":\"u\",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
    assertEquals(
        Reason.MALFORMED_JSON, big.parse(deep.getBytes(StandardCharsets.UTF_8), now).reason);
    // A 10 MB record.
    byte[] tenMegabytes = new byte[10 << 20];
    Arrays.fill(tenMegabytes, (byte) 'a');
    assertEquals(Reason.OVERSIZE, PARSER.parse(tenMegabytes, now).reason);
    // A user id of 10 000 characters.
    String longUser =
        "{\"user_id\":\"" + "u".repeat(10_000) + "\",\"event_type\":\"click\",\"timestamp\":0}";
    EventParser.Outcome outcome = PARSER.parse(longUser.getBytes(StandardCharsets.UTF_8), now);
    assertEquals(Reason.INVALID_FIELD, outcome.reason);
    assertTrue(outcome.detail, outcome.detail.length() < 200);
  }

  @Test
  public void pipelineAccountsForEveryMutatedRecord() {
    Random r = new Random(7L);
    List<RawRecord> records = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      // Each record alone in its partition: the lateness gate judges a record by the earlier
      // ones of its partition, and this test is about parsing whatever arrives.
      records.add(RawRecord.of(Mutator.mutate(r, Mutator.validEvent(r, i)), "fuzz", i, 0));
    }
    p.apply(Create.of(records).withCoder(RawRecord.RawRecordCoder.of()))
        .apply(
            SessionizeClickstream.of(
                TestEvents.config().toBuilder()
                    .setClock(Clock.fixed(Instant.parse("2026-11-26T10:00:00Z")))
                    .build(),
                ParseEvents.create()));
    PipelineResult result = p.run();
    result.waitUntilFinish();
    long read = SessionizeMetrics.read(result, "records_read");
    long accepted = SessionizeMetrics.read(result, "accepted");
    long duplicates = SessionizeMetrics.read(result, "duplicates");
    long dead = 0;
    for (Reason reason : Reason.values()) {
      dead += SessionizeMetrics.read(result, "dead_letter_" + reason.name());
    }
    assertEquals(records.size(), read);
    assertEquals(read, accepted + duplicates + dead);
    assertThat(accepted, greaterThan(500L));
  }
}
