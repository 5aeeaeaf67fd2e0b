package dev.sessionize.bench.nativejob;

import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/** One emitted session (a Flink POJO), and the window function that makes it. */
public class SessionRow {
  public String userId;
  public long start;
  public long end;
  public long durationSeconds;
  public int events;
  public int pageViews;
  public int clicks;
  public int purchases;
  public long revenueCents;
  public boolean conversion;
  public String entryPage;
  public String exitPage;
  public String[] pages;

  public SessionRow() {}

  /** Adds the user and the session's bounds to the aggregate, at each firing of the window. */
  public static class Emit
      extends ProcessWindowFunction<SessionAggregate.Acc, SessionRow, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(
        String user,
        Context context,
        Iterable<SessionAggregate.Acc> aggregates,
        Collector<SessionRow> out) {
      SessionAggregate.Acc acc = aggregates.iterator().next();
      SessionRow row = new SessionRow();
      row.userId = user;
      row.start = acc.start;
      row.end = acc.end;
      row.durationSeconds = (acc.end - acc.start) / 1000;
      row.events = acc.events;
      row.pageViews = acc.pageViews;
      row.clicks = acc.clicks;
      row.purchases = acc.purchases;
      row.revenueCents = acc.revenueCents;
      row.conversion = acc.purchases > 0;
      row.entryPage = acc.entryPage;
      row.exitPage = acc.exitPage;
      row.pages = acc.pagesInVisitOrder();
      out.collect(row);
    }
  }
}
