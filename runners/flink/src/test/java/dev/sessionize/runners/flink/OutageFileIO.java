package dev.sessionize.runners.flink;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.exceptions.RuntimeIOException;
import org.apache.iceberg.hadoop.HadoopFileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;

/**
 * The warehouse's storage for {@link OutagesIT} ({@code io-impl} in the catalog properties):
 * Hadoop's file IO, except that while {@link #down} every file it opens, creates or deletes fails
 * with an I/O error, as a storage that does not answer would. (The tests run as root: taking the
 * folder's permissions away would not stop the writes.) The embedded Flink cluster runs the job in
 * this JVM with this class loader, so the switch reaches the job's sink.
 */
public class OutageFileIO extends HadoopFileIO {
  static volatile boolean down;

  /** The operations that failed. */
  static final AtomicLong FAILURES = new AtomicLong();

  public OutageFileIO() {}

  private static void check(String path) {
    if (down) {
      FAILURES.incrementAndGet();
      throw new RuntimeIOException("injected outage: the storage does not answer for %s", path);
    }
  }

  @Override
  public InputFile newInputFile(String path) {
    check(path);
    return super.newInputFile(path);
  }

  @Override
  public InputFile newInputFile(String path, long length) {
    check(path);
    return super.newInputFile(path, length);
  }

  @Override
  public OutputFile newOutputFile(String path) {
    check(path);
    return super.newOutputFile(path);
  }

  @Override
  public void deleteFile(String path) {
    check(path);
    super.deleteFile(path);
  }
}
