package dev.sessionize.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.joda.time.Duration;

/**
 * Routine maintenance of the sessions table, for a cron job beside the streaming job: the job
 * commits every {@code --commitInterval}, so snapshots (and the files only they reference) pile up.
 * This expires snapshots older than {@code --expireOlderThan} while keeping the last {@code
 * --retainLast} (which also keeps the commit ids that make retried commits idempotent), deletes the
 * files no remaining snapshot needs, and rewrites the data manifests into one per partition. Safe
 * to run while the job writes: each step is an Iceberg commit that retries on conflict.
 */
public final class MaintainSessionsTable {
  public interface Options extends IcebergOptions {
    @Description("Expire snapshots older than this (a duration: 24h, 7d, ...).")
    @Default.String("24h")
    String getExpireOlderThan();

    void setExpireOlderThan(String value);

    @Description("Always keep at least this many of the newest snapshots.")
    @Default.Integer(100)
    int getRetainLast();

    void setRetainLast(int value);
  }

  private MaintainSessionsTable() {}

  public static void main(String[] args) {
    PipelineOptionsFactory.register(Options.class);
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    try {
      System.out.println(run(options));
    } catch (SessionizationPipeline.InvalidOptionsException e) {
      e.problems().forEach(p -> System.err.println("sessionize: " + p));
      System.exit(2);
    }
  }

  /** One line per bad option; empty when all are fine. */
  static List<String> validate(Options o) {
    List<String> problems = new ArrayList<>(IcebergOptions.validate(o));
    try {
      Duration d = DurationOption.parse(o.getExpireOlderThan());
      if (d.isShorterThan(Duration.ZERO)) {
        problems.add("--expireOlderThan=" + o.getExpireOlderThan() + " is negative");
      }
    } catch (IllegalArgumentException e) {
      problems.add(
          "--expireOlderThan=" + o.getExpireOlderThan() + " is not valid: " + e.getMessage());
    }
    if (o.getRetainLast() < 1) {
      problems.add(
          "--retainLast=" + o.getRetainLast() + " is out of range: allowed values are 1 and more");
    }
    return problems;
  }

  /** Runs the maintenance; returns a one-line report of what it changed. */
  public static String run(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new SessionizationPipeline.InvalidOptionsException(problems);
    }
    Table table =
        SessionsTable.openOrCreate(IcebergOptions.catalog(options), options.getSessionsTable());
    int snapshotsBefore = count(table.snapshots());
    int manifestsBefore = manifests(table);
    long cutoff =
        System.currentTimeMillis() - DurationOption.parse(options.getExpireOlderThan()).getMillis();
    List<String> deleted = new ArrayList<>();
    table
        .expireSnapshots()
        .expireOlderThan(cutoff)
        .retainLast(options.getRetainLast())
        .deleteWith(deleted::add)
        .commit();
    table.refresh();
    if (table.currentSnapshot() != null) {
      table.rewriteManifests().clusterBy(file -> file.partition().toString()).commit();
      table.refresh();
    }
    return String.format(
        Locale.ROOT,
        "sessionize: %s: snapshots %d -> %d, files deleted %d, data manifests %d -> %d",
        options.getSessionsTable(),
        snapshotsBefore,
        count(table.snapshots()),
        deleted.size(),
        manifestsBefore,
        manifests(table));
  }

  private static int count(Iterable<Snapshot> snapshots) {
    int n = 0;
    for (Snapshot ignored : snapshots) {
      n++;
    }
    return n;
  }

  private static int manifests(Table table) {
    Snapshot current = table.currentSnapshot();
    if (current == null) {
      return 0;
    }
    List<ManifestFile> data = current.dataManifests(table.io());
    return data.size();
  }
}
