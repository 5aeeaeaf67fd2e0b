package dev.sessionize.pipeline.options;

import java.util.List;

/** A launch stopped by bad options; the message has one line per bad option. */
public final class InvalidOptionsException extends IllegalArgumentException {
  private final List<String> problems;

  public InvalidOptionsException(List<String> problems) {
    super(String.join(System.lineSeparator(), problems));
    this.problems = List.copyOf(problems);
  }

  /** One line per bad option, each naming it. */
  public List<String> problems() {
    return problems;
  }

  /** Throws when {@code problems} is not empty. */
  public static void throwIfAny(List<String> problems) {
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
  }
}
