package dev.sessionize.transforms.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.joda.time.Instant;
import org.joda.time.format.DateTimeFormatter;
import org.joda.time.format.ISODateTimeFormat;

/**
 * The project's one Jackson configuration. Read limits are explicit so that hostile input fails
 * fast with a clear message instead of exhausting memory or stack.
 */
public final class Json {
  /** Deepest nesting accepted; a click event needs 3. */
  public static final int MAX_NESTING_DEPTH = 64;

  /** Longest number literal accepted, in characters. */
  public static final int MAX_NUMBER_LENGTH = 100;

  /** Longest string accepted, in characters (a record is at most 64 KiB anyway). */
  public static final int MAX_STRING_LENGTH = 1 << 20;

  public static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(MAX_NESTING_DEPTH)
                  .maxNumberLength(MAX_NUMBER_LENGTH)
                  .maxStringLength(MAX_STRING_LENGTH)
                  .build())
          .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .disable(JsonReadFeature.ALLOW_LEADING_ZEROS_FOR_NUMBERS)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  /** Reads floats as {@code BigDecimal} (money stays exact) and rejects trailing content. */
  public static final ObjectMapper MAPPER =
      new ObjectMapper(FACTORY)
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final DateTimeFormatter ISO = ISODateTimeFormat.dateTime().withZoneUTC();

  private Json() {}

  /** {@code 2026-11-24T10:00:00.123Z}. */
  public static String formatInstant(Instant instant) {
    return ISO.print(instant);
  }
}
