package dev.sessionize.pipeline;

import dev.sessionize.transforms.model.Session;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.joda.time.Instant;

/** The sessions table read back with IcebergGenerics, for the tests that compare it. */
public final class SessionRows {
  private SessionRows() {}

  /** The table's current rows by session_id; fails on a second row for a session_id. */
  public static Map<String, Record> byId(Table table) throws Exception {
    table.refresh();
    Map<String, Record> rows = new TreeMap<>();
    if (table.currentSnapshot() == null) {
      return rows;
    }
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        if (rows.put((String) r.getField("session_id"), r) != null) {
          throw new AssertionError("two rows for session " + r.getField("session_id"));
        }
      }
    }
    return rows;
  }

  /** Rows as "user start end events", the form of {@link SessionModel}. */
  public static List<String> describe(Map<String, Record> rows) {
    List<String> out = new ArrayList<>();
    for (Record r : rows.values()) {
      out.add(
          r.getField("user_id")
              + " "
              + instant(r.getField("start_time"))
              + " "
              + instant(r.getField("end_time"))
              + " "
              + r.getField("event_count"));
    }
    return out;
  }

  private static Instant instant(Object time) {
    return Instant.ofEpochMilli(((OffsetDateTime) time).toInstant().toEpochMilli());
  }

  /**
   * A session row as the streaming job could have written it: one page ("/"), page views only, no
   * revenue, emitted at a fixed time.
   */
  public static Session session(
      String user,
      Instant start,
      Instant end,
      int events,
      int version,
      boolean fin,
      String... superseded) {
    return Session.builder()
        .setSessionId(Session.idFor(user, start))
        .setUserId(user)
        .setClientSessionId(null)
        .setStartTime(start)
        .setEndTime(end)
        .setDurationSeconds((end.getMillis() - start.getMillis()) / 1000)
        .setEventCount(events)
        .setPageViewCount(events)
        .setClickCount(0)
        .setPurchaseCount(0)
        .setPagesVisited(List.of("/"))
        .setEntryPage("/")
        .setExitPage("/")
        .setReferrer(null)
        .setDeviceType(null)
        .setCountry(null)
        .setConversion(false)
        .setRevenue(new BigDecimal("0.00"))
        .setRevenueByCurrency(Map.of())
        .setVersion(version)
        .setIsFinal(fin)
        .setEmittedAt(Instant.parse("2026-11-26T10:00:00Z"))
        .setSupersededSessionIds(List.of(superseded))
        .build();
  }
}
