package dev.sessionize.transforms.model;

import com.fasterxml.jackson.core.JsonGenerator;
import com.google.auto.value.AutoValue;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;
import org.joda.time.format.DateTimeFormat;
import org.joda.time.format.DateTimeFormatter;

/**
 * One emission of a session: a row of the {@code sessions} table (see the spec for the column
 * rules) plus the ids of earlier rows it replaces.
 */
@AutoValue
@DefaultCoder(Session.SessionCoder.class)
public abstract class Session {
  private static final DateTimeFormatter ID_TIME =
      DateTimeFormat.forPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZoneUTC();

  public abstract String sessionId();

  public abstract String userId();

  public abstract @Nullable String clientSessionId();

  public abstract Instant startTime();

  public abstract Instant endTime();

  public abstract long durationSeconds();

  public abstract int eventCount();

  public abstract int pageViewCount();

  public abstract int clickCount();

  public abstract int purchaseCount();

  public abstract List<String> pagesVisited();

  public abstract @Nullable String entryPage();

  public abstract @Nullable String exitPage();

  public abstract @Nullable String referrer();

  public abstract @Nullable String deviceType();

  public abstract @Nullable String country();

  public abstract boolean conversion();

  /** Sum of purchase amounts in the reporting currency, scale 2. */
  public abstract BigDecimal revenue();

  /** Sums per currency, scale 2, sorted by currency. */
  public abstract Map<String, BigDecimal> revenueByCurrency();

  /**
   * 0 for the first emission of a session, +1 for each re-emission; a session that replaces others
   * (a merge, a moved start) continues from the highest version among them.
   */
  public abstract int version();

  /** True once no more late data can change this session. */
  public abstract boolean isFinal();

  /** Processing time of the emission. */
  public abstract Instant emittedAt();

  /**
   * Ids of earlier emitted sessions that this one replaces: late data merged them into this one or
   * moved their start. Their rows must be deleted when this row is written.
   */
  public abstract List<String> supersededSessionIds();

  public abstract Builder toBuilder();

  public static Builder builder() {
    return new AutoValue_Session.Builder().setSupersededSessionIds(List.of());
  }

  /**
   * The deterministic id of a user's session starting at {@code start}: {@code
   * yyyyMMddTHHmmssSSSZ-<24 hex digits of SHA-256(user_id)>}. Its prefix is the start time, so the
   * partition of any session id can be derived from the id alone ({@link #startOf}).
   */
  public static String idFor(String userId, Instant start) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(userId.getBytes(StandardCharsets.UTF_8));
      StringBuilder id = new StringBuilder(44).append(ID_TIME.print(start)).append('-');
      for (int i = 0; i < 12; i++) {
        id.append(Character.forDigit((digest[i] >> 4) & 0xF, 16))
            .append(Character.forDigit(digest[i] & 0xF, 16));
      }
      return id.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  /** The start time encoded in a session id made by {@link #idFor}. */
  public static Instant startOf(String sessionId) {
    return ID_TIME.parseDateTime(sessionId.substring(0, sessionId.indexOf('-'))).toInstant();
  }

