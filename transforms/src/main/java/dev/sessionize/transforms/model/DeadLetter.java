package dev.sessionize.transforms.model;

import com.fasterxml.jackson.core.JsonGenerator;
import com.google.auto.value.AutoValue;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Base64;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * A rejected or too-late record: why, a human-readable detail, the original payload and where it
 * came from. Serialized with {@link #toJson()} as the dead-letter topic's record value.
 */
@AutoValue
@DefaultCoder(DeadLetter.DeadLetterCoder.class)
public abstract class DeadLetter {

  public abstract Reason reason();

  public abstract String detail();

  /** The record as it arrived (for TOO_LATE: the parsed event re-serialized as canonical JSON). */
  @SuppressWarnings("mutable")
  public abstract byte[] payload();

  public abstract @Nullable String sourceTopic();

  public abstract int sourcePartition();

  public abstract long sourceOffset();

  /** The {@code user_id} when it could be read; the dead-letter record's key. */
  public abstract @Nullable String userId();

  /** The event time when it could be read. */
  public abstract @Nullable Instant eventTime();

  /** Processing time of the rejection. */
  public abstract Instant rejectedAt();

  public abstract Builder toBuilder();

  public static Builder builder() {
    return new AutoValue_DeadLetter.Builder().setSourcePartition(-1).setSourceOffset(-1L);
  }

  /** Builder for {@link DeadLetter}. */
  @AutoValue.Builder
  public abstract static class Builder {
    public abstract Builder setReason(Reason value);

    public abstract Builder setDetail(String value);

    public abstract Builder setPayload(byte[] value);

    public abstract Builder setSourceTopic(@Nullable String value);

    public abstract Builder setSourcePartition(int value);

    public abstract Builder setSourceOffset(long value);

    public abstract Builder setUserId(@Nullable String value);

    public abstract Builder setEventTime(@Nullable Instant value);

    public abstract Builder setRejectedAt(Instant value);

    public abstract DeadLetter build();
  }

  /**
   * The dead-letter record of the spec: {@code reason, detail, payload, payload_encoding, source
   * {topic, partition, offset}, user_id, event_time, rejected_at}. The payload is the original
   * bytes as UTF-8 text, or base64 (with {@code payload_encoding = "base64"}) if they are not valid
   * UTF-8.
   */
  public String toJson() {
    StringWriter writer = new StringWriter();
    try (JsonGenerator g = Json.FACTORY.createGenerator(writer)) {
      g.writeStartObject();
      g.writeStringField("reason", reason().name());
      g.writeStringField("detail", detail());
      String text = Utf8.decodeStrict(payload());
      if (text != null) {
        g.writeStringField("payload", text);
        g.writeStringField("payload_encoding", "utf8");
      } else {
        g.writeStringField("payload", Base64.getEncoder().encodeToString(payload()));
        g.writeStringField("payload_encoding", "base64");
      }
      g.writeObjectFieldStart("source");
      if (sourceTopic() == null) {
        g.writeNullField("topic");
      } else {
        g.writeStringField("topic", sourceTopic());
      }
      g.writeNumberField("partition", sourcePartition());
      g.writeNumberField("offset", sourceOffset());
      g.writeEndObject();
      if (userId() == null) {
        g.writeNullField("user_id");
      } else {
        g.writeStringField("user_id", userId());
      }
      if (eventTime() == null) {
        g.writeNullField("event_time");
      } else {
        g.writeStringField("event_time", Json.formatInstant(eventTime()));
      }
      g.writeStringField("rejected_at", Json.formatInstant(rejectedAt()));
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return writer.toString();
  }

  /** Hand-written coder. */
  public static final class DeadLetterCoder extends CustomCoder<DeadLetter> {
    private static final DeadLetterCoder INSTANCE = new DeadLetterCoder();
    private static final Reason[] REASONS = Reason.values();

    public static DeadLetterCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(DeadLetter d, OutputStream out) throws IOException {
      Wire.writeVarInt(d.reason().ordinal(), out);
      Wire.writeString(d.detail(), out);
      Wire.writeBytes(d.payload(), out);
      Wire.writeNullableString(d.sourceTopic(), out);
      Wire.writeSignedVarLong(d.sourcePartition(), out);
      Wire.writeSignedVarLong(d.sourceOffset(), out);
      Wire.writeNullableString(d.userId(), out);
      Wire.writeNullableInstant(d.eventTime(), out);
      Wire.writeInstant(d.rejectedAt(), out);
    }

    @Override
    public DeadLetter decode(InputStream in) throws IOException {
      int ordinal = Wire.readVarInt(in);
      if (ordinal < 0 || ordinal >= REASONS.length) {
        throw new IOException("unknown dead-letter reason ordinal " + ordinal);
      }
      return builder()
          .setReason(REASONS[ordinal])
          .setDetail(Wire.readString(in))
          .setPayload(Wire.readBytes(in))
          .setSourceTopic(Wire.readNullableString(in))
          .setSourcePartition((int) Wire.readSignedVarLong(in))
          .setSourceOffset(Wire.readSignedVarLong(in))
          .setUserId(Wire.readNullableString(in))
          .setEventTime(Wire.readNullableInstant(in))
          .setRejectedAt(Wire.readInstant(in))
          .build();
    }

    @Override
    public void verifyDeterministic() {}
  }
}
