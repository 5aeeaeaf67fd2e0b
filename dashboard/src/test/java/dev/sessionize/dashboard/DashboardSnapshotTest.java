package dev.sessionize.dashboard;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.transforms.model.DashboardMinute;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

@RunWith(JUnit4.class)
public class DashboardSnapshotTest {
  private static final Instant LATEST = Instant.parse("2026-11-24T10:00:00Z");

  @Test
  public void keysAreTheHourEndingWithTheLatestMinuteOldestFirst() {
    List<String> keys = DashboardSnapshot.keysEndingAt(LATEST);
    assertEquals(60, keys.size());
    assertEquals("dash:minute:2026-11-24T09:01Z", keys.get(0));
    assertEquals("dash:minute:2026-11-24T10:00Z", keys.get(59));
  }

  @Test
  public void figuresOfTheHourFromThePipelinesDocuments() {
    List<String> docs = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      docs.add(null);
    }
    docs.set(0, doc(LATEST.minus(59 * 60_000L), 10, "0.10", Map.of("DE", 10L), 9));
    docs.set(58, doc(LATEST.minus(60_000L), 20, "0.20", Map.of("DE", 5L, "US", 15L), 3));
    docs.set(59, "not json");
    JsonNode s = DashboardSnapshot.of(LATEST, docs, LATEST.plus(61_000));

    assertEquals("2026-11-24T10:00Z", s.get("latest_minute").asText());
    assertEquals("2026-11-24T09:01:00.000Z", s.get("from").asText());
    assertEquals("2026-11-24T10:01:00.000Z", s.get("to").asText());
    assertEquals(60, s.get("minutes").size());
    assertEquals("09:01", s.at("/minutes/0/minute").asText());
    assertTrue(s.at("/minutes/0/present").asBoolean());
    assertEquals(false, s.at("/minutes/1/present").asBoolean());
    assertEquals(30, s.at("/totals/events").asLong());
    assertEquals(15, s.at("/totals/page_views").asLong());
    assertEquals(3, s.at("/totals/clicks").asLong());
    assertEquals(0, s.at("/totals/other").asLong());
    assertEquals("0.30", s.at("/totals/revenue").asText());
    assertEquals(9, s.at("/totals/unique_users_peak_minute").asLong());
    // The newest minute's document is unreadable: the one before it is the newest with data.
    assertEquals(3, s.at("/totals/unique_users_newest_minute").asLong());
    assertEquals("09:59", s.at("/totals/newest_minute_with_data").asText());
    assertEquals(2, s.at("/totals/minutes_with_data").asLong());
    assertEquals(1, s.get("bad_documents").asLong());
    // DE 10 + 5 and US 15: a tie, by name.
    assertEquals("DE", s.at("/by_country/0/name").asText());
    assertEquals(15, s.at("/by_country/0/events").asLong());
    assertEquals("US", s.at("/by_country/1/name").asText());
    assertEquals(15, s.at("/by_country/1/events").asLong());
    assertEquals("/p", s.at("/top_pages/0/page").asText());
    assertEquals(15, s.at("/top_pages/0/views").asLong());
    // The newest update is the second document's (updated 1 s after its minute ended).
    assertEquals("2026-11-24T10:00:01.000Z", s.get("newest_update").asText());
    assertEquals(60_000, s.get("age_ms").asLong());
  }

  /** A document made by the pipeline's own type, so the format is the sink's. */
  private static String doc(
      Instant start, long events, String revenue, Map<String, Long> countries, long unique) {
    return DashboardMinute.builder()
        .setWindowStart(start)
        .setEvents(events)
        .setPageViews(events / 2)
        .setClicks(events / 10)
        .setPurchases(events - events / 2 - events / 10)
        .setRevenue(new BigDecimal(revenue))
        .setUniqueUsers(unique)
        .setSessionsStarted(1)
        .setTopPages(List.of(DashboardMinute.PageViews.of("/p", events / 2)))
        .setByCountry(countries)
        .setByDevice(Map.of("mobile", events))
        .setUpdatedAt(start.plus(61_000))
        .build()
        .toJson();
  }
}
