package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.model.Session;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;
import org.joda.time.Instant;

/** The sessions table read back with IcebergGenerics, for the tests that compare it. */
public final class SessionRows {
  private SessionRows() {}

  /** Every current row of the table. */
  public static List<Record> all(Table table) throws Exception {
    table.refresh();
    List<Record> rows = new ArrayList<>();
    if (table.currentSnapshot() == null) {
      return rows;
    }
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        rows.add(r.copy());
      }
    }
    return rows;
  }

  /** The table's current rows by session_id; fails on a second row for a session_id. */
  public static Map<String, Record> byId(Table table) throws Exception {
    Map<String, Record> rows = new TreeMap<>();
    for (Record r : all(table)) {
      if (rows.put((String) r.getField("session_id"), r) != null) {
        throw new AssertionError("two rows for session " + r.getField("session_id"));
      }
    }
    return rows;
  }

  /** Rows as "user start end events", the form of {@link SessionModel#sessions()}. */
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

  /** Columns that depend on when the runner fired a pane, not on the events: never compared. */
  public static final Set<String> TIMING_COLUMNS = Set.of("version", "emitted_at");

  /** Every column of a row but {@link #TIMING_COLUMNS}, rendered as {@link SessionModel} does. */
  static Map<String, String> columns(Record r) {
    Map<String, String> columns = new LinkedHashMap<>();
    for (Types.NestedField f : SessionsTable.SCHEMA.columns()) {
      if (!TIMING_COLUMNS.contains(f.name())) {
        columns.put(f.name(), SessionModel.render(r.getField(f.name())));
      }
    }
    return columns;
  }

  /**
   * How the table differs from {@code expected}, every column but {@link #TIMING_COLUMNS} of every
   * row, and the number of rows per session_id (exactly one); null when it does not. Rows of users
   * in {@code ignoredUsers} (a test's clock events) are left out.
   */
  static String differences(List<SessionModel.Row> expected, Table table, Set<String> ignoredUsers)
      throws Exception {
    Map<String, Map<String, String>> want = new TreeMap<>();
    for (SessionModel.Row row : expected) {
      if (want.put(row.sessionId(), row.columns()) != null) {
        throw new IllegalArgumentException("the model has two sessions " + row.sessionId());
      }
    }
    Map<String, Integer> count = new TreeMap<>();
    Map<String, Map<String, String>> have = new TreeMap<>();
    for (Record r : all(table)) {
      if (!ignoredUsers.contains((String) r.getField("user_id"))) {
        String id = (String) r.getField("session_id");
        count.merge(id, 1, Integer::sum);
        have.put(id, columns(r));
      }
    }
    List<String> problems = new ArrayList<>();
    count.forEach(
        (id, n) -> {
          if (n != 1) {
            problems.add(n + " rows for session_id " + id);
          }
        });
    for (Map.Entry<String, Map<String, String>> e : want.entrySet()) {
      Map<String, String> actual = have.get(e.getKey());
      if (actual == null) {
        problems.add("missing " + e.getValue());
        continue;
      }
      List<String> columns = new ArrayList<>();
      e.getValue()
          .forEach(
              (column, value) -> {
                if (!value.equals(actual.get(column))) {
                  columns.add(column + " " + actual.get(column) + " (model: " + value + ")");
                }
              });
      if (!columns.isEmpty()) {
        problems.add(e.getKey() + " " + actual.get("user_id") + ": " + columns);
      }
    }
    for (Map.Entry<String, Map<String, String>> e : have.entrySet()) {
      if (!want.containsKey(e.getKey())) {
        problems.add("unexpected " + e.getValue());
      }
    }
    if (problems.isEmpty()) {
      return null;
    }
    StringBuilder message =
        new StringBuilder(
            "the sessions table differs from the model ("
                + want.size()
                + " sessions expected, "
                + have.size()
                + " in the table): "
                + problems.size()
                + " differences, first ones:");
    problems.stream().limit(10).forEach(p -> message.append("\n  ").append(p));
    return message.toString();
  }

  /** Fails with {@link #differences} when there are any. */
  static void assertRows(List<SessionModel.Row> expected, Table table, Set<String> ignoredUsers)
      throws Exception {
    String problems = differences(expected, table, ignoredUsers);
    if (problems != null) {
      throw new AssertionError(problems);
    }
  }

  /**
   * Waits up to {@code seconds} for the table to equal {@code expected} (the last final panes may
   * still be on their way), then fails with the differences.
   */
  static void awaitRows(
      List<SessionModel.Row> expected, Table table, Set<String> ignoredUsers, int seconds)
      throws Exception {
    long deadline = System.currentTimeMillis() + seconds * 1000L;
    while (differences(expected, table, ignoredUsers) != null
        && System.currentTimeMillis() < deadline) {
      Thread.sleep(1_000);
    }
    assertRows(expected, table, ignoredUsers);
  }

  /**
   * A row the test wrote itself, as {@link #columns} renders it: for rows that must stay as they
   * were.
   */
  static SessionModel.Row rowOf(Session s) {
    Map<String, Object> values = new LinkedHashMap<>();
    values.put("session_id", s.sessionId());
    values.put("user_id", s.userId());
    values.put("client_session_id", s.clientSessionId());
    values.put("start_time", java.time.Instant.ofEpochMilli(s.startTime().getMillis()));
    values.put("end_time", java.time.Instant.ofEpochMilli(s.endTime().getMillis()));
    values.put("duration_seconds", s.durationSeconds());
    values.put("event_count", s.eventCount());
    values.put("page_view_count", s.pageViewCount());
    values.put("click_count", s.clickCount());
    values.put("purchase_count", s.purchaseCount());
    values.put("pages_visited", s.pagesVisited());
    values.put("entry_page", s.entryPage());
    values.put("exit_page", s.exitPage());
    values.put("referrer", s.referrer());
    values.put("device_type", s.deviceType());
    values.put("country", s.country());
    values.put("conversion", s.conversion());
    values.put("revenue", s.revenue().setScale(2));
    values.put("revenue_by_currency", s.revenueByCurrency());
    values.put("is_final", s.isFinal());
    Map<String, String> columns = new LinkedHashMap<>();
    values.forEach((k, v) -> columns.put(k, SessionModel.render(v)));
    return new SessionModel.Row(s.sessionId(), columns);
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
