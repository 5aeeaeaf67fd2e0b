package dev.sessionize.pipeline;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.exceptions.RuntimeIOException;
import org.apache.iceberg.hadoop.HadoopFileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;

/**
 * A file IO for outage tests ({@code io-impl=dev.sessionize.pipeline.UnreachableFileIO} in the
 * catalog properties): Hadoop's own file IO, except that until {@link #downUntil} (epoch millis)
 * every file it opens, creates or deletes whose path contains {@link #paths} fails with an I/O
 * error, as a warehouse on a storage that does not answer would. Tests run as root, so taking the
 * permissions of the warehouse folder away would not stop the writes; this does.
 */
public class UnreachableFileIO extends HadoopFileIO {
  /** The storage answers again at this time (epoch millis); 0: it is up. */
  static volatile long downUntil;

  /** While down, only paths containing this fail ("" for every path). */
  static volatile String paths = "";

  /** The operations that failed. */
  static final AtomicLong FAILURES = new AtomicLong();

  public UnreachableFileIO() {}

  /** Unreachable for {@code millis} from now, for paths containing {@code part}. */
  static void downFor(long millis, String part) {
    paths = part;
    downUntil = System.currentTimeMillis() + millis;
  }

  static void up() {
    downUntil = 0;
    paths = "";
  }

  private static void check(String path) {
    if (System.currentTimeMillis() < downUntil && path.contains(paths)) {
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
