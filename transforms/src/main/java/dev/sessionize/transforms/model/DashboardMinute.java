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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;
import org.joda.time.format.DateTimeFormat;
import org.joda.time.format.DateTimeFormatter;

/**
 * One firing of a dashboard window: the document stored at {@code dash:minute:<minute>}. Encoded by
 * {@link DashboardMinuteCoder} (no Java serialization).
 */
@AutoValue
@DefaultCoder(DashboardMinute.DashboardMinuteCoder.class)
public abstract class DashboardMinute {
  private static final DateTimeFormatter MINUTE =
      DateTimeFormat.forPattern("yyyy-MM-dd'T'HH:mm'Z'").withZoneUTC();
  private static final String KEY_PREFIX = "dash:minute:";

  public abstract Instant windowStart();

  public abstract long events();

  public abstract long pageViews();

  public abstract long clicks();

  public abstract long purchases();

  /** In the reporting currency, scale 2. */
  public abstract BigDecimal revenue();

  /** HyperLogLog estimate. */
  public abstract long uniqueUsers();

  public abstract long sessionsStarted();

  /** Most viewed pages, most views first (ties by page). */
  public abstract List<PageViews> topPages();

  /** Events per country, sorted by country. */
  public abstract Map<String, Long> byCountry();

  /** Events per device type, sorted by device type. */
  public abstract Map<String, Long> byDevice();

  /** Processing time of the firing. */
  public abstract Instant updatedAt();

  /** {@code yyyy-MM-ddTHH:mmZ} of the window start. */
  public String minute() {
    return MINUTE.print(windowStart());
  }

  /** The Redis key of this document: {@code dash:minute:<yyyy-MM-ddTHH:mmZ>}. */
  public String redisKey() {
    return keyFor(windowStart());
  }

  /** The Redis key of the minute starting at {@code windowStart}. */
  public static String keyFor(Instant windowStart) {
    return KEY_PREFIX + MINUTE.print(windowStart);
  }

