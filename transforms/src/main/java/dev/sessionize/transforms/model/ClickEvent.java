package dev.sessionize.transforms.model;

import com.google.auto.value.AutoValue;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/** One validated click event. Immutable; built by {@code ParseEvents}. */
@AutoValue
@DefaultCoder(ClickEvent.ClickEventCoder.class)
public abstract class ClickEvent {
  public static final String PAGE_VIEW = "page_view";
  public static final String CLICK = "click";
  public static final String PURCHASE = "purchase";
  public static final String DEFAULT_CURRENCY = "USD";

  public abstract String userId();

  public abstract @Nullable String eventId();

  /** Verbatim; only {@code page_view}, {@code click} and {@code purchase} have counters. */
  public abstract String eventType();

  public abstract Instant timestamp();

  /** The client's own session id ({@code session_id} in the input). */
  public abstract @Nullable String clientSessionId();

  public abstract @Nullable String pageUrl();

  public abstract @Nullable String referrer();

  public abstract @Nullable String deviceType();

  public abstract @Nullable String country();

  /** {@code metadata.amount}, exact, at most 2 decimal places, never negative. */
  public abstract @Nullable BigDecimal amount();

  /** ISO-4217 code, upper case; {@code USD} when the input has none. */
  public abstract String currency();

  /**
   * True when this event opened a new session for its user as far as could be told on arrival (no
   * earlier accepted event of the user within the gap). Set by {@code DedupEvents}; feeds the
   * dashboard's live {@code sessions_started}. The Iceberg table is the exact count.
   */
  public abstract boolean opensSession();

  /** Where the record came from, kept for dead letters raised after parsing (TOO_LATE). */
  public abstract @Nullable String sourceTopic();

  public abstract int sourcePartition();

  public abstract long sourceOffset();

  /**
   * The record's exact bytes, carried from {@code ParseEvents} to the lateness gate ({@code
   * JudgeLateness}) so that a TOO_LATE dead letter holds the record itself; the gate drops them, so
   * they never travel further. Null for events that did not come from a record.
   */
  @SuppressWarnings("mutable")
  public abstract byte @Nullable [] payload();

  /**
   * The lateness gate's horizon when this event passed it: the larger of its partition's stream
   * time minus the out-of-orderness and the runner's watermark ({@code JudgeLateness}), or {@link
   * Long#MIN_VALUE} when no gate judged it. The sessions step treats every session that expired at
   * or before this horizon as final for this event, so whether a late event joins a session does
   * not depend on how far the runner's watermark happened to be.
   */
  public abstract long gateWatermark();

  /** True when a gate judged this event ({@link #gateWatermark()} is set). */
  public boolean hasGateWatermark() {
    return gateWatermark() != Long.MIN_VALUE;
  }

  public boolean isPurchase() {
    return PURCHASE.equals(eventType());
  }

  public static Builder builder() {
    return new AutoValue_ClickEvent.Builder()
        .setCurrency(DEFAULT_CURRENCY)
        .setOpensSession(false)
        .setSourcePartition(-1)
        .setSourceOffset(-1L)
        .setPayload(null)
        .setGateWatermark(Long.MIN_VALUE);
  }

  public abstract Builder toBuilder();

  /** Builder for {@link ClickEvent}. */
  @AutoValue.Builder
  public abstract static class Builder {
    public abstract Builder setUserId(String value);

    public abstract Builder setEventId(@Nullable String value);

    public abstract Builder setEventType(String value);

    public abstract Builder setTimestamp(Instant value);

    public abstract Builder setClientSessionId(@Nullable String value);

    public abstract Builder setPageUrl(@Nullable String value);

    public abstract Builder setReferrer(@Nullable String value);

    public abstract Builder setDeviceType(@Nullable String value);

    public abstract Builder setCountry(@Nullable String value);

    public abstract Builder setAmount(@Nullable BigDecimal value);

    public abstract Builder setCurrency(String value);

    public abstract Builder setOpensSession(boolean value);

    public abstract Builder setSourceTopic(@Nullable String value);

    public abstract Builder setSourcePartition(int value);

    public abstract Builder setSourceOffset(long value);

    public abstract Builder setPayload(byte @Nullable [] value);

    public abstract Builder setGateWatermark(long value);

    public abstract ClickEvent build();
  }

  /** Hand-written coder: the hot element type, so no schema or Java serialization here. */
  public static final class ClickEventCoder extends CustomCoder<ClickEvent> {
    private static final ClickEventCoder INSTANCE = new ClickEventCoder();

    public static ClickEventCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(ClickEvent e, OutputStream out) throws IOException {
      Wire.writeString(e.userId(), out);
      Wire.writeNullableString(e.eventId(), out);
      Wire.writeString(e.eventType(), out);
      Wire.writeInstant(e.timestamp(), out);
      Wire.writeNullableString(e.clientSessionId(), out);
      Wire.writeNullableString(e.pageUrl(), out);
      Wire.writeNullableString(e.referrer(), out);
      Wire.writeNullableString(e.deviceType(), out);
      Wire.writeNullableString(e.country(), out);
      Wire.writeNullableDecimal(e.amount(), out);
      Wire.writeString(e.currency(), out);
      Wire.writeBoolean(e.opensSession(), out);
      Wire.writeNullableString(e.sourceTopic(), out);
      Wire.writeSignedVarLong(e.sourcePartition(), out);
      Wire.writeSignedVarLong(e.sourceOffset(), out);
      byte[] payload = e.payload();
      Wire.writeBoolean(payload != null, out);
      if (payload != null) {
        Wire.writeBytes(payload, out);
      }
      Wire.writeBoolean(e.hasGateWatermark(), out);
      if (e.hasGateWatermark()) {
        Wire.writeSignedVarLong(e.gateWatermark(), out);
      }
    }

    @Override
    public ClickEvent decode(InputStream in) throws IOException {
      return builder()
          .setUserId(Wire.readString(in))
          .setEventId(Wire.readNullableString(in))
          .setEventType(Wire.readString(in))
          .setTimestamp(Wire.readInstant(in))
          .setClientSessionId(Wire.readNullableString(in))
          .setPageUrl(Wire.readNullableString(in))
          .setReferrer(Wire.readNullableString(in))
          .setDeviceType(Wire.readNullableString(in))
          .setCountry(Wire.readNullableString(in))
          .setAmount(Wire.readNullableDecimal(in))
          .setCurrency(Wire.readString(in))
          .setOpensSession(Wire.readBoolean(in))
          .setSourceTopic(Wire.readNullableString(in))
          .setSourcePartition((int) Wire.readSignedVarLong(in))
          .setSourceOffset(Wire.readSignedVarLong(in))
          .setPayload(Wire.readBoolean(in) ? Wire.readBytes(in) : null)
          .setGateWatermark(Wire.readBoolean(in) ? Wire.readSignedVarLong(in) : Long.MIN_VALUE)
          .build();
    }

    @Override
    public void verifyDeterministic() {}
  }
}
