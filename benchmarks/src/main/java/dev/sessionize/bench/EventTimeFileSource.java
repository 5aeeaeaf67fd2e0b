package dev.sessionize.bench;

import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.UnboundedSource;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * JSON-lines files replayed as a stream whose watermark follows event time, as the Kafka source's
 * does ({@code EventTimePolicy}): each file is a partition, read in order; a record's timestamp is
 * its event time when it passes validation (a rejected record gets the partition's current
 * watermark and never moves it); a partition's watermark is the largest event time it has read
 * minus the bounded out-of-orderness, and jumps to the end of time when the file is read, so the
 * source finishes and the run ends. A reader of several files reads them in turn, one record each,
 * and its watermark is the smallest of theirs (the runner splits the source into one file per
 * split).
 *
 * <p>Records are {@link RawRecord}s whose topic is the file name, partition the file's index among
 * the matched files (sorted by name) and offset its 1-based line number, as {@code ReadJsonLines}
 * gives them; blank lines are skipped and a trailing {@code \r} is dropped. The checkpoint mark
 * holds each file's byte position, line number and largest event time, so a restored reader goes on
 * where the checkpoint was taken with the same watermark.
 *
 * <p>Used by {@link BenchRun} for streaming rows: a bounded file source in streaming mode holds the
 * watermark until every file is read, so no session closes before the end and all state stays open;
 * with this one state stays bounded as in production.
 */
final class EventTimeFileSource extends UnboundedSource<RawRecord, EventTimeFileSource.Mark> {
  private static final long serialVersionUID = 1L;

  /** One file of the source: its path, and its partition number among all matched files. */
  record Part(String path, int partition) implements java.io.Serializable {
    String name() {
      return Path.of(path).getFileName().toString();
    }
  }

  private final List<Part> parts;
  private final long maxOutOfOrdernessMillis;

  private EventTimeFileSource(List<Part> parts, Duration maxOutOfOrderness) {
    this.parts = List.copyOf(parts);
    this.maxOutOfOrdernessMillis = maxOutOfOrderness.getMillis();
  }

