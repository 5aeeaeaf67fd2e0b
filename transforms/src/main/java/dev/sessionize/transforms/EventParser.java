package dev.sessionize.transforms;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Utf8;
import java.io.Serializable;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Validates one raw record against the input contract and builds a {@link ClickEvent}. Pure and
 * deterministic given the processing time passed in; {@link ParseEvents} wraps it in a DoFn.
 *
 * <p>Validation order (the first failure wins): OVERSIZE, MALFORMED_JSON, MISSING_FIELD,
 * INVALID_FIELD, FUTURE_TIMESTAMP.
 */
public final class EventParser implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final int MAX_USER_ID_CHARS = 256;
  public static final int MAX_EVENT_ID_CHARS = 256;

  /** Largest amount that fits the table's {@code decimal(18,2)}. */
  public static final BigDecimal MAX_AMOUNT = new BigDecimal("9999999999999999.99");

  /** Earliest accepted event time; anything before the epoch is a broken clock. */
  public static final Instant MIN_EVENT_TIME = new Instant(0L);

  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  private static final DateTimeFormatter ISO_WITH_OFFSET = DateTimeFormatter.ISO_OFFSET_DATE_TIME;

  private final int maxRecordBytes;
  private final Duration maxFutureSkew;

  public EventParser(int maxRecordBytes, Duration maxFutureSkew) {
    this.maxRecordBytes = maxRecordBytes;
    this.maxFutureSkew = maxFutureSkew;
  }

  /**
   * Parses {@code payload}; {@code now} is the processing time used for FUTURE_TIMESTAMP. Never
   * throws on data: an unexpected failure of the JSON library becomes MALFORMED_JSON with the
   * exception named in the detail.
   */
  public Outcome parse(byte[] payload, Instant now) {
    try {
      return parseChecked(payload, now);
    } catch (RuntimeException e) {
      return Outcome.reject(
          Reason.MALFORMED_JSON,
          "unparseable record ("
              + e.getClass().getSimpleName()
              + ": "
              + abbreviate(String.valueOf(e.getMessage()))
              + ")",
          null,
          null);
    }
  }

  private Outcome parseChecked(byte[] payload, Instant now) {
    if (payload.length > maxRecordBytes) {
      return Outcome.reject(
          Reason.OVERSIZE,
          "record is " + payload.length + " bytes, the limit is " + maxRecordBytes,
          null,
          null);
    }
    String text = Utf8.decodeStrict(payload);
    if (text == null) {
      return Outcome.reject(Reason.MALFORMED_JSON, "record is not valid UTF-8", null, null);
    }
    if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
      return Outcome.reject(
          Reason.MALFORMED_JSON,
          "record starts with a byte-order mark (RFC 8259 §8.1)",
          null,
          null);
    }
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      return Outcome.reject(Reason.MALFORMED_JSON, jsonError(e), null, null);
    }
    if (root == null || root.isMissingNode()) {
      return Outcome.reject(Reason.MALFORMED_JSON, "record is empty", null, null);
    }
    if (!root.isObject()) {
      return Outcome.reject(
          Reason.MALFORMED_JSON,
          "record is JSON " + root.getNodeType().name().toLowerCase() + ", not an object",
          null,
          null);
    }

    // MISSING_FIELD: required fields present and not null.
    for (String field : new String[] {"user_id", "event_type", "timestamp"}) {
      JsonNode node = root.get(field);
      if (node == null || node.isNull()) {
        return Outcome.reject(
            Reason.MISSING_FIELD, "required field '" + field + "' is " + absent(node), null, null);
      }
    }

    // INVALID_FIELD, required fields first.
    JsonNode userNode = root.get("user_id");
    if (!userNode.isTextual()) {
      return invalid("user_id must be a string, got " + typeOf(userNode), null, null);
    }
    String userId = userNode.textValue();
    String userProblem = checkId(userId, MAX_USER_ID_CHARS);
    if (userProblem != null) {
      return invalid("user_id " + userProblem, null, null);
    }
    JsonNode typeNode = root.get("event_type");
    if (!typeNode.isTextual()) {
      return invalid("event_type must be a string, got " + typeOf(typeNode), userId, null);
    }
    String eventType = typeNode.textValue();
    if (eventType.isEmpty()) {
      return invalid("event_type must not be empty", userId, null);
    }
    TimestampOrError ts = parseTimestamp(root.get("timestamp"));
    if (ts.error != null) {
      return invalid("timestamp " + ts.error, userId, null);
    }
    Instant timestamp = ts.value;

    ClickEvent.Builder event =
        ClickEvent.builder().setUserId(userId).setEventType(eventType).setTimestamp(timestamp);

    JsonNode eventIdNode = root.get("event_id");
    if (eventIdNode != null && !eventIdNode.isNull()) {
      String eventId;
      if (eventIdNode.isTextual()) {
        eventId = eventIdNode.textValue();
      } else if (eventIdNode.isIntegralNumber()) {
        eventId = eventIdNode.bigIntegerValue().toString();
      } else {
        return invalid(
            "event_id must be a string or an integer, got " + typeOf(eventIdNode),
            userId,
            timestamp);
      }
      String idProblem = checkId(eventId, MAX_EVENT_ID_CHARS);
      if (idProblem != null) {
        return invalid("event_id " + idProblem, userId, timestamp);
      }
      event.setEventId(eventId);
    }

    StringOrError clientSession = optionalString(root, "session_id");
    StringOrError page = optionalString(root, "page_url");
    StringOrError referrer = optionalString(root, "referrer");
    for (StringOrError field : new StringOrError[] {clientSession, page, referrer}) {
      if (field.error != null) {
        return invalid(field.error, userId, timestamp);
      }
    }
    event
        .setClientSessionId(clientSession.value)
        .setPageUrl(page.value)
        .setReferrer(referrer.value);

    StringOrError device = nestedString(root, "device", "type");
    if (device.error != null) {
      return invalid(device.error, userId, timestamp);
    }
    StringOrError country = nestedString(root, "geo", "country");
    if (country.error != null) {
      return invalid(country.error, userId, timestamp);
    }
    event.setDeviceType(device.value).setCountry(country.value);

    JsonNode metadata = root.get("metadata");
    if (metadata != null && !metadata.isNull()) {
      if (!metadata.isObject()) {
        return invalid("metadata must be an object, got " + typeOf(metadata), userId, timestamp);
      }
      JsonNode amountNode = metadata.get("amount");
      if (amountNode != null && !amountNode.isNull()) {
        AmountOrError amount = parseAmount(amountNode);
        if (amount.error != null) {
          return invalid("metadata.amount " + amount.error, userId, timestamp);
        }
        event.setAmount(amount.value);
      }
      JsonNode currencyNode = metadata.get("currency");
      if (currencyNode != null && !currencyNode.isNull()) {
        if (!currencyNode.isTextual()) {
          return invalid(
              "metadata.currency must be a string, got " + typeOf(currencyNode), userId, timestamp);
        }
        String currency = currencyNode.textValue().toUpperCase(java.util.Locale.ROOT);
        if (!CURRENCY.matcher(currency).matches()) {
          return invalid(
              "metadata.currency must be a 3-letter ISO-4217 code, got '"
                  + abbreviate(currencyNode.textValue())
                  + "'",
              userId,
              timestamp);
        }
        event.setCurrency(currency);
      }
    }

    Instant limit = now.plus(maxFutureSkew);
    if (timestamp.isAfter(limit)) {
      return Outcome.reject(
          Reason.FUTURE_TIMESTAMP,
          "timestamp "
              + Json.formatInstant(timestamp)
              + " is more than "
              + maxFutureSkew.getStandardSeconds()
              + " s ahead of processing time "
              + Json.formatInstant(now),
          userId,
          timestamp);
    }
    return Outcome.accept(event.build());
  }

  private static Outcome invalid(String detail, @Nullable String userId, @Nullable Instant time) {
    return Outcome.reject(Reason.INVALID_FIELD, detail, userId, time);
  }

  private static String jsonError(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    if (message == null) {
      message = e.getClass().getSimpleName();
    }
    message = message.replaceAll("\\s+", " ");
    String where =
        e.getLocation() == null ? "" : " at character " + e.getLocation().getCharOffset();
    return "invalid JSON" + where + ": " + abbreviate(message);
  }

  private static @Nullable String checkId(String id, int maxChars) {
    if (id.isEmpty()) {
      return "must not be empty";
    }
    int codePoints = id.codePointCount(0, id.length());
    if (codePoints > maxChars) {
      return "is " + codePoints + " characters long, the limit is " + maxChars;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (Character.isISOControl(c)) {
        return "contains a control character (U+" + String.format("%04X", (int) c) + ")";
      }
      // An escaped lone surrogate (\ud800) is legal JSON but no text: UTF-8 coders would turn it
      // into '?', so two different ids would become one key.
      if (Character.isSurrogate(c)) {
        boolean paired =
            Character.isHighSurrogate(c)
                && i + 1 < id.length()
                && Character.isLowSurrogate(id.charAt(i + 1));
        if (!paired) {
          return "contains a lone surrogate (U+" + String.format("%04X", (int) c) + ")";
        }
        i++;
      }
    }
    return null;
  }

  private static TimestampOrError parseTimestamp(JsonNode node) {
    Instant value;
    if (node.isTextual()) {
      String text = node.textValue();
      try {
        OffsetDateTime parsed = OffsetDateTime.parse(text, ISO_WITH_OFFSET);
        java.time.Instant instant = parsed.toInstant();
        if (instant.isBefore(java.time.Instant.EPOCH)) {
          return TimestampOrError.error("'" + abbreviate(text) + "' is before 1970-01-01T00:00Z");
        }
        value = new Instant(instant.toEpochMilli());
      } catch (DateTimeParseException | ArithmeticException e) {
        return TimestampOrError.error(
            "'"
                + abbreviate(text)
                + "' is not ISO-8601 with an offset (e.g. 2026-11-24T10:00:00.123Z)"
                + " nor a JSON number of epoch milliseconds");
      }
    } else if (node.isIntegralNumber()) {
      if (!node.canConvertToLong()) {
        return TimestampOrError.error("" + node.asText() + " is out of range");
      }
      long millis = node.longValue();
      if (millis < 0) {
        return TimestampOrError.error(millis + " is before 1970-01-01T00:00Z");
      }
      // Beam's largest timestamp is far beyond any real clock; cap well below it.
      if (millis > 253402300799999L) {
        value = new Instant(253402300799999L); // 9999-12-31T23:59:59.999Z: FUTURE_TIMESTAMP
      } else {
        value = new Instant(millis);
      }
    } else if (node.isNumber()) {
      return TimestampOrError.error(
          node.asText() + " must be whole epoch milliseconds, not a fraction");
    } else {
      return TimestampOrError.error(
          "must be an ISO-8601 string or epoch milliseconds, got " + typeOf(node));
    }
    return new TimestampOrError(value, null);
  }

  private static AmountOrError parseAmount(JsonNode node) {
    BigDecimal amount;
    if (node.isNumber()) {
      // Jackson keeps a float that overflows a double (1e400) as an infinite double.
      if (node.isDouble() && !Double.isFinite(node.doubleValue())) {
        return AmountOrError.error("is beyond the range of a number");
      }
      amount = node.decimalValue();
    } else if (node.isTextual()) {
      String text = node.textValue().trim();
      if (text.length() > Json.MAX_NUMBER_LENGTH) {
        return AmountOrError.error("is a " + text.length() + "-character string, not an amount");
      }
      try {
        amount = new BigDecimal(text);
      } catch (NumberFormatException e) {
        return AmountOrError.error("'" + abbreviate(node.textValue()) + "' is not a number");
      }
    } else {
      return AmountOrError.error("must be a number or a numeric string, got " + typeOf(node));
    }
    if (amount.signum() < 0) {
      return AmountOrError.error(amount.toPlainString() + " is negative");
    }
    BigDecimal stripped = amount.stripTrailingZeros();
    if (stripped.scale() > 2) {
      return AmountOrError.error(abbreviate(amount.toString()) + " has more than 2 decimal places");
    }
    if (stripped.compareTo(MAX_AMOUNT) > 0) {
      return AmountOrError.error(
          abbreviate(amount.toString()) + " exceeds the maximum " + MAX_AMOUNT.toPlainString());
    }
    return new AmountOrError(stripped.setScale(2), null);
  }

  private static StringOrError optionalString(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return new StringOrError(null, null);
    }
    if (!node.isTextual()) {
      return new StringOrError(null, field + " must be a string, got " + typeOf(node));
    }
    return new StringOrError(node.textValue(), null);
  }

  private static StringOrError nestedString(JsonNode root, String object, String field) {
    JsonNode parent = root.get(object);
    if (parent == null || parent.isNull()) {
      return new StringOrError(null, null);
    }
    if (!parent.isObject()) {
      return new StringOrError(null, object + " must be an object, got " + typeOf(parent));
    }
    StringOrError inner = optionalString(parent, field);
    return inner.error == null ? inner : new StringOrError(null, object + "." + inner.error);
  }

  private static String absent(@Nullable JsonNode node) {
    return node == null ? "absent" : "null";
  }

  private static String typeOf(JsonNode node) {
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  /** The result of {@link #parse}: an event, or a reason with a detail. */
  public static final class Outcome {
    public final @Nullable ClickEvent event;
    public final @Nullable Reason reason;
    public final String detail;
    public final @Nullable String userId;
    public final @Nullable Instant eventTime;

    private Outcome(
        @Nullable ClickEvent event,
        @Nullable Reason reason,
        String detail,
        @Nullable String userId,
        @Nullable Instant eventTime) {
      this.event = event;
      this.reason = reason;
      this.detail = detail;
      this.userId = userId;
      this.eventTime = eventTime;
    }

    static Outcome accept(ClickEvent event) {
      return new Outcome(event, null, "", event.userId(), event.timestamp());
    }

    static Outcome reject(
        Reason reason, String detail, @Nullable String userId, @Nullable Instant eventTime) {
      return new Outcome(null, reason, detail, userId, eventTime);
    }

    public boolean isValid() {
      return event != null;
    }

    @Override
    public String toString() {
      return isValid() ? "VALID " + event : reason + ": " + detail;
    }
  }

  private static final class TimestampOrError {
    final Instant value;
    final @Nullable String error;

    TimestampOrError(Instant value, @Nullable String error) {
      this.value = value;
      this.error = error;
    }

    static TimestampOrError error(String error) {
      return new TimestampOrError(new Instant(0), error);
    }
  }

  private static final class AmountOrError {
    final @Nullable BigDecimal value;
    final @Nullable String error;

    AmountOrError(@Nullable BigDecimal value, @Nullable String error) {
      this.value = value;
      this.error = error;
    }

    static AmountOrError error(String error) {
      return new AmountOrError(null, error);
    }
  }

  private static final class StringOrError {
    final @Nullable String value;
    final @Nullable String error;

    StringOrError(@Nullable String value, @Nullable String error) {
      this.value = value;
      this.error = error;
    }
  }
}
