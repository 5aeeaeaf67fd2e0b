package dev.sessionize.bench.nativejob;

import java.util.Arrays;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * A session's running summary, as a Flink user writes it: counts by type, revenue in cents, start
 * and end in event time with the pages of the earliest and the latest event, and the distinct pages
 * with their first visit (capped). {@code merge} combines two sessions whatever their order, for
 * the merging session windows.
 */
public class SessionAggregate
    implements AggregateFunction<Click, SessionAggregate.Acc, SessionAggregate.Acc> {
  private static final long serialVersionUID = 1L;
  static final int MAX_PAGES = 200;

  /** The accumulator: a Flink POJO (public fields, arrays of basic types), no Kryo. */
  public static class Acc {
    public long start = Long.MAX_VALUE;
    public long end = Long.MIN_VALUE;
    public int events;
    public int pageViews;
    public int clicks;
    public int purchases;
    public long revenueCents;
    public String entryPage;
    public String exitPage;
    public int pageCount;
    public String[] pages = new String[4];
    public long[] firstVisits = new long[4];

    public Acc() {}

    void visit(String page, long time) {
      for (int i = 0; i < pageCount; i++) {
        if (pages[i].equals(page)) {
          firstVisits[i] = Math.min(firstVisits[i], time);
          return;
        }
      }
      if (pageCount == MAX_PAGES) {
        return;
      }
      if (pageCount == pages.length) {
        pages = Arrays.copyOf(pages, pageCount * 2);
        firstVisits = Arrays.copyOf(firstVisits, pageCount * 2);
      }
      pages[pageCount] = page;
      firstVisits[pageCount] = time;
      pageCount++;
    }

    /** The distinct pages in order of first visit. */
    String[] pagesInVisitOrder() {
      Integer[] order = new Integer[pageCount];
      for (int i = 0; i < pageCount; i++) {
        order[i] = i;
      }
      Arrays.sort(order, (a, b) -> Long.compare(firstVisits[a], firstVisits[b]));
      String[] out = new String[pageCount];
      for (int i = 0; i < pageCount; i++) {
        out[i] = pages[order[i]];
      }
      return out;
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
    if (c.timestamp < acc.start) {
      acc.start = c.timestamp;
      acc.entryPage = c.page;
    }
    if (c.timestamp >= acc.end) {
      acc.end = c.timestamp;
      acc.exitPage = c.page;
    }
    if (c.page != null) {
      acc.visit(c.page, c.timestamp);
    }
    return acc;
  }

  @Override
  public Acc getResult(Acc acc) {
    return acc;
  }

  @Override
  public Acc merge(Acc a, Acc b) {
    Acc m = new Acc();
    m.events = a.events + b.events;
    m.pageViews = a.pageViews + b.pageViews;
    m.clicks = a.clicks + b.clicks;
    m.purchases = a.purchases + b.purchases;
    m.revenueCents = a.revenueCents + b.revenueCents;
    Acc first = a.start <= b.start ? a : b;
    Acc last = a.end >= b.end ? a : b;
    m.start = first.start;
    m.entryPage = first.entryPage;
    m.end = last.end;
    m.exitPage = last.exitPage;
    for (Acc side : new Acc[] {a, b}) {
      for (int i = 0; i < side.pageCount; i++) {
        m.visit(side.pages[i], side.firstVisits[i]);
      }
    }
    return m;
  }
}
