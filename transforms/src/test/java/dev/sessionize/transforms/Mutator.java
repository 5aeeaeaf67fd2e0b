package dev.sessionize.transforms;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * The fuzz tests' seeded random mutator over valid events (ParseFuzzTest here, and the 100
 * 000-record run through the whole job on the FlinkRunner in runners/flink): the same seed gives
 * the same records, so any failure replays exactly.
 */
public final class Mutator {
  private Mutator() {}

  static final String[] VALUES = {
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
  static final String[] FIELDS = {
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

  /** A valid event; its event id is drawn from 50 000, so repeats (duplicates) occur. */
  public static String validEvent(Random r, int i) {
    String type = new String[] {"page_view", "click", "purchase", "other"}[r.nextInt(4)];
    StringBuilder b = new StringBuilder("{");
    b.append("\"user_id\":\"user-").append(r.nextInt(500)).append('"');
    b.append(",\"event_id\":\"e-").append(r.nextInt(50_000)).append('"');
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

  /**
   * One of twelve mutations of {@code json}: unchanged, flipped bytes, truncated, random bytes
   * inserted, a field removed, a value swapped for a hostile one, a duplicate key, nesting, an odd
   * amount, whitespace or a byte-order mark, another encoding, a giant padding field.
   */
  public static byte[] mutate(Random r, String json) {
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
}
