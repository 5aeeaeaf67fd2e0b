package dev.sessionize.bench.nativejob;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;
import org.apache.datasketches.hll.Union;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.types.CopyableValue;
import org.apache.flink.util.Collector;

/**
 * The dashboard figures of one minute: counts by type, USD revenue in cents, unique users (an
 * Apache DataSketches HyperLogLog sketch, lgK = 12, as the Beam job's), and counts per page,
 * country and device. The accumulator is a Flink {@link CopyableValue} (its own compact
 * serialization, the sketch in its compact form), so Flink never falls back to Kryo.
 */
public class MinuteAggregate
    implements AggregateFunction<Click, MinuteAggregate.Acc, MinuteAggregate.Acc> {
  private static final long serialVersionUID = 1L;
  static final int LG_K = 12;

  /** The accumulator of one minute. */
  public static class Acc implements CopyableValue<Acc> {
    private static final long serialVersionUID = 1L;
    long events;
    long pageViews;
    long clicks;
    long purchases;
    long revenueCents;
    HllSketch users;
    Map<String, Long> pageViewsByPage = new HashMap<>();
    Map<String, Long> byCountry = new HashMap<>();
    Map<String, Long> byDevice = new HashMap<>();

    public Acc() {}

    @Override
    public void write(DataOutputView out) throws IOException {
      out.writeLong(events);
      out.writeLong(pageViews);
      out.writeLong(clicks);
      out.writeLong(purchases);
      out.writeLong(revenueCents);
      byte[] sketch = users == null ? new byte[0] : users.toCompactByteArray();
      out.writeInt(sketch.length);
      out.write(sketch);
      writeCounts(pageViewsByPage, out);
      writeCounts(byCountry, out);
      writeCounts(byDevice, out);
    }

    @Override
    public void read(DataInputView in) throws IOException {
      events = in.readLong();
      pageViews = in.readLong();
      clicks = in.readLong();
      purchases = in.readLong();
      revenueCents = in.readLong();
      byte[] sketch = new byte[in.readInt()];
      in.readFully(sketch);
      users = sketch.length == 0 ? null : HllSketch.heapify(sketch);
      pageViewsByPage = readCounts(in);
      byCountry = readCounts(in);
      byDevice = readCounts(in);
    }

    private static void writeCounts(Map<String, Long> counts, DataOutputView out)
        throws IOException {
      out.writeInt(counts.size());
      for (Map.Entry<String, Long> e : counts.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeLong(e.getValue());
      }
    }

    private static Map<String, Long> readCounts(DataInputView in) throws IOException {
      int n = in.readInt();
      Map<String, Long> counts = new HashMap<>(n * 2);
      for (int i = 0; i < n; i++) {
        counts.put(in.readUTF(), in.readLong());
      }
      return counts;
    }

    @Override
    public int getBinaryLength() {
      return -1;
    }

    @Override
    public void copyTo(Acc target) {
      target.events = events;
      target.pageViews = pageViews;
      target.clicks = clicks;
      target.purchases = purchases;
      target.revenueCents = revenueCents;
      target.users = users == null ? null : users.copy();
      target.pageViewsByPage = new HashMap<>(pageViewsByPage);
      target.byCountry = new HashMap<>(byCountry);
      target.byDevice = new HashMap<>(byDevice);
    }

    @Override
    public Acc copy() {
      Acc copy = new Acc();
      copyTo(copy);
      return copy;
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
      Acc acc = new Acc();
      acc.read(source);
      acc.write(target);
    }
  }

  @Override
  public Acc createAccumulator() {
    return new Acc();
  }

  @Override
  public Acc add(Click c, Acc acc) {
    acc.events++;
    switch (c.eventType) {
      case "page_view":
        acc.pageViews++;
        if (c.page != null) {
          acc.pageViewsByPage.merge(c.page, 1L, Long::sum);
        }
        break;
      case "click":
        acc.clicks++;
        break;
      case "purchase":
        acc.purchases++;
        acc.revenueCents += c.usdCents;
        break;
      default:
        break;
    }
    if (acc.users == null) {
      acc.users = new HllSketch(LG_K, TgtHllType.HLL_4);
    }
    acc.users.update(c.userId);
    acc.byCountry.merge(c.country == null ? "unknown" : c.country, 1L, Long::sum);
    acc.byDevice.merge(c.device == null ? "unknown" : c.device, 1L, Long::sum);
    return acc;
  }

  @Override
  public Acc getResult(Acc acc) {
    return acc;
  }

  @Override
  public Acc merge(Acc a, Acc b) {
    Acc m = a.copy();
    m.events += b.events;
    m.pageViews += b.pageViews;
    m.clicks += b.clicks;
    m.purchases += b.purchases;
    m.revenueCents += b.revenueCents;
    if (b.users != null) {
      Union union = new Union(LG_K);
      if (m.users != null) {
        union.update(m.users);
      }
      union.update(b.users);
      m.users = union.getResult(TgtHllType.HLL_4);
    }
    b.pageViewsByPage.forEach((k, v) -> m.pageViewsByPage.merge(k, v, Long::sum));
    b.byCountry.forEach((k, v) -> m.byCountry.merge(k, v, Long::sum));
    b.byDevice.forEach((k, v) -> m.byDevice.merge(k, v, Long::sum));
    return m;
  }

  /** One firing of a minute (a Flink POJO): the figures and the 10 most viewed pages. */
  public static class Row {
    public long windowStart;
    public long events;
    public long pageViews;
    public long clicks;
    public long purchases;
    public long revenueCents;
    public long uniqueUsers;
    public String[] topPages;
    public long[] topPageViews;

    public Row() {}
  }

  /** Makes the minute's row at each firing. */
  public static class Emit extends ProcessAllWindowFunction<Acc, Row, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(Context context, Iterable<Acc> aggregates, Collector<Row> out) {
      Acc acc = aggregates.iterator().next();
      Row row = new Row();
      row.windowStart = context.window().getStart();
      row.events = acc.events;
      row.pageViews = acc.pageViews;
      row.clicks = acc.clicks;
      row.purchases = acc.purchases;
      row.revenueCents = acc.revenueCents;
      row.uniqueUsers = acc.users == null ? 0 : Math.round(acc.users.getEstimate());
      List<Map.Entry<String, Long>> pages = new ArrayList<>(acc.pageViewsByPage.entrySet());
      pages.sort(
          Map.Entry.<String, Long>comparingByValue()
              .reversed()
              .thenComparing(Map.Entry.comparingByKey()));
      int n = Math.min(10, pages.size());
      row.topPages = new String[n];
      row.topPageViews = new long[n];
      for (int i = 0; i < n; i++) {
        row.topPages[i] = pages.get(i).getKey();
        row.topPageViews[i] = pages.get(i).getValue();
      }
      out.collect(row);
    }
  }
}
