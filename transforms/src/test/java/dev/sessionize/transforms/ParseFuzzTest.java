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

  private static final String[] VALUES = {
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e400",
    "-0.0",
    "1.005",
    "12345678901234567890123",
    "\"\"",
    "\" \"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"2026-11-24T10:00:00Z\"",
    "\"NaN\"",
    "[]",
    "{}",
    "[[[[[[]]]]]]",
    "{\"a\":{\"b\":{}}}",
    "\"" + "x".repeat(300) + "\"",
    "1795514400000",
    "1.5e12",
    "\"9999-12-31T23:59:59Z\"",
    "\"0000-01-01T00:00:00Z\"",
    "\"ü€😀\"",
    "\"u\\u0007x\"",
    "\"u\\u007fx\"",
    "\"u\\ud800x\"",
    "\"" + "u".repeat(10_000) + "\"",
    "1e2",
    "0.123456789012345678901234567890",
    "\"1.000000000000000000000000000001\"",
    "NaN",
    "-Infinity",
    "253402300799999",
    "9223372036854775807",
    "\"+10000-01-01T00:00:00Z\"",
    "1" + "0".repeat(120),
    "-9223372036854775809",
  };
  private static final String[] FIELDS = {
    "user_id",
    "event_type",
    "timestamp",
    "event_id",
    "session_id",
    "page_url",
    "referrer",
    "device",
    "geo",
    "metadata",
  };

  static String validEvent(Random r, int i) {
    String type = new String[] {"page_view", "click", "purchase", "other"}[r.nextInt(4)];
    StringBuilder b = new StringBuilder("{");
    b.append("\"user_id\":\"user-").append(r.nextInt(500)).append('"');
    b.append(",\"event_id\":\"e-").append(r.nextInt(CASES / 2)).append('"');
    b.append(",\"event_type\":\"").append(type).append('"');
    if (r.nextBoolean()) {
      b.append(",\"timestamp\":").append(1795514400000L + r.nextInt(86_400_000));
    } else {
      b.append(",\"timestamp\":\"2026-11-24T1")
          .append(r.nextInt(10))
          .append(":0")
          .append(r.nextInt(10))
          .append(":00Z\"");
    }
    b.append(",\"page_url\":\"/p/").append(r.nextInt(50)).append('"');
    b.append(",\"device\":{\"type\":\"mobile\"},\"geo\":{\"country\":\"DE\"}");
    if (type.equals("purchase")) {
      b.append(",\"metadata\":{\"amount\":\"")
          .append(r.nextInt(10000))
          .append('.')
          .append(10 + r.nextInt(90))
          .append("\",\"currency\":\"EUR\"}");
    }
    return b.append('}').toString();
  }

  static byte[] mutate(Random r, String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    switch (r.nextInt(12)) {
      case 0: // unchanged
        return bytes;
      case 1: // flip bytes
        for (int k = 0, n = 1 + r.nextInt(3); k < n; k++) {
          bytes[r.nextInt(bytes.length)] = (byte) r.nextInt(256);
        }
        return bytes;
      case 2: // truncate
        return Arrays.copyOf(bytes, r.nextInt(bytes.length));
      case 3: // insert random bytes
        {
          int at = r.nextInt(bytes.length);
          byte[] noise = new byte[1 + r.nextInt(8)];
          r.nextBytes(noise);
          byte[] out = new byte[bytes.length + noise.length];
          System.arraycopy(bytes, 0, out, 0, at);
          System.arraycopy(noise, 0, out, at, noise.length);
          System.arraycopy(bytes, at, out, at + noise.length, bytes.length - at);
          return out;
        }
      case 4: // remove a field
        return json.replaceFirst(
                "\"" + FIELDS[r.nextInt(FIELDS.length)] + "\":(\"[^\"]*\"|\\{[^}]*\\}|[^,}]*),?",
                "")
            .getBytes(StandardCharsets.UTF_8);
      case 5: // swap a value for an odd one
        return json.replaceFirst(
                "(\"" + FIELDS[r.nextInt(FIELDS.length)] + "\":)(\"[^\"]*\"|\\{[^}]*\\}|[^,}]*)",
                "$1" + java.util.regex.Matcher.quoteReplacement(VALUES[r.nextInt(VALUES.length)]))
            .getBytes(StandardCharsets.UTF_8);
      case 6: // duplicate a key
        return json.replaceFirst("\\}$", ",\"user_id\":\"other\"}")
            .getBytes(StandardCharsets.UTF_8);
      case 7: // wrap in nesting
        {
          int depth = 1 + r.nextInt(200);
          return ("[".repeat(depth) + json + "]".repeat(depth)).getBytes(StandardCharsets.UTF_8);
        }
      case 8: // odd amount
        return json.replaceFirst(
                "\\}$",
                ",\"metadata\":{\"amount\":"
                    + java.util.regex.Matcher.quoteReplacement(VALUES[r.nextInt(VALUES.length)])
                    + "}}")
            .getBytes(StandardCharsets.UTF_8);
      case 9: // whitespace and a BOM
        return (r.nextBoolean() ? "\uFEFF" : " \t\r\n")
            .concat(json)
            .getBytes(StandardCharsets.UTF_8);
      case 10: // wrong encoding
        return json.getBytes(
            r.nextBoolean() ? StandardCharsets.UTF_16 : StandardCharsets.ISO_8859_1);
      default: // huge
        return json.replaceFirst(
                "\\}$", ",\"pad\":\"" + "y".repeat(60_000 + r.nextInt(10_000)) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    }
  }

  @Test
  public void parserNeverThrowsAndEveryRecordGetsAnEventOrAReason() {
    Random r = new Random(20261126L);
    Instant now = Instant.parse("2026-11-26T10:00:00Z");
    Map<Reason, Integer> reasons = new EnumMap<>(Reason.class);
    int valid = 0;
    for (int i = 0; i < CASES; i++) {
      byte[] record = mutate(r, validEvent(r, i));
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
      records.add(RawRecord.of(mutate(r, validEvent(r, i)), "fuzz", 0, i));
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
