package dev.sessionize.pipeline;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.metrics.CommitReport;
import org.apache.iceberg.metrics.MetricsReport;
import org.apache.iceberg.metrics.MetricsReporter;

/**
 * An Iceberg metrics reporter ({@code metrics-reporter-impl=dev.sessionize.pipeline.CommitAttempts}
 * in the catalog properties) that records how many attempts the commits of this JVM took: a commit
 * that lost a race with another writer and was retried reports more than one.
 */
public class CommitAttempts implements MetricsReporter {
  static final AtomicLong COMMITS = new AtomicLong();
  static final AtomicLong RETRIED = new AtomicLong();
  static final AtomicLong MAX_ATTEMPTS = new AtomicLong();

  public CommitAttempts() {}

  @Override
  public void report(MetricsReport report) {
    if (report instanceof CommitReport commit && commit.commitMetrics().attempts() != null) {
      long attempts = commit.commitMetrics().attempts().value();
      COMMITS.incrementAndGet();
      if (attempts > 1) {
        RETRIED.incrementAndGet();
      }
      MAX_ATTEMPTS.accumulateAndGet(attempts, Math::max);
    }
  }
}
