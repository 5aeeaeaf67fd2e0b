package dev.sessionize.bench.nativejob;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;

/**
 * One clickstream event as the native job sees it (a Flink POJO: public fields, no-argument
 * constructor, so Flink serializes it without Kryo). A line that is not a usable event becomes a
 * click with {@code valid == false}: counted, then dropped.
 *
 * <p>Not the Beam job's full validation, only what keeps a bad record from moving the watermark
 * (which would make every later event of its file too late): malformed JSON, a missing or mistyped
 * user, type or time, a time more than 5 minutes ahead of the clock, a record over 64 KiB and an
 * amount that is not a non-negative number with at most 2 decimals are all invalid.
 */
public class Click {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int MAX_RECORD_BYTES = 64 * 1024;
  private static final long MAX_FUTURE_SKEW_MILLIS = 5 * 60 * 1000;

  public boolean valid;
  public String userId;
  public String eventType;

  /** Event time, epoch milliseconds; {@link Long#MIN_VALUE} for an invalid line. */
  public long timestamp = Long.MIN_VALUE;

  public String page;
  public String device;
  public String country;

  /** Purchase amount in cents when the currency is USD, else 0. */
  public long usdCents;

  /** Set on the marker a file's reader emits after its last line (never a real event). */
  public String endOfFile;

  public Click() {}

  /** The event in {@code line}, or an invalid click; never throws. */
  public static Click parse(String line) {
    Click c = new Click();
    if (line.length() > MAX_RECORD_BYTES / 3
        && line.getBytes(StandardCharsets.UTF_8).length > MAX_RECORD_BYTES) {
      return c;
    }
    try {
      JsonNode n = MAPPER.readTree(line);
      if (n == null || !n.isObject()) {
        return c;
      }
      JsonNode user = n.get("user_id");
      JsonNode type = n.get("event_type");
      JsonNode time = n.get("timestamp");
      if (user == null || !user.isTextual() || user.textValue().isEmpty()) {
        return c;
      }
      if (type == null || !type.isTextual() || time == null) {
        return c;
      }
      if (time.isIntegralNumber()) {
        c.timestamp = time.longValue();
      } else if (time.isTextual()) {
        c.timestamp =
            OffsetDateTime.parse(time.textValue(), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                .toInstant()
                .toEpochMilli();
      } else {
        return c;
      }
      if (c.timestamp > System.currentTimeMillis() + MAX_FUTURE_SKEW_MILLIS) {
        return invalid();
      }
      c.userId = user.textValue();
      c.eventType = type.textValue();
      c.page = n.path("page_url").textValue();
      c.device = n.path("device").path("type").textValue();
      c.country = n.path("geo").path("country").textValue();
      JsonNode amount = n.path("metadata").path("amount");
      if ("purchase".equals(c.eventType) && !amount.isMissingNode() && !amount.isNull()) {
        BigDecimal value =
            amount.isNumber() ? amount.decimalValue() : new BigDecimal(amount.asText());
        if (value.signum() < 0 || value.stripTrailingZeros().scale() > 2) {
          return invalid();
        }
        String currency = n.path("metadata").path("currency").asText("USD");
        if ("USD".equals(currency)) {
          c.usdCents = value.movePointRight(2).longValue();
        }
      }
      c.valid = true;
      return c;
    } catch (Exception e) { // malformed JSON, a bad timestamp or amount: not an event
      return invalid();
    }
  }

  /** The marker after the last line of a file, named {@code file}. */
  static Click endOfFile(String file) {
    Click c = new Click();
    c.endOfFile = file;
    return c;
  }

  private static Click invalid() {
    return new Click();
  }
}
