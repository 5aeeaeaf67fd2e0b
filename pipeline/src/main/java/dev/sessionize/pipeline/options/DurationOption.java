package dev.sessionize.pipeline.options;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.joda.time.Duration;
import org.joda.time.Period;

/**
 * Parses duration options: {@code 250ms}, {@code 1s}, {@code 5m}, {@code 48h}, {@code 2d} or
 * ISO-8601 ({@code PT30M}).
 */
public final class DurationOption {
  private static final Pattern SHORT = Pattern.compile("(-?\\d+)(ms|s|m|h|d)");

  private DurationOption() {}

  /** The duration, or throws {@link IllegalArgumentException} with the accepted forms. */
  public static Duration parse(String text) {
    String value = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    Matcher m = SHORT.matcher(value);
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
          case "ms":
            return Duration.millis(n);
          case "s":
            return Duration.standardSeconds(n);
          case "m":
            return Duration.standardMinutes(n);
          case "h":
            return Duration.standardHours(n);
          default:
            return Duration.standardDays(n);
        }
      }
      if (value.startsWith("p") || value.startsWith("-p")) {
        return Period.parse(value.toUpperCase(Locale.ROOT)).toStandardDuration();
      }
    } catch (RuntimeException e) {
      // fall through to the error below
    }
    throw new IllegalArgumentException(
        "'" + text + "' is not a duration; use e.g. 250ms, 30s, 5m, 48h, 2d or PT30M");
  }

  /** {@code 30m}-style text for messages. */
  public static String format(Duration d) {
    long ms = d.getMillis();
    if (ms % 86_400_000L == 0 && ms != 0) {
      return ms / 86_400_000L + "d";
    }
    if (ms % 3_600_000L == 0 && ms != 0) {
      return ms / 3_600_000L + "h";
    }
    if (ms % 60_000L == 0 && ms != 0) {
      return ms / 60_000L + "m";
    }
    if (ms % 1000L == 0) {
      return ms / 1000L + "s";
    }
    return ms + "ms";
  }
}
