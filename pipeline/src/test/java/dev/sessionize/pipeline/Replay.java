package dev.sessionize.pipeline;

import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Session;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Replays records like the Kafka source will deliver them: each stamped with its event time (or the
 * current watermark when it has none), and the watermark advanced to the largest event time seen
 * minus the out-of-orderness bound every {@code batch} records.
 */
final class Replay {
  static final Duration OUT_OF_ORDERNESS = Duration.standardMinutes(5);

  /** Processing time of replays, the same as the tests' pinned clock. */
  static final Instant NOW = Instant.parse("2026-11-26T10:00:00Z");

  /**
   * Only records that pass validation stamp a time: a rejected record never moves the watermark.
   */
  private static final EventParser TIMES =
      new EventParser(ParseEvents.DEFAULT_MAX_RECORD_BYTES, ParseEvents.DEFAULT_MAX_FUTURE_SKEW);

  private Replay() {}

  /** Called with each record and the watermark in force when it is delivered. */
  interface Observer {
    void delivered(RawRecord record, Instant watermark);
  }

  static TestStream<RawRecord> of(List<RawRecord> records, int batch, Observer observer) {
    TestStream.Builder<RawRecord> stream = TestStream.create(RawRecord.RawRecordCoder.of());
    Instant watermark = BoundedWindow.TIMESTAMP_MIN_VALUE;
    Instant maxSeen = BoundedWindow.TIMESTAMP_MIN_VALUE;
    int inBatch = 0;
    @SuppressWarnings("unchecked")
    TimestampedValue<RawRecord>[] pending = new TimestampedValue[batch];
    for (RawRecord record : records) {
      EventParser.Outcome parsed = TIMES.parse(record.payload(), NOW);
      Instant eventTime = parsed.isValid() ? parsed.event.timestamp() : null;
      Instant stamp = eventTime == null ? watermark : eventTime;
      observer.delivered(record, watermark);
      pending[inBatch++] = TimestampedValue.of(record, stamp);
      if (eventTime != null && eventTime.isAfter(maxSeen)) {
        maxSeen = eventTime;
      }
      if (inBatch == batch) {
        stream = flush(stream, pending, inBatch);
        inBatch = 0;
        Instant next = maxSeen.minus(OUT_OF_ORDERNESS);
        if (next.isAfter(watermark)) {
          watermark = next;
          stream = stream.advanceWatermarkTo(watermark);
        }
      }
    }
    if (inBatch > 0) {
      stream = flush(stream, pending, inBatch);
    }
    return stream.advanceWatermarkToInfinity();
  }

  private static TestStream.Builder<RawRecord> flush(
      TestStream.Builder<RawRecord> stream, TimestampedValue<RawRecord>[] pending, int n) {
    TimestampedValue<RawRecord>[] rest = java.util.Arrays.copyOfRange(pending, 1, n);
    return stream.addElements(pending[0], rest);
  }

  /** The one-line description of a final session used by the expected files. */
  static String describe(Session s) {
    return s.userId()
        + " "
        + s.startTime()
        + ".."
        + s.endTime()
        + " events="
        + s.eventCount()
        + " views="
        + s.pageViewCount()
        + " clicks="
        + s.clickCount()
        + " purchases="
        + s.purchaseCount()
        + " revenue="
        + s.revenue().toPlainString()
        + " "
        + s.revenueByCurrency().entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue().toPlainString())
            .collect(Collectors.joining(", ", "{", "}"))
        + " entry="
        + s.entryPage()
        + " exit="
        + s.exitPage()
        + " pages="
        + s.pagesVisited();
  }
}
