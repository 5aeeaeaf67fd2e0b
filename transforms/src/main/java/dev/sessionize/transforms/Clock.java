package dev.sessionize.transforms;

import java.io.Serializable;
import org.joda.time.Instant;

/** Processing time, injectable so tests can pin "now". */
@FunctionalInterface
public interface Clock extends Serializable {
  Instant now();

  /** The wall clock. */
  static Clock system() {
    return Instant::now;
  }

  /** Always {@code instant}. */
  static Clock fixed(Instant instant) {
    return () -> instant;
  }
}
