package dev.sessionize.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The spec's session rules written the plain way, as the independent side of tests: events of a
 * user whose {@code [t, t + gap)} intervals overlap form one session, unless a session is already
 * final (the watermark has reached its last event + gap + allowed lateness) when the event arrives;
 * then the event starts a new session.
 *
 * <p>A session keeps its events, so {@link #rows()} gives every column of its row, computed from
 * the events by the spec's column rules (sorting and counting, nothing of the pipeline's): counts
 * by exact {@code event_type}, distinct pages in order of first visit (event time) capped at {@link
 * #MAX_PAGES}, entry and exit page of the earliest and the latest event, referrer, device, country
 * and client session id of the earliest event, revenue in the reporting currency and per currency,
 * conversion, the floored duration and the id from user and start. Events are read from their JSON
 * payload with a plain Jackson tree ({@link Event#of}), not with the pipeline's parser.
 */
final class SessionModel {
  /** The spec's default cap of {@code pages_visited}. */
  static final int MAX_PAGES = 200;

  /** The spec's default reporting currency. */
  static final String REPORTING_CURRENCY = "USD";

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * An accepted event with what a session row is made of; a null {@code type} (events given by time
   * only, {@link #accept(String, Instant, Instant)}) counts in {@code event_count} only.
   */
  record Event(
      String user,
      @Nullable String eventId,
      long time,
      @Nullable String type,
      @Nullable String page,
      @Nullable String referrer,
      @Nullable String device,
      @Nullable String country,
      @Nullable String clientSession,
      @Nullable BigDecimal amount,
      String currency) {

    /** A valid event's JSON payload, read field by field as the spec's input table describes. */
    static Event of(byte[] payload) {
      JsonNode n;
      try {
        n = JSON.readTree(payload);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      JsonNode ts = n.get("timestamp");
      long time =
          ts.isNumber()
              ? ts.longValue()
              : OffsetDateTime.parse(ts.textValue()).toInstant().toEpochMilli();
      JsonNode metadata = n.path("metadata");
      BigDecimal amount =
          metadata.hasNonNull("amount") ? new BigDecimal(metadata.get("amount").asText()) : null;
      String currency =
          metadata.hasNonNull("currency")
              ? metadata.get("currency").textValue().toUpperCase(Locale.ROOT)
              : REPORTING_CURRENCY;
      return new Event(
          n.get("user_id").textValue(),
          text(n.get("event_id")),
          time,
          n.get("event_type").textValue(),
          text(n.get("page_url")),
          text(n.get("referrer")),
          text(n.path("device").get("type")),
          text(n.path("geo").get("country")),
          text(n.get("session_id")),
          amount,
          currency);
    }

    /** A page view with no other attributes. */
    static Event pageView(String user, String eventId, Instant t, String page) {
      return new Event(
          user,
          eventId,
          t.getMillis(),
          "page_view",
          page,
          null,
          null,
          null,
          null,
          null,
          REPORTING_CURRENCY);
    }

    private static @Nullable String text(@Nullable JsonNode node) {
      return node == null || node.isNull() ? null : node.textValue();
    }
  }

  /** A row of the sessions table: its id and every column, rendered by {@link #render}. */
  record Row(String sessionId, Map<String, String> columns) {}

  private final long gap;
  private final long lateness;
  private final Map<String, List<Open>> open = new HashMap<>();
  private final List<Open> closed = new ArrayList<>();

  /** A session of the model: its span and its events. */
  private static final class Open {
    final String user;
    long start;
    long end;
    final List<Event> events = new ArrayList<>();

    Open(Event e) {
      this.user = e.user();
      this.start = e.time();
      this.end = e.time();
      events.add(e);
    }

    void absorb(Open other) {
      start = Math.min(start, other.start);
      end = Math.max(end, other.end);
      events.addAll(other.events);
    }
  }

  SessionModel(Duration gap, Duration allowedLateness) {
    this.gap = gap.getMillis();
    this.lateness = allowedLateness.getMillis();
  }

  /** An accepted event of {@code user} at {@code t}, arriving when the watermark is {@code w}. */
  void accept(String user, Instant t, Instant w) {
    accept(
        new Event(user, null, t.getMillis(), null, null, null, null, null, null, null, "USD"), w);
  }

  /** An accepted event, arriving when the watermark is {@code w}. */
  void accept(Event event, Instant w) {
    List<Open> sessions = open.computeIfAbsent(event.user(), u -> new ArrayList<>());
    long time = event.time();
    Open merged = new Open(event);
    for (Iterator<Open> it = sessions.iterator(); it.hasNext(); ) {
      Open s = it.next();
      if (s.end + gap + lateness <= w.getMillis()) {
        closed.add(s);
        it.remove();
      } else if (s.start < time + gap && time < s.end + gap) {
        merged.absorb(s);
        it.remove();
      }
    }
    // A merge can make the new session reach others that did not touch the event itself.
    boolean grew = true;
    while (grew) {
      grew = false;
      for (Iterator<Open> it = sessions.iterator(); it.hasNext(); ) {
        Open s = it.next();
        if (s.start < merged.end + gap && merged.start < s.end + gap) {
          merged.absorb(s);
          it.remove();
          grew = true;
        }
      }
    }
    sessions.add(merged);
  }

  private List<Open> all() {
    List<Open> all = new ArrayList<>(closed);
    open.values().forEach(all::addAll);
    return all;
  }

  /** Every session, final or still open at the end of the stream, as "user start end events". */
  List<String> sessions() {
    List<String> out = new ArrayList<>();
    for (Open s : all()) {
      out.add(
          s.user + " " + new Instant(s.start) + " " + new Instant(s.end) + " " + s.events.size());
    }
    return out;
  }

  /** Every session's row as it is once final (so {@code is_final} true), by the column rules. */
  List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    for (Open s : all()) {
      rows.add(row(s.user, s.events, true));
    }
    return rows;
  }

  private static final Comparator<String> NULLS_FIRST =
      Comparator.nullsFirst(Comparator.naturalOrder());

  /**
   * The earliest event first; events at the same time by their attributes (the spec leaves ties
   * open; the generated streams have none within a user).
   */
  private static final Comparator<Event> BY_TIME =
      Comparator.comparingLong(Event::time)
          .thenComparing(Event::page, NULLS_FIRST)
          .thenComparing(Event::referrer, NULLS_FIRST)
          .thenComparing(Event::device, NULLS_FIRST)
          .thenComparing(Event::country, NULLS_FIRST)
          .thenComparing(Event::clientSession, NULLS_FIRST);

  /** The row of one session of {@code user} made of {@code events}. */
  static Row row(String user, List<Event> events, boolean isFinal) {
    List<Event> sorted = new ArrayList<>(events);
    sorted.sort(BY_TIME);
    Event first = sorted.get(0);
    Event last = sorted.get(sorted.size() - 1); // at the same time, the greatest page
    int views = 0;
    int clicks = 0;
    int purchases = 0;
    List<String> pages = new ArrayList<>();
    Map<String, BigDecimal> byCurrency = new TreeMap<>();
    for (Event e : sorted) {
      if ("page_view".equals(e.type())) {
        views++;
      } else if ("click".equals(e.type())) {
        clicks++;
      } else if ("purchase".equals(e.type())) {
        purchases++;
        if (e.amount() != null) {
          byCurrency.merge(e.currency(), e.amount(), BigDecimal::add);
        }
      }
      if (e.page() != null && !pages.contains(e.page())) {
        pages.add(e.page());
      }
    }
    // Sorted by time, then page: the first visits come in order; ties by page.
    List<String> capped = pages.subList(0, Math.min(MAX_PAGES, pages.size()));
    Map<String, String> revenueByCurrency = new TreeMap<>();
    byCurrency.forEach((k, v) -> revenueByCurrency.put(k, v.setScale(2).toPlainString()));
    Map<String, Object> values = new LinkedHashMap<>();
    String id = sessionId(user, first.time());
    values.put("session_id", id);
    values.put("user_id", user);
    values.put("client_session_id", first.clientSession());
    values.put("start_time", java.time.Instant.ofEpochMilli(first.time()));
    values.put("end_time", java.time.Instant.ofEpochMilli(last.time()));
    values.put("duration_seconds", Math.floorDiv(last.time() - first.time(), 1000L));
    values.put("event_count", sorted.size());
    values.put("page_view_count", views);
    values.put("click_count", clicks);
    values.put("purchase_count", purchases);
    values.put("pages_visited", capped);
    values.put("entry_page", first.page());
    values.put("exit_page", last.page());
    values.put("referrer", first.referrer());
    values.put("device_type", first.device());
    values.put("country", first.country());
    values.put("conversion", purchases > 0);
    values.put(
        "revenue",
        byCurrency.getOrDefault(REPORTING_CURRENCY, BigDecimal.ZERO).setScale(2).toPlainString());
    values.put("revenue_by_currency", revenueByCurrency);
    values.put("is_final", isFinal);
    Map<String, String> columns = new LinkedHashMap<>();
    values.forEach((k, v) -> columns.put(k, render(v)));
    return new Row(id, columns);
  }

  /**
   * A column value as text, the same for the model's values and the ones read back from Iceberg
   * (times as ISO instants, decimals as plain strings, maps sorted by key).
   */
  static String render(@Nullable Object value) {
    if (value instanceof OffsetDateTime t) {
      return t.toInstant().toString();
    }
    if (value instanceof BigDecimal d) {
      return d.toPlainString();
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, String> sorted = new TreeMap<>();
      map.forEach((k, v) -> sorted.put(String.valueOf(k), render(v)));
      return sorted.toString();
    }
    return Objects.toString(value);
  }

  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

  /**
   * The README's session id: {@code yyyyMMddTHHmmssSSSZ} of the start, '-', the first 24 hex digits
   * of SHA-256 of the user id.
   */
  static String sessionId(String user, long start) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(user.getBytes(StandardCharsets.UTF_8));
      StringBuilder id =
          new StringBuilder(ID_TIME.format(java.time.Instant.ofEpochMilli(start))).append('-');
      for (int i = 0; i < 12; i++) {
        id.append(String.format("%02x", digest[i]));
      }
      return id.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Fails with the first few differences (not the whole lists) when they differ as multisets. */
  static Void assertSame(List<String> expected, Iterable<String> actual) {
    TreeMap<String, Integer> diff = new TreeMap<>();
    for (String e : expected) {
      diff.merge(e, 1, Integer::sum);
    }
    int n = 0;
    for (String a : actual) {
      diff.merge(a, -1, Integer::sum);
      n++;
    }
    diff.values().removeIf(v -> v == 0);
    if (!diff.isEmpty()) {
      StringBuilder message =
          new StringBuilder(
              "final sessions differ from the model: "
                  + expected.size()
                  + " expected, "
                  + n
                  + " actual, "
                  + diff.size()
                  + " differences (+ missing, - unexpected), first ones:");
      diff.entrySet().stream()
          .limit(10)
          .forEach(
              e ->
                  message.append("\n  ").append(e.getValue() > 0 ? "+ " : "- ").append(e.getKey()));
      throw new AssertionError(message.toString());
    }
    return null;
  }
}
