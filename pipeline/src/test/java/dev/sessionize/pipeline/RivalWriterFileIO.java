package dev.sessionize.pipeline;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.iceberg.hadoop.HadoopFileIO;
import org.apache.iceberg.io.OutputFile;

/**
 * The job's Iceberg file IO in {@link OutageIT} ({@code io-impl=dev.sessionize.pipeline.
 * RivalWriterFileIO} in the catalog properties): Hadoop's own file IO, except that when a commit of
 * this JVM writes its manifest list (after it read the table's current version, before it swaps in
 * the next one) and {@link #RACES} is above zero, the {@link #rival} writer first commits to the
 * same table, so that commit attempt loses a real race on the catalog's version file. A race on
 * every attempt is arranged on purpose, rather than hoped for from a writer on a timer.
 */
public class RivalWriterFileIO extends HadoopFileIO {
  /** How many of the next commit attempts lose a race. */
  static final AtomicInteger RACES = new AtomicInteger();

  /** Commits to the table from another table handle; set by the test before the job starts. */
  static volatile Runnable rival = () -> {};

  public RivalWriterFileIO() {}

  @Override
  public OutputFile newOutputFile(String path) {
    if (path.contains("/metadata/snap-") && RACES.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      rival.run();
    }
    return super.newOutputFile(path);
  }
}