  /** The row as one JSON object with the column names of the spec. */
  public String toJson() {
    StringWriter writer = new StringWriter();
    try (JsonGenerator g = Json.FACTORY.createGenerator(writer)) {
      g.writeStartObject();
      g.writeStringField("session_id", sessionId());
      g.writeStringField("user_id", userId());
      writeNullable(g, "client_session_id", clientSessionId());
      g.writeStringField("start_time", Json.formatInstant(startTime()));
      g.writeStringField("end_time", Json.formatInstant(endTime()));
      g.writeNumberField("duration_seconds", durationSeconds());
      g.writeNumberField("event_count", eventCount());
      g.writeNumberField("page_view_count", pageViewCount());
      g.writeNumberField("click_count", clickCount());
      g.writeNumberField("purchase_count", purchaseCount());
      g.writeArrayFieldStart("pages_visited");
      for (String page : pagesVisited()) {
        g.writeString(page);
      }
      g.writeEndArray();
      writeNullable(g, "entry_page", entryPage());
      writeNullable(g, "exit_page", exitPage());
      writeNullable(g, "referrer", referrer());
      writeNullable(g, "device_type", deviceType());
      writeNullable(g, "country", country());
      g.writeBooleanField("conversion", conversion());
      g.writeFieldName("revenue");
      g.writeNumber(revenue());
      g.writeObjectFieldStart("revenue_by_currency");
      for (Map.Entry<String, BigDecimal> e : revenueByCurrency().entrySet()) {
        g.writeFieldName(e.getKey());
        g.writeNumber(e.getValue());
      }
      g.writeEndObject();
      g.writeNumberField("version", version());
      g.writeBooleanField("is_final", isFinal());
      g.writeStringField("emitted_at", Json.formatInstant(emittedAt()));
      g.writeArrayFieldStart("superseded_session_ids");
      for (String id : supersededSessionIds()) {
        g.writeString(id);
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return writer.toString();
  }

  private static void writeNullable(JsonGenerator g, String field, @Nullable String value)
      throws IOException {
    if (value == null) {
      g.writeNullField(field);
    } else {
      g.writeStringField(field, value);
    }
  }

  /** Builder for {@link Session}. */
  @AutoValue.Builder
  public abstract static class Builder {
    public abstract Builder setSessionId(String value);

    public abstract Builder setUserId(String value);

    public abstract Builder setClientSessionId(@Nullable String value);

    public abstract Builder setStartTime(Instant value);

    public abstract Builder setEndTime(Instant value);

    public abstract Builder setDurationSeconds(long value);

    public abstract Builder setEventCount(int value);

    public abstract Builder setPageViewCount(int value);

    public abstract Builder setClickCount(int value);

    public abstract Builder setPurchaseCount(int value);

    public abstract Builder setPagesVisited(List<String> value);

    public abstract Builder setEntryPage(@Nullable String value);

    public abstract Builder setExitPage(@Nullable String value);

    public abstract Builder setReferrer(@Nullable String value);

    public abstract Builder setDeviceType(@Nullable String value);

    public abstract Builder setCountry(@Nullable String value);

    public abstract Builder setConversion(boolean value);

    public abstract Builder setRevenue(BigDecimal value);

    public abstract Builder setRevenueByCurrency(Map<String, BigDecimal> value);

    public abstract Builder setVersion(int value);

    public abstract Builder setIsFinal(boolean value);

    public abstract Builder setEmittedAt(Instant value);

    public abstract Builder setSupersededSessionIds(List<String> value);

    public abstract Session build();
  }

  /** Hand-written coder. */
  public static final class SessionCoder extends CustomCoder<Session> {
    private static final SessionCoder INSTANCE = new SessionCoder();

    public static SessionCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Session s, OutputStream out) throws IOException {
      Wire.writeString(s.sessionId(), out);
      Wire.writeString(s.userId(), out);
      Wire.writeNullableString(s.clientSessionId(), out);
      Wire.writeInstant(s.startTime(), out);
      Wire.writeInstant(s.endTime(), out);
      Wire.writeVarLong(s.durationSeconds(), out);
      Wire.writeVarInt(s.eventCount(), out);
      Wire.writeVarInt(s.pageViewCount(), out);
      Wire.writeVarInt(s.clickCount(), out);
      Wire.writeVarInt(s.purchaseCount(), out);
      writeStrings(s.pagesVisited(), out);
      Wire.writeNullableString(s.entryPage(), out);
      Wire.writeNullableString(s.exitPage(), out);
      Wire.writeNullableString(s.referrer(), out);
      Wire.writeNullableString(s.deviceType(), out);
      Wire.writeNullableString(s.country(), out);
      Wire.writeBoolean(s.conversion(), out);
      writeDecimal(s.revenue(), out);
      Wire.writeVarInt(s.revenueByCurrency().size(), out);
      for (Map.Entry<String, BigDecimal> e : s.revenueByCurrency().entrySet()) {
        Wire.writeString(e.getKey(), out);
        writeDecimal(e.getValue(), out);
      }
      Wire.writeVarInt(s.version(), out);
      Wire.writeBoolean(s.isFinal(), out);
      Wire.writeInstant(s.emittedAt(), out);
      writeStrings(s.supersededSessionIds(), out);
    }

    @Override
    public Session decode(InputStream in) throws IOException {
      Builder b =
          builder()
              .setSessionId(Wire.readString(in))
              .setUserId(Wire.readString(in))
              .setClientSessionId(Wire.readNullableString(in))
              .setStartTime(Wire.readInstant(in))
              .setEndTime(Wire.readInstant(in))
              .setDurationSeconds(Wire.readVarLong(in))
              .setEventCount(Wire.readVarInt(in))
              .setPageViewCount(Wire.readVarInt(in))
              .setClickCount(Wire.readVarInt(in))
              .setPurchaseCount(Wire.readVarInt(in))
              .setPagesVisited(readStrings(in))
              .setEntryPage(Wire.readNullableString(in))
              .setExitPage(Wire.readNullableString(in))
              .setReferrer(Wire.readNullableString(in))
              .setDeviceType(Wire.readNullableString(in))
              .setCountry(Wire.readNullableString(in))
              .setConversion(Wire.readBoolean(in))
              .setRevenue(readDecimal(in));
      int currencies = Wire.readVarInt(in);
      TreeMap<String, BigDecimal> byCurrency = new TreeMap<>();
      for (int i = 0; i < currencies; i++) {
        byCurrency.put(Wire.readString(in), readDecimal(in));
      }
      return b.setRevenueByCurrency(byCurrency)
          .setVersion(Wire.readVarInt(in))
          .setIsFinal(Wire.readBoolean(in))
          .setEmittedAt(Wire.readInstant(in))
          .setSupersededSessionIds(readStrings(in))
          .build();
    }

    private static void writeStrings(List<String> values, OutputStream out) throws IOException {
      Wire.writeVarInt(values.size(), out);
      for (String v : values) {
        Wire.writeString(v, out);
      }
    }

    private static List<String> readStrings(InputStream in) throws IOException {
      int n = Wire.readVarInt(in);
      List<String> values = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        values.add(Wire.readString(in));
      }
      return values;
    }

    private static void writeDecimal(BigDecimal value, OutputStream out) throws IOException {
      Wire.writeVarInt(value.scale(), out);
      Wire.writeBytes(value.unscaledValue().toByteArray(), out);
    }

    private static BigDecimal readDecimal(InputStream in) throws IOException {
      int scale = Wire.readVarInt(in);
      return new BigDecimal(new BigInteger(Wire.readBytes(in)), scale);
    }

    @Override
    public void verifyDeterministic() {}
  }
}
