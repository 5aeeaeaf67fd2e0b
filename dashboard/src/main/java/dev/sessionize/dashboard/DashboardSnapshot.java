package dev.sessionize.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.Json;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.joda.time.format.DateTimeFormat;
import org.joda.time.format.DateTimeFormatter;

/**
 * What the page shows, worked out from the last {@link #MINUTES} {@code dash:minute:*} documents:
 * one row per minute (events by type, revenue, unique users, sessions started) and the figures of
 * the whole hour (sums; top pages, countries and devices merged). Revenue stays a {@code
 * BigDecimal} and goes to the page as a string, so it is exact. Pure: the Redis reading is in
 * {@link RedisDashboard}.
 */
final class DashboardSnapshot {
  /** Minutes on the page, the newest one ({@code dash:latest}) included. */
  static final int MINUTES = 60;

  /** Pages listed under "top pages". */
  static final int TOP_PAGES = 10;

  private static final DateTimeFormatter HOUR_MINUTE =
      DateTimeFormat.forPattern("HH:mm").withZoneUTC();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private DashboardSnapshot() {}

  /** The {@link #MINUTES} keys ending with {@code latest}'s minute, oldest first. */
  static List<String> keysEndingAt(Instant latest) {
    List<String> keys = new ArrayList<>(MINUTES);
    for (int i = MINUTES - 1; i >= 0; i--) {
      keys.add(DashboardMinute.keyFor(latest.minus(Duration.standardMinutes(i))));
    }
    return keys;
  }

  /**
   * The page's data from the documents of {@link #keysEndingAt}{@code (latest)}, oldest first (null
   * where a minute has no document). A document that cannot be read is skipped and counted in
   * {@code bad_documents}.
   */
  static ObjectNode of(Instant latest, List<@Nullable String> documents, Instant now) {
    if (documents.size() != MINUTES) {
      throw new IllegalArgumentException(
          "expected " + MINUTES + " documents, got " + documents.size());
    }
    ObjectNode out = NODES.objectNode();
    Instant first = latest.minus(Duration.standardMinutes(MINUTES - 1));
    out.put("latest_minute", DashboardMinute.keyFor(latest).substring("dash:minute:".length()));
    out.put("from", Json.formatInstant(first));
    out.put("to", Json.formatInstant(latest.plus(Duration.standardMinutes(1))));

    long events = 0;
    long pageViews = 0;
    long clicks = 0;
    long purchases = 0;
    long sessionsStarted = 0;
    long uniquePeak = 0;
    long uniqueNewest = 0;
    String newestWithData = null;
    int present = 0;
    int bad = 0;
    BigDecimal revenue = BigDecimal.ZERO;
    Instant newestUpdate = null;
    Map<String, Long> pages = new HashMap<>();
    Map<String, Long> countries = new HashMap<>();
    Map<String, Long> devices = new HashMap<>();

    ArrayNode minutes = out.putArray("minutes");
    for (int i = 0; i < MINUTES; i++) {
      Instant start = first.plus(Duration.standardMinutes(i));
      ObjectNode row = minutes.addObject();
      row.put("minute", HOUR_MINUTE.print(start));
      row.put("start", Json.formatInstant(start));
      Minute m = documents.get(i) == null ? null : Minute.parse(documents.get(i));
      if (documents.get(i) != null && m == null) {
        bad++;
      }
      row.put("present", m != null);
      if (m == null) {
        m = Minute.EMPTY;
      } else {
        present++;
      }
      row.put("events", m.events);
      row.put("page_views", m.pageViews);
      row.put("clicks", m.clicks);
      row.put("purchases", m.purchases);
      row.put("other", m.other());
      row.put("revenue", m.revenue.setScale(2, RoundingMode.UNNECESSARY).toPlainString());
      row.put("unique_users", m.uniqueUsers);
      row.put("sessions_started", m.sessionsStarted);

      events += m.events;
      pageViews += m.pageViews;
      clicks += m.clicks;
      purchases += m.purchases;
      sessionsStarted += m.sessionsStarted;
      revenue = revenue.add(m.revenue);
      uniquePeak = Math.max(uniquePeak, m.uniqueUsers);
      if (m != Minute.EMPTY) {
        // dash:latest can be written a moment before its minute's document: take the newest
        // minute that has one.
        uniqueNewest = m.uniqueUsers;
        newestWithData = HOUR_MINUTE.print(start);
      }
      if (m.updatedAt != null && (newestUpdate == null || m.updatedAt.isAfter(newestUpdate))) {
        newestUpdate = m.updatedAt;
      }
      m.topPages.forEach((page, views) -> pages.merge(page, views, Long::sum));
      m.byCountry.forEach((country, n) -> countries.merge(country, n, Long::sum));
      m.byDevice.forEach((device, n) -> devices.merge(device, n, Long::sum));
    }

    ObjectNode totals = out.putObject("totals");
    totals.put("events", events);
    totals.put("page_views", pageViews);
    totals.put("clicks", clicks);
    totals.put("purchases", purchases);
    totals.put("other", Math.max(0, events - pageViews - clicks - purchases));
    totals.put("revenue", revenue.setScale(2, RoundingMode.UNNECESSARY).toPlainString());
    totals.put("sessions_started", sessionsStarted);
    totals.put("unique_users_newest_minute", uniqueNewest);
    totals.put("newest_minute_with_data", newestWithData);
    totals.put("unique_users_peak_minute", uniquePeak);
    totals.put("minutes_with_data", present);
    out.put("bad_documents", bad);
    if (newestUpdate != null) {
      out.put("newest_update", Json.formatInstant(newestUpdate));
      out.put("age_ms", Math.max(0, now.getMillis() - newestUpdate.getMillis()));
    } else {
      out.putNull("newest_update");
      out.putNull("age_ms");
    }
    putCounts(out.putArray("top_pages"), pages, "page", "views", TOP_PAGES);
    putCounts(out.putArray("by_country"), countries, "name", "events", Integer.MAX_VALUE);
    putCounts(out.putArray("by_device"), devices, "name", "events", Integer.MAX_VALUE);
    return out;
  }

