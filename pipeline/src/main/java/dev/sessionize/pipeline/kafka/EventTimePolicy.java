package dev.sessionize.pipeline.kafka;

import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.EventParser;
import java.util.Optional;
import org.apache.beam.sdk.io.kafka.KafkaRecord;
import org.apache.beam.sdk.io.kafka.TimestampPolicy;
import org.apache.beam.sdk.io.kafka.TimestampPolicyFactory;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.kafka.common.TopicPartition;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Event-time watermarks at the source, per Kafka partition: a record's timestamp is its event time
 * when the record passes validation (a rejected record gets the current watermark and never moves
 * it), the watermark is the largest event time seen minus the bounded out-of-orderness, and a
 * partition that is caught up and has had no record for the idle timeout advances to processing
 * time minus the out-of-orderness, so it does not hold the job back. KafkaIO takes the minimum over
 * the partitions a reader owns, so an idle partition can never pull the watermark past data still
 * flowing on another one.
 */
final class EventTimePolicy extends TimestampPolicy<byte[], byte[]> {
  private final EventParser parser;
  private final Duration maxOutOfOrderness;
  private final Duration idleTimeout;
  private final Clock clock;
  private Instant maxEventTime = BoundedWindow.TIMESTAMP_MIN_VALUE;
  private Instant watermark;
  private Instant lastRecordAt;

  EventTimePolicy(
      EventParser parser,
      Duration maxOutOfOrderness,
      Duration idleTimeout,
      Clock clock,
      Optional<Instant> previousWatermark) {
    this.parser = parser;
    this.maxOutOfOrderness = maxOutOfOrderness;
    this.idleTimeout = idleTimeout;
    this.clock = clock;
    this.watermark = previousWatermark.orElse(BoundedWindow.TIMESTAMP_MIN_VALUE);
    this.lastRecordAt = clock.now();
  }

  static TimestampPolicyFactory<byte[], byte[]> factory(
      EventParser parser, Duration maxOutOfOrderness, Duration idleTimeout, Clock clock) {
    return (TopicPartition partition, Optional<Instant> previousWatermark) ->
        new EventTimePolicy(parser, maxOutOfOrderness, idleTimeout, clock, previousWatermark);
  }

  @Override
  public Instant getTimestampForRecord(
      PartitionContext context, KafkaRecord<byte[], byte[]> record) {
    Instant now = clock.now();
    lastRecordAt = now;
    byte[] value = record.getKV().getValue();
    EventParser.Outcome outcome = parser.parse(value == null ? new byte[0] : value, now);
    if (!outcome.isValid()) {
      return watermark;
    }
    Instant eventTime = outcome.event.timestamp();
    if (eventTime.isAfter(maxEventTime)) {
      maxEventTime = eventTime;
      Instant candidate = maxEventTime.minus(maxOutOfOrderness);
      if (candidate.isAfter(watermark)) {
        watermark = candidate;
      }
    }
    return eventTime;
  }

  @Override
  public Instant getWatermark(PartitionContext context) {
    Instant now = clock.now();
    if (context.getMessageBacklog() == 0 && !now.isBefore(lastRecordAt.plus(idleTimeout))) {
      Instant idle = now.minus(maxOutOfOrderness);
      if (idle.isAfter(watermark)) {
        watermark = idle;
      }
    }
    return watermark;
  }
}
