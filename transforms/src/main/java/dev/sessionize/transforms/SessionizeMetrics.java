package dev.sessionize.transforms;

import dev.sessionize.transforms.model.Reason;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * The job's counters, all in the {@code sessionize} namespace: {@code records_read}, {@code valid},
 * {@code dead_letter_<REASON>}, {@code accepted}, {@code duplicates}, {@code session_emissions},
 * {@code sessions_final}, {@code sessions_superseded}, {@code timestamp_behind_source}.
 */
public final class SessionizeMetrics {
  public static final String NAMESPACE = "sessionize";

  private SessionizeMetrics() {}

  public static Counter counter(String name) {
    return Metrics.counter(NAMESPACE, name);
  }

  /** The counter of dead letters for {@code reason}: {@code dead_letter_<REASON>}. */
  public static Counter deadLetters(Reason reason) {
    return counter("dead_letter_" + reason.name());
  }

  /** The attempted value of a counter of this namespace in a (finished) pipeline result. */
  public static long read(PipelineResult result, String name) {
    return read(result, NAMESPACE, name);
  }

  /** The attempted value of a counter, summed over steps. */
  public static long read(PipelineResult result, String namespace, String name) {
    long total = 0;
    for (MetricResult<Long> c :
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(MetricNameFilter.named(namespace, name))
                    .build())
            .getCounters()) {
      total += c.getAttempted();
    }
    return total;
  }
}
