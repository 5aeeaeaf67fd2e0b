package dev.sessionize.pipeline.options;

import dev.sessionize.transforms.options.OptionsParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * The checks every options interface shares: a duration within a range, a number within a range, a
 * choice among an enum's values as users type them (lower case). Each adds one line per bad option
 * to a list of problems, naming the option and what it allows.
 */
public final class OptionChecks {
  public static final Duration ONE_DAY = Duration.standardDays(1);

  private OptionChecks() {}

  /** Adds a line if {@code value} is not a duration from {@code min} to {@code max}. */
  public static void duration(
      List<String> problems, String name, String value, Duration min, Duration max) {
    Duration d;
    try {
      d = DurationOption.parse(value);
    } catch (IllegalArgumentException e) {
      problems.add("--" + name + "=" + value + " is not valid: " + e.getMessage());
      return;
    }
    if (d.isShorterThan(min) || d.isLongerThan(max)) {
      problems.add(
          "--"
              + name
              + "="
              + value
              + " is out of range: allowed values are "
              + DurationOption.format(min)
              + " to "
              + DurationOption.format(max));
    }
  }

  /** Adds a line if {@code value} is below {@code min}; nothing for a null (unset) value. */
  public static void atLeast(List<String> problems, String name, @Nullable Number value, long min) {
    if (value != null && value.longValue() < min) {
      problems.add(
          "--" + name + "=" + value + " is out of range: allowed values are " + min + " and more");
    }
  }

  /** Adds a line if {@code value} is not from {@code min} to {@code max}. */
  public static void range(List<String> problems, String name, int value, int min, int max) {
    if (value < min || value > max) {
      problems.add(
          "--" + name + "=" + value + " is out of range: allowed values are " + min + " to " + max);
    }
  }

  /** The enum constant spelled {@code value} in lower case, or null. */
  public static <E extends Enum<E>> @Nullable E choice(Class<E> type, @Nullable String value) {
    for (E e : type.getEnumConstants()) {
      if (spelling(e).equals(value)) {
        return e;
      }
    }
    return null;
  }

  /**
   * Adds {@code --name=value is <verb>: allowed values are a, b} if {@code value} is none of the
   * enum's spellings.
   */
  public static <E extends Enum<E>> void choice(
      List<String> problems, String name, @Nullable String value, Class<E> type, String verb) {
    if (choice(type, value) == null) {
      List<String> allowed = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        allowed.add(spelling(e));
      }
      problems.add(
          "--"
              + name
              + "="
              + value
              + " is "
              + verb
              + ": allowed values are "
              + String.join(", ", allowed));
    }
  }

  /** How users type a choice: the constant's name in lower case. */
  public static String spelling(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  /** The first line of a message (Beam's can run over several). */
  public static String firstLine(@Nullable String message) {
    return OptionsParser.firstLine(message);
  }
}
