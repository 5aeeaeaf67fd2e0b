package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;
import org.apache.datasketches.hll.Union;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The running state of one dashboard window: counts by type, revenue in the reporting currency (in
 * cents), a HyperLogLog sketch of users (Apache DataSketches, lgK = 12, about 1.6 % standard
 * error), sessions opened, and exact counts per page, country and device.
 */
public final class DashboardAccumulator {
  static final int LG_K = 12;
  static final String UNKNOWN = "unknown";

  long events;
  long pageViews;
  long clicks;
  long purchases;
  long revenueCents;
  long sessionsStarted;
  @Nullable HllSketch users;
  final Map<String, Long> pageViewsByPage = new HashMap<>();
  final Map<String, Long> eventsByCountry = new HashMap<>();
  final Map<String, Long> eventsByDevice = new HashMap<>();

  void add(ClickEvent event, String reportingCurrency) {
    events++;
    switch (event.eventType()) {
      case ClickEvent.PAGE_VIEW:
        pageViews++;
        if (event.pageUrl() != null) {
          pageViewsByPage.merge(event.pageUrl(), 1L, Long::sum);
        }
        break;
      case ClickEvent.CLICK:
        clicks++;
        break;
      case ClickEvent.PURCHASE:
        purchases++;
        if (event.amount() != null && reportingCurrency.equals(event.currency())) {
          revenueCents =
              saturatedAdd(revenueCents, event.amount().movePointRight(2).longValueExact());
        }
        break;
      default:
        break;
    }
    if (event.opensSession()) {
      sessionsStarted++;
    }
    if (users == null) {
      users = new HllSketch(LG_K, TgtHllType.HLL_4);
    }
    users.update(event.userId());
    eventsByCountry.merge(orUnknown(event.country()), 1L, Long::sum);
    eventsByDevice.merge(orUnknown(event.deviceType()), 1L, Long::sum);
  }

  void merge(DashboardAccumulator other) {
    events += other.events;
    pageViews += other.pageViews;
    clicks += other.clicks;
    purchases += other.purchases;
    revenueCents = saturatedAdd(revenueCents, other.revenueCents);
    sessionsStarted += other.sessionsStarted;
    if (other.users != null) {
      if (users == null) {
        users = HllSketch.heapify(other.users.toCompactByteArray());
      } else {
        Union union = new Union(LG_K);
        union.update(users);
        union.update(other.users);
        users = union.getResult(TgtHllType.HLL_4);
      }
    }
    other.pageViewsByPage.forEach((k, v) -> pageViewsByPage.merge(k, v, Long::sum));
    other.eventsByCountry.forEach((k, v) -> eventsByCountry.merge(k, v, Long::sum));
    other.eventsByDevice.forEach((k, v) -> eventsByDevice.merge(k, v, Long::sum));
  }

  /**
   * The sketch's composite estimate, a function of its registers only, so of the set of users: its
   * default estimate ({@code getEstimate()}) is the HIP estimate of a sketch updated in one go and
   * the composite one after a union, so it depended on how the runner cut the minute into bundles
   * (2 969 or 2 928 for the same 3 000 users). The composite estimate's standard error at lgK 12 is
   * about 1.6 %; the HIP estimate's, about 1.3 %.
   */
  long uniqueUsers() {
    return users == null ? 0 : Math.round(users.getCompositeEstimate());
  }

  private static String orUnknown(@Nullable String value) {
    return value == null || value.isEmpty() ? UNKNOWN : value;
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return sum < a ? SessionAccumulator.MAX_CENTS : Math.min(sum, SessionAccumulator.MAX_CENTS);
  }

  /** Hand-written coder; the sketch travels in its compact serialized form. */
  public static final class Coder extends CustomCoder<DashboardAccumulator> {
    @Override
    public void encode(DashboardAccumulator a, OutputStream out) throws IOException {
      Wire.writeVarLong(a.events, out);
      Wire.writeVarLong(a.pageViews, out);
      Wire.writeVarLong(a.clicks, out);
      Wire.writeVarLong(a.purchases, out);
      Wire.writeVarLong(a.revenueCents, out);
      Wire.writeVarLong(a.sessionsStarted, out);
      Wire.writeBytes(a.users == null ? new byte[0] : a.users.toCompactByteArray(), out);
      writeCounts(a.pageViewsByPage, out);
      writeCounts(a.eventsByCountry, out);
      writeCounts(a.eventsByDevice, out);
    }

    @Override
    public DashboardAccumulator decode(InputStream in) throws IOException {
      DashboardAccumulator a = new DashboardAccumulator();
      a.events = Wire.readVarLong(in);
      a.pageViews = Wire.readVarLong(in);
      a.clicks = Wire.readVarLong(in);
      a.purchases = Wire.readVarLong(in);
      a.revenueCents = Wire.readVarLong(in);
      a.sessionsStarted = Wire.readVarLong(in);
      byte[] sketch = Wire.readBytes(in);
      a.users = sketch.length == 0 ? null : HllSketch.heapify(sketch);
      readCounts(a.pageViewsByPage, in);
      readCounts(a.eventsByCountry, in);
      readCounts(a.eventsByDevice, in);
      return a;
    }

    private static void writeCounts(Map<String, Long> counts, OutputStream out) throws IOException {
      Wire.writeVarInt(counts.size(), out);
      for (Map.Entry<String, Long> e : counts.entrySet()) {
        Wire.writeString(e.getKey(), out);
        Wire.writeVarLong(e.getValue(), out);
      }
    }

    private static void readCounts(Map<String, Long> counts, InputStream in) throws IOException {
      int n = Wire.readVarInt(in);
      for (int i = 0; i < n; i++) {
        counts.put(Wire.readString(in), Wire.readVarLong(in));
      }
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Coder;
    }

    @Override
    public int hashCode() {
      return Coder.class.hashCode();
    }
  }
}
