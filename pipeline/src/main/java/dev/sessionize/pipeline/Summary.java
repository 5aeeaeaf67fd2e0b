package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Reason;
import java.io.File;
import java.util.Locale;
import org.apache.beam.sdk.PipelineResult;

/** The lines a finished run prints: what it read and produced, and where the output went. */
final class Summary {
  private Summary() {}

  /** The summary from the pipeline's own counters. */
  static String of(PipelineResult result, SessionizationPipeline.Options options) {
    long read = SessionizeMetrics.read(result, "records_read");
    long accepted = SessionizeMetrics.read(result, "accepted");
    long duplicates = SessionizeMetrics.read(result, "duplicates");
    long finals = SessionizeMetrics.read(result, "sessions_final");
    long emissions = SessionizeMetrics.read(result, "session_emissions");
    StringBuilder deadLetters = new StringBuilder();
    long dead = 0;
    for (Reason reason : Reason.values()) {
      long n = SessionizeMetrics.read(result, "dead_letter_" + reason.name());
      dead += n;
      if (n > 0) {
        deadLetters
            .append(deadLetters.length() == 0 ? "" : ", ")
            .append(reason)
            .append('=')
            .append(n);
      }
    }
    String folder = new File(options.getOutput()).getAbsolutePath();
    return String.format(
        Locale.ROOT,
        "sessionize: read %d records: %d events accepted into %d sessions (%d emissions), "
            + "%d duplicates, %d dead letters%s%n"
            + "sessionize: accounting %s: read %d = accepted %d + duplicates %d + dead letters %d%n"
            + "sessionize: sessions     -> %s%n"
            + "sessionize: dashboard    -> %s%n"
            + "sessionize: dead letters -> %s/dead-letters-00000-of-00001.jsonl",
        read,
        accepted,
        finals,
        emissions,
        duplicates,
        dead,
        dead == 0 ? "" : " (" + deadLetters + ")",
        read == accepted + duplicates + dead ? "holds" : "BROKEN",
        read,
        accepted,
        duplicates,
        dead,
        OptionChecks.choice(Sinks.SessionsSink.class, options.getSessionsSink())
                == Sinks.SessionsSink.ICEBERG
            ? "iceberg table "
                + options.getSessionsTable()
                + " in "
                + IcebergOptions.catalog(options)
            : folder + "/sessions-00000-of-00001.jsonl",
        OptionChecks.choice(Sinks.DashboardSink.class, options.getDashboardSink())
                == Sinks.DashboardSink.REDIS
            ? "redis://"
                + options.getRedisHost()
                + ":"
                + options.getRedisPort()
                + " (dash:minute:*, dash:latest, session:latest:*)"
            : folder + "/dashboard-00000-of-00001.jsonl",
        folder);
  }
}
