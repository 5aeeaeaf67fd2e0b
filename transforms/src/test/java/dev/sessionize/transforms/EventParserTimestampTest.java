package dev.sessionize.transforms;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Random;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The parser's fast path for ISO-8601 timestamps gives what {@link
 * DateTimeFormatter#ISO_OFFSET_DATE_TIME} gives wherever it answers, and leaves the rest to it:
 * random timestamps of the common form with digits, separators, offsets and calendars broken in
 * every position.
 */
@RunWith(JUnit4.class)
public class EventParserTimestampTest {
  /** The formatter's answer in epoch milliseconds, or -1 where it refuses or it is before 1970. */
  private static long slow(String text) {
    try {
      long millis =
          OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME)
              .toInstant()
              .toEpochMilli();
      return millis < 0 ? -1 : millis;
    } catch (DateTimeParseException | ArithmeticException e) {
      return -1;
    }
  }

  @Test
  public void theFastPathAgreesWithTheFormatterOrLeavesItTheCase() {
    Random r = new Random(20261203L);
    int fast = 0;
    for (int i = 0; i < 300_000; i++) {
      String text = mutate(r, valid(r));
      long f = EventParser.fastIsoMillis(text);
      if (f >= 0) {
        fast++;
        assertEquals(text, slow(text), f);
      }
    }
    // Most valid-looking strings take the fast path: the path is used, not just safe.
    assertTrue("fast path taken " + fast, fast > 100_000);
  }

  @Test
  public void knownCases() {
    assertEquals(1795514400123L, EventParser.fastIsoMillis("2026-11-24T10:00:00.123Z"));
    assertEquals(1795514400123L, EventParser.fastIsoMillis("2026-11-24T10:00:00.123456789Z"));
    assertEquals(1795514400000L, EventParser.fastIsoMillis("2026-11-24T11:00:00+01:00"));
    assertEquals(1795514400000L, EventParser.fastIsoMillis("2026-11-24T05:30:00-04:30"));
    assertEquals(-1, EventParser.fastIsoMillis("2026-02-29T10:00:00Z")); // not a leap year
    assertEquals(slow("2028-02-29T10:00:00Z"), EventParser.fastIsoMillis("2028-02-29T10:00:00Z"));
    assertEquals(-1, EventParser.fastIsoMillis("2026-11-24T24:00:00Z"));
    assertEquals(-1, EventParser.fastIsoMillis("2026-11-24T10:00:60Z"));
    assertEquals(-1, EventParser.fastIsoMillis("2026-11-24 10:00:00Z"));
    assertEquals(-1, EventParser.fastIsoMillis("1970-01-01T00:30:00+01:00")); // before 1970
    assertEquals(-1, EventParser.fastIsoMillis("2026-11-24T10:00Z")); // formatter's business
    assertEquals(-1, EventParser.fastIsoMillis("2026-11-24T10:00:00.Z"));
  }

  private static String valid(Random r) {
    int year = 1965 + r.nextInt(80);
    int month = 1 + r.nextInt(12);
    int day = 1 + r.nextInt(31);
    StringBuilder b =
        new StringBuilder(
            String.format(
                "%04d-%02d-%02dT%02d:%02d:%02d",
                year, month, day, r.nextInt(25), r.nextInt(61), r.nextInt(61)));
    int fraction = r.nextInt(12);
    if (fraction > 0 && fraction <= 10) {
      b.append('.');
      for (int k = 0; k < fraction; k++) {
        b.append((char) ('0' + r.nextInt(10)));
      }
    }
    switch (r.nextInt(4)) {
      case 0:
        b.append('Z');
        break;
      case 1:
        b.append(String.format("+%02d:%02d", r.nextInt(20), r.nextInt(61)));
        break;
      case 2:
        b.append(String.format("-%02d:%02d", r.nextInt(20), r.nextInt(61)));
        break;
      default:
        b.append(r.nextBoolean() ? "z" : "+01");
    }
    return b.toString();
  }

  private static String mutate(Random r, String s) {
    if (r.nextInt(3) != 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s);
    int at = r.nextInt(b.length());
    switch (r.nextInt(3)) {
      case 0:
        b.setCharAt(at, "0123456789-:T.Z+ tx".charAt(r.nextInt(19)));
        break;
      case 1:
        b.deleteCharAt(at);
        break;
      default:
        b.insert(at, "0123456789-:T.Z+".charAt(r.nextInt(16)));
    }
    return b.toString();
  }
}