  /**
   * The window start of a key made by {@link #keyFor} ({@code dash:minute:<yyyy-MM-ddTHH:mmZ>}), as
   * {@code dash:latest} holds it; null when {@code key} is not such a key.
   */
  public static @Nullable Instant windowStartOfKey(@Nullable String key) {
    if (key == null || !key.startsWith(KEY_PREFIX)) {
      return null;
    }
    try {
      Instant start = MINUTE.parseDateTime(key.substring(KEY_PREFIX.length())).toInstant();
      return keyFor(start).equals(key) ? start : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  public static Builder builder() {
    return new AutoValue_DashboardMinute.Builder();
  }

  public abstract Builder toBuilder();

  /** The document of the spec. */
  public String toJson() {
    StringWriter writer = new StringWriter();
    try (JsonGenerator g = Json.FACTORY.createGenerator(writer)) {
      g.writeStartObject();
      g.writeStringField("window_start", Json.formatInstant(windowStart()));
      g.writeNumberField("events", events());
      g.writeNumberField("page_views", pageViews());
      g.writeNumberField("clicks", clicks());
      g.writeNumberField("purchases", purchases());
      g.writeFieldName("revenue");
      g.writeNumber(revenue());
      g.writeNumberField("unique_users", uniqueUsers());
      g.writeNumberField("sessions_started", sessionsStarted());
      g.writeArrayFieldStart("top_pages");
      for (PageViews p : topPages()) {
        g.writeStartObject();
        g.writeStringField("page", p.page());
        g.writeNumberField("views", p.views());
        g.writeEndObject();
      }
      g.writeEndArray();
      writeCounts(g, "by_country", byCountry());
      writeCounts(g, "by_device", byDevice());
      g.writeStringField("updated_at", Json.formatInstant(updatedAt()));
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return writer.toString();
  }

  private static void writeCounts(JsonGenerator g, String field, Map<String, Long> counts)
      throws IOException {
    g.writeObjectFieldStart(field);
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      g.writeNumberField(e.getKey(), e.getValue());
    }
    g.writeEndObject();
  }

  /** Builder for {@link DashboardMinute}. */
  @AutoValue.Builder
  public abstract static class Builder {
    public abstract Builder setWindowStart(Instant value);

    public abstract Builder setEvents(long value);

    public abstract Builder setPageViews(long value);

    public abstract Builder setClicks(long value);

    public abstract Builder setPurchases(long value);

    public abstract Builder setRevenue(BigDecimal value);

    public abstract Builder setUniqueUsers(long value);

    public abstract Builder setSessionsStarted(long value);

    public abstract Builder setTopPages(List<PageViews> value);

    public abstract Builder setByCountry(Map<String, Long> value);

    public abstract Builder setByDevice(Map<String, Long> value);

    public abstract Builder setUpdatedAt(Instant value);

    public abstract DashboardMinute build();
  }

  /** A page and its views in the window. */
  @AutoValue
  public abstract static class PageViews {
    public abstract String page();

    public abstract long views();

    public static PageViews of(String page, long views) {
      return new AutoValue_DashboardMinute_PageViews(page, views);
    }
  }

  /**
   * Hand-written coder: the window start and the update time as signed varints of epoch millis,
   * counts as varints, the revenue as its scale and unscaled bytes, then the top pages in order and
   * the two count maps in key order (decoded into sorted maps, as {@code AggregateDashboard} builds
   * them).
   */
  public static final class DashboardMinuteCoder extends CustomCoder<DashboardMinute> {
    private static final DashboardMinuteCoder INSTANCE = new DashboardMinuteCoder();

    public static DashboardMinuteCoder of() {
      return INSTANCE;
    }

    /** What {@code @DefaultCoder} looks up: this coder for {@link DashboardMinute}. */
    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(DashboardMinute.class), INSTANCE);
    }

    @Override
    public void encode(DashboardMinute d, OutputStream out) throws IOException {
      Wire.writeInstant(d.windowStart(), out);
      Wire.writeVarLong(d.events(), out);
      Wire.writeVarLong(d.pageViews(), out);
      Wire.writeVarLong(d.clicks(), out);
      Wire.writeVarLong(d.purchases(), out);
      Wire.writeVarInt(d.revenue().scale(), out);
      Wire.writeBytes(d.revenue().unscaledValue().toByteArray(), out);
      Wire.writeVarLong(d.uniqueUsers(), out);
      Wire.writeVarLong(d.sessionsStarted(), out);
      Wire.writeVarInt(d.topPages().size(), out);
      for (PageViews p : d.topPages()) {
        Wire.writeString(p.page(), out);
        Wire.writeVarLong(p.views(), out);
      }
      writeCounts(d.byCountry(), out);
      writeCounts(d.byDevice(), out);
      Wire.writeInstant(d.updatedAt(), out);
    }

    @Override
    public DashboardMinute decode(InputStream in) throws IOException {
      Builder b =
          builder()
              .setWindowStart(Wire.readInstant(in))
              .setEvents(Wire.readVarLong(in))
              .setPageViews(Wire.readVarLong(in))
              .setClicks(Wire.readVarLong(in))
              .setPurchases(Wire.readVarLong(in));
      int scale = Wire.readVarInt(in);
      b.setRevenue(new BigDecimal(new BigInteger(Wire.readBytes(in)), scale))
          .setUniqueUsers(Wire.readVarLong(in))
          .setSessionsStarted(Wire.readVarLong(in));
      int pages = Wire.readVarInt(in);
      List<PageViews> top = new ArrayList<>(pages);
      for (int i = 0; i < pages; i++) {
        top.add(PageViews.of(Wire.readString(in), Wire.readVarLong(in)));
      }
      return b.setTopPages(top)
          .setByCountry(readCounts(in))
          .setByDevice(readCounts(in))
          .setUpdatedAt(Wire.readInstant(in))
          .build();
    }

    private static void writeCounts(Map<String, Long> counts, OutputStream out) throws IOException {
      Wire.writeVarInt(counts.size(), out);
      for (Map.Entry<String, Long> e : new TreeMap<>(counts).entrySet()) {
        Wire.writeString(e.getKey(), out);
        Wire.writeVarLong(e.getValue(), out);
      }
    }

    private static Map<String, Long> readCounts(InputStream in) throws IOException {
      int n = Wire.readVarInt(in);
      Map<String, Long> counts = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        counts.put(Wire.readString(in), Wire.readVarLong(in));
      }
      return counts;
    }

    @Override
    public void verifyDeterministic() {}
  }
}
