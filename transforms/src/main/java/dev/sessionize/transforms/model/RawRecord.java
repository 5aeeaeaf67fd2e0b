package dev.sessionize.transforms.model;

import com.google.auto.value.AutoValue;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * One input record as a source delivered it: the raw bytes and where they came from (topic or file,
 * partition, offset). Sources at the edge of the pipeline produce these; {@code ParseEvents} turns
 * them into events or dead letters.
 */
@AutoValue
@DefaultCoder(RawRecord.RawRecordCoder.class)
public abstract class RawRecord {

  @SuppressWarnings("mutable")
  public abstract byte[] payload();

  /** Topic (or file) the record was read from; null when unknown. */
  public abstract @Nullable String sourceTopic();

  /** Partition, or -1 when unknown. */
  public abstract int sourcePartition();

  /** Offset (or line number), or -1 when unknown. */
  public abstract long sourceOffset();

  /**
   * The Kafka record's own timestamp (the producer's CreateTime or the broker's LogAppendTime, as
   * the topic is configured); null when the source has none (files, or a Kafka record without one).
   * Kept in the raw archive; the event time is the payload's {@code timestamp}, not this.
   */
  public abstract @Nullable Instant kafkaTimestamp();

  public static RawRecord of(byte[] payload) {
    return of(payload, null, -1, -1L);
  }

  public static RawRecord of(
      byte[] payload, @Nullable String sourceTopic, int sourcePartition, long sourceOffset) {
    return of(payload, sourceTopic, sourcePartition, sourceOffset, null);
  }

  public static RawRecord of(
      byte[] payload,
      @Nullable String sourceTopic,
      int sourcePartition,
      long sourceOffset,
      @Nullable Instant kafkaTimestamp) {
    return new AutoValue_RawRecord(
        payload, sourceTopic, sourcePartition, sourceOffset, kafkaTimestamp);
  }

  /**
   * Hand-written coder: the payload, the source position and the Kafka timestamp, no Java
   * serialization.
   */
  public static final class RawRecordCoder extends CustomCoder<RawRecord> {
    private static final RawRecordCoder INSTANCE = new RawRecordCoder();

    public static RawRecordCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(RawRecord value, OutputStream out) throws IOException {
      Wire.writeBytes(value.payload(), out);
      Wire.writeNullableString(value.sourceTopic(), out);
      Wire.writeSignedVarLong(value.sourcePartition(), out);
      Wire.writeSignedVarLong(value.sourceOffset(), out);
      Wire.writeNullableInstant(value.kafkaTimestamp(), out);
    }

    @Override
    public RawRecord decode(InputStream in) throws IOException {
      byte[] payload = Wire.readBytes(in);
      String topic = Wire.readNullableString(in);
      int partition = (int) Wire.readSignedVarLong(in);
      long offset = Wire.readSignedVarLong(in);
      Instant kafkaTimestamp = Wire.readNullableInstant(in);
      return RawRecord.of(payload, topic, partition, offset, kafkaTimestamp);
    }

    @Override
    public void verifyDeterministic() {}
  }
}
