package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import java.util.EnumMap;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * JSON records to {@link ClickEvent}s. Returns a {@link PCollectionTuple}: {@link #VALID} events
 * (with the source's timestamp: {@link JudgeLateness} stamps the event time) and {@link
 * #DEAD_LETTER}s with a reason, a detail and the original payload. Never throws on data. Counts
 * {@code records_read}, {@code valid} and one {@code dead_letter_<REASON>} counter per reason in
 * the {@link SessionizeMetrics#NAMESPACE}.
 */
public class ParseEvents extends PTransform<PCollection<RawRecord>, PCollectionTuple> {
  public static final TupleTag<ClickEvent> VALID = new TupleTag<ClickEvent>("valid") {};
  public static final TupleTag<DeadLetter> DEAD_LETTER = new TupleTag<DeadLetter>("deadLetter") {};

  public static final int DEFAULT_MAX_RECORD_BYTES = 64 * 1024;
  public static final Duration DEFAULT_MAX_FUTURE_SKEW = Duration.standardMinutes(5);

  private final int maxRecordBytes;
  private final Duration maxFutureSkew;
  private final Clock clock;

  private ParseEvents(int maxRecordBytes, Duration maxFutureSkew, Clock clock) {
    this.maxRecordBytes = maxRecordBytes;
    this.maxFutureSkew = maxFutureSkew;
    this.clock = clock;
  }

  public static ParseEvents create() {
    return new ParseEvents(DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_FUTURE_SKEW, Clock.system());
  }

  public ParseEvents withMaxRecordBytes(int bytes) {
    return new ParseEvents(bytes, maxFutureSkew, clock);
  }

  public ParseEvents withMaxFutureSkew(Duration skew) {
    return new ParseEvents(maxRecordBytes, skew, clock);
  }

  /** Processing time for FUTURE_TIMESTAMP and {@code rejected_at}; tests pin it. */
  public ParseEvents withClock(Clock clock) {
    return new ParseEvents(maxRecordBytes, maxFutureSkew, clock);
  }

  @Override
  public PCollectionTuple expand(PCollection<RawRecord> input) {
    PCollectionTuple result =
        input.apply(
            "ParseJson",
            ParDo.of(new ParseFn(new EventParser(maxRecordBytes, maxFutureSkew), clock))
                .withOutputTags(VALID, TupleTagList.of(DEAD_LETTER)));
    result.get(VALID).setCoder(ClickEvent.ClickEventCoder.of());
    result.get(DEAD_LETTER).setCoder(DeadLetter.DeadLetterCoder.of());
    return result;
  }

  static class ParseFn extends DoFn<RawRecord, ClickEvent> {
    private final EventParser parser;
    private final Clock clock;
    private final Counter read = SessionizeMetrics.counter("records_read");
    private final Counter valid = SessionizeMetrics.counter("valid");
    private final Map<Reason, Counter> rejected = new EnumMap<>(Reason.class);

    ParseFn(EventParser parser, Clock clock) {
      this.parser = parser;
      this.clock = clock;
      for (Reason reason : Reason.values()) {
        rejected.put(reason, SessionizeMetrics.deadLetters(reason));
      }
    }

    @ProcessElement
    public void process(@Element RawRecord record, MultiOutputReceiver out) {
      read.inc();
      Instant now = clock.now();
      EventParser.Outcome outcome = parser.parse(record.payload(), now);
      if (outcome.event != null) {
        valid.inc();
        ClickEvent event =
            outcome.event.toBuilder()
                .setSourceTopic(record.sourceTopic())
                .setSourcePartition(record.sourcePartition())
                .setSourceOffset(record.sourceOffset())
                .setPayload(record.payload())
                .build();
        // Keeps the source's timestamp: JudgeLateness stamps the event time, after it has put a
        // bounded input in offset order (an element may move forward in time, never back).
        out.get(VALID).output(event);
        return;
      }
      rejected.get(outcome.reason).inc();
      // The dead letter holds the record's exact bytes, whatever its size: the dead-letter sink
      // decides how to hold a record too big for it, never this step.
      byte[] payload = record.payload();
      String detail = outcome.detail;
      out.get(DEAD_LETTER)
          .output(
              DeadLetter.builder()
                  .setReason(outcome.reason)
                  .setDetail(detail)
                  .setPayload(payload)
                  .setSourceTopic(record.sourceTopic())
                  .setSourcePartition(record.sourcePartition())
                  .setSourceOffset(record.sourceOffset())
                  .setUserId(outcome.userId)
                  .setEventTime(outcome.eventTime)
                  .setRejectedAt(now)
                  .build());
    }
  }
}