  /** Most first, ties by name. */
  private static void putCounts(
      ArrayNode array, Map<String, Long> counts, String nameField, String countField, int limit) {
    counts.entrySet().stream()
        .sorted(
            Comparator.<Map.Entry<String, Long>>comparingLong(Map.Entry::getValue)
                .reversed()
                .thenComparing(Map.Entry::getKey))
        .limit(limit)
        .forEach(e -> array.addObject().put(nameField, e.getKey()).put(countField, e.getValue()));
  }

  /** The fields of one document that the page uses. */
  private static final class Minute {
    static final Minute EMPTY = new Minute();

    long events;
    long pageViews;
    long clicks;
    long purchases;
    long uniqueUsers;
    long sessionsStarted;
    BigDecimal revenue = BigDecimal.ZERO;
    @Nullable Instant updatedAt;
    final Map<String, Long> topPages = new HashMap<>();
    final Map<String, Long> byCountry = new HashMap<>();
    final Map<String, Long> byDevice = new HashMap<>();

    long other() {
      return Math.max(0, events - pageViews - clicks - purchases);
    }

    /** Null when the text is not a dashboard document. */
    static @Nullable Minute parse(String text) {
      try {
        JsonNode doc = Json.MAPPER.readTree(text);
        if (doc == null || !doc.isObject() || !doc.path("events").isIntegralNumber()) {
          return null;
        }
        Minute m = new Minute();
        m.events = doc.path("events").asLong();
        m.pageViews = doc.path("page_views").asLong();
        m.clicks = doc.path("clicks").asLong();
        m.purchases = doc.path("purchases").asLong();
        m.uniqueUsers = doc.path("unique_users").asLong();
        m.sessionsStarted = doc.path("sessions_started").asLong();
        JsonNode revenue = doc.path("revenue");
        if (revenue.isNumber()) {
          m.revenue = revenue.decimalValue().setScale(2, RoundingMode.HALF_EVEN);
        } else if (!revenue.isMissingNode() && !revenue.isNull()) {
          return null;
        }
        if (doc.path("updated_at").isTextual()) {
          m.updatedAt = Instant.parse(doc.get("updated_at").asText());
        }
        for (JsonNode p : doc.path("top_pages")) {
          if (p.path("page").isTextual()) {
            m.topPages.merge(p.get("page").asText(), p.path("views").asLong(), Long::sum);
          }
        }
        doc.path("by_country")
            .fields()
            .forEachRemaining(e -> m.byCountry.merge(e.getKey(), e.getValue().asLong(), Long::sum));
        doc.path("by_device")
            .fields()
            .forEachRemaining(e -> m.byDevice.merge(e.getKey(), e.getValue().asLong(), Long::sum));
        return m;
      } catch (Exception e) {
        return null;
      }
    }
  }
}