  /** The local files matching {@code filepattern}, in name order; at least one must match. */
  static EventTimeFileSource of(String filepattern, Duration maxOutOfOrderness) throws IOException {
    MatchResult match = FileSystems.match(filepattern);
    List<String> paths = new ArrayList<>();
    for (MatchResult.Metadata m : match.metadata()) {
      paths.add(Path.of(m.resourceId().toString()).toAbsolutePath().toString());
    }
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("no file matches " + filepattern);
    }
    paths.sort(null);
    List<Part> parts = new ArrayList<>();
    for (int i = 0; i < paths.size(); i++) {
      parts.add(new Part(paths.get(i), i));
    }
    return new EventTimeFileSource(parts, maxOutOfOrderness);
  }

  List<Part> parts() {
    return parts;
  }

  /** One split per file, whatever the desired number (a runner gives a reader several). */
  @Override
  public List<EventTimeFileSource> split(int desiredNumSplits, PipelineOptions options) {
    List<EventTimeFileSource> splits = new ArrayList<>();
    for (Part p : parts) {
      splits.add(new EventTimeFileSource(List.of(p), Duration.millis(maxOutOfOrdernessMillis)));
    }
    return splits;
  }

  @Override
  public Reader createReader(PipelineOptions options, @Nullable Mark mark) throws IOException {
    return new Reader(this, mark);
  }

  @Override
  public Coder<Mark> getCheckpointMarkCoder() {
    return MarkCoder.INSTANCE;
  }

  @Override
  public Coder<RawRecord> getOutputCoder() {
    return RawRecord.RawRecordCoder.of();
  }

  /**
   * Where each file of a reader stands (byte position of the next line, lines read, largest event
   * time, read to the end) and which file is read next.
   */
  static final class Mark implements UnboundedSource.CheckpointMark {
    final long[] position;
    final long[] lines;
    final long[] maxEventTime;
    final boolean[] done;
    final int next;

    Mark(long[] position, long[] lines, long[] maxEventTime, boolean[] done, int next) {
      this.position = position;
      this.lines = lines;
      this.maxEventTime = maxEventTime;
      this.done = done;
      this.next = next;
    }

    @Override
    public void finalizeCheckpoint() {}

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Mark m
          && Arrays.equals(position, m.position)
          && Arrays.equals(lines, m.lines)
          && Arrays.equals(maxEventTime, m.maxEventTime)
          && Arrays.equals(done, m.done)
          && next == m.next;
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(position) * 31 + Arrays.hashCode(lines);
    }
  }

  static final class MarkCoder extends CustomCoder<Mark> {
    static final MarkCoder INSTANCE = new MarkCoder();

    @Override
    public void encode(Mark m, OutputStream out) throws IOException {
      Wire.writeVarInt(m.position.length, out);
      for (int i = 0; i < m.position.length; i++) {
        Wire.writeVarLong(m.position[i], out);
        Wire.writeVarLong(m.lines[i], out);
        Wire.writeSignedVarLong(m.maxEventTime[i], out);
        Wire.writeBoolean(m.done[i], out);
      }
      Wire.writeVarInt(m.next, out);
    }

    @Override
    public Mark decode(InputStream in) throws IOException {
      int n = Wire.readVarInt(in);
      long[] position = new long[n];
      long[] lines = new long[n];
      long[] maxEventTime = new long[n];
      boolean[] done = new boolean[n];
      for (int i = 0; i < n; i++) {
        position[i] = Wire.readVarLong(in);
        lines[i] = Wire.readVarLong(in);
        maxEventTime[i] = Wire.readSignedVarLong(in);
        done[i] = Wire.readBoolean(in);
      }
      return new Mark(position, lines, maxEventTime, done, Wire.readVarInt(in));
    }
  }

  /** Reads the source's files in turn, a record from each. */
  static final class Reader extends UnboundedSource.UnboundedReader<RawRecord> {
    private static final long NONE = BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis();

    private final EventTimeFileSource source;
    private final EventParser parser =
        new EventParser(ParseEvents.DEFAULT_MAX_RECORD_BYTES, ParseEvents.DEFAULT_MAX_FUTURE_SKEW);
    private final LineReader[] files;
    private final long[] maxEventTime;
    private int next;
    private @Nullable RawRecord current;
    private Instant currentTimestamp = BoundedWindow.TIMESTAMP_MIN_VALUE;

    Reader(EventTimeFileSource source, @Nullable Mark mark) throws IOException {
      this.source = source;
      int n = source.parts.size();
      this.files = new LineReader[n];
      this.maxEventTime = new long[n];
      for (int i = 0; i < n; i++) {
        Part part = source.parts.get(i);
        boolean done = mark != null && mark.done[i];
        files[i] =
            new LineReader(
                Path.of(part.path()),
                mark == null ? 0 : mark.position[i],
                mark == null ? 0 : mark.lines[i],
                done);
        maxEventTime[i] = mark == null ? NONE : mark.maxEventTime[i];
      }
      this.next = mark == null ? 0 : mark.next;
    }

    @Override
    public boolean start() throws IOException {
      return advance();
    }

    @Override
    public boolean advance() throws IOException {
      for (int tried = 0; tried < files.length; tried++) {
        int i = next;
        next = (next + 1) % files.length;
        LineReader file = files[i];
        if (file.done) {
          continue;
        }
        byte[] line = file.next();
        Part part = source.parts.get(i);
        if (file.done) {
          InputProgress.finished(part.path());
        }
        if (line == null) {
          continue;
        }
        current = RawRecord.of(line, part.name(), part.partition(), file.lineNumber);
        EventParser.Outcome outcome = parser.parse(line, Instant.now());
        if (outcome.event != null) {
          long t = outcome.event.timestamp().getMillis();
          maxEventTime[i] = Math.max(maxEventTime[i], t);
          currentTimestamp = outcome.event.timestamp();
        } else {
          currentTimestamp = new Instant(watermarkOf(i));
        }
        return true;
      }
      current = null;
      return false;
    }

    private long watermarkOf(int i) {
      if (files[i].done) {
        return BoundedWindow.TIMESTAMP_MAX_VALUE.getMillis();
      }
      return maxEventTime[i] == NONE ? NONE : maxEventTime[i] - source.maxOutOfOrdernessMillis;
    }

    @Override
    public Instant getWatermark() {
      long min = BoundedWindow.TIMESTAMP_MAX_VALUE.getMillis();
      for (int i = 0; i < files.length; i++) {
        min = Math.min(min, watermarkOf(i));
      }
      return new Instant(min);
    }

    @Override
    public Mark getCheckpointMark() {
      int n = files.length;
      Mark m = new Mark(new long[n], new long[n], maxEventTime.clone(), new boolean[n], next);
      for (int i = 0; i < n; i++) {
        m.position[i] = files[i].position;
        m.lines[i] = files[i].lineNumber;
        m.done[i] = files[i].done;
      }
      return m;
    }

    @Override
    public long getSplitBacklogBytes() {
      long left = 0;
      for (LineReader f : files) {
        left += f.done ? 0 : Math.max(0, f.size - f.position);
      }
      return left;
    }

    @Override
    public EventTimeFileSource getCurrentSource() {
      return source;
    }

    @Override
    public RawRecord getCurrent() {
      if (current == null) {
        throw new NoSuchElementException();
      }
      return current;
    }

    @Override
    public Instant getCurrentTimestamp() {
      if (current == null) {
        throw new NoSuchElementException();
      }
      return currentTimestamp;
    }

    @Override
    public void close() throws IOException {
      for (LineReader f : files) {
        f.close();
      }
    }
  }

  /**
   * The non-blank lines of one file from a byte position, in 64 KiB reads: {@link #position} is
   * always the byte position of the next line, {@link #lineNumber} the 1-based number of the line
   * last returned (blank lines counted).
   */
  static final class LineReader implements AutoCloseable {
    private final @Nullable FileChannel channel;
    private final long size;
    private final ByteBuffer block = ByteBuffer.allocate(1 << 16);
    private byte[] carry = new byte[256];
    long position;
    long lineNumber;
    boolean done;

    LineReader(Path file, long position, long lineNumber, boolean done) throws IOException {
      this.position = position;
      this.lineNumber = lineNumber;
      this.done = done;
      if (done) {
        this.channel = null;
        this.size = 0;
      } else {
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
        this.size = channel.size();
        channel.position(position);
      }
      block.flip(); // empty
    }

    /** The next non-blank line, or null (and {@link #done}) at the end of the file. */
    @Nullable byte[] next() throws IOException {
      while (!done) {
        int carried = 0;
        while (true) {
          if (!block.hasRemaining()) {
            block.clear();
            int n = channel.read(block);
            block.flip();
            if (n < 0) {
              break;
            }
          }
          byte[] a = block.array();
          int start = block.position();
          int end = block.limit();
          int i = start;
          while (i < end && a[i] != '\n') {
            i++;
          }
          if (carried + i - start > carry.length) {
            carry = Arrays.copyOf(carry, Math.max(carried + i - start, carry.length * 2));
          }
          System.arraycopy(a, start, carry, carried, i - start);
          carried += i - start;
          if (i < end) {
            block.position(i + 1);
            position += carried + 1;
            lineNumber++;
            byte[] line = trimmed(carried);
            if (line != null) {
              return line;
            }
            carried = 0;
            continue;
          }
          block.position(end);
        }
        // End of file: a last line without a newline.
        position += carried;
        done = true;
        close();
        if (carried > 0) {
          lineNumber++;
          byte[] line = trimmed(carried);
          if (line != null) {
            return line;
          }
        }
      }
      return null;
    }

    private byte @Nullable [] trimmed(int length) {
      if (length > 0 && carry[length - 1] == '\r') {
        length--;
      }
      for (int i = 0; i < length; i++) {
        if (carry[i] != ' ' && carry[i] != '\t') {
          return Arrays.copyOf(carry, length);
        }
      }
      return null;
    }

    @Override
    public void close() throws IOException {
      if (channel != null && channel.isOpen()) {
        channel.close();
      }
    }
  }
}
