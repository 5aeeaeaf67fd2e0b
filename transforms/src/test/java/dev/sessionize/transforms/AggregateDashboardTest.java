package dev.sessionize.transforms;

import static dev.sessionize.transforms.TestEvents.at;
import static dev.sessionize.transforms.TestEvents.atSeconds;
import static dev.sessionize.transforms.TestEvents.view;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.Json;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The dashboard branch: speculative (early) firings, the on-time firing, late re-firings. */
@RunWith(JUnit4.class)
public class AggregateDashboardTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final IntervalWindow MINUTE_0 = new IntervalWindow(at(0), at(1));

  private static String brief(DashboardMinute d) {
    return d.minute()
        + " events="
        + d.events()
        + " views="
        + d.pageViews()
        + " clicks="
        + d.clicks();
  }

  @Test
  public void speculativeFiringShowsTheMinuteBeforeItEnds_thenOnTime_thenLate() {
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .advanceWatermarkTo(at(0))
            .addElements(
                TimestampedValue.of(view("alice", "a1", atSeconds(5), "/home"), atSeconds(5)),
                TimestampedValue.of(view("bob", "b1", atSeconds(10), "/home"), atSeconds(10)))
            // One second of processing time: the early firing, while the minute is still open.
            .advanceProcessingTime(Duration.standardSeconds(2))
            .addElements(
                TimestampedValue.of(
                    TestEvents.event("alice", "a2", "click", atSeconds(20), "/buy"), atSeconds(20)))
            .advanceWatermarkTo(at(2)) // on time: all three events
            // Late, but within gap + allowed lateness: re-fires the minute after the delay.
            .addElements(
                TimestampedValue.of(view("carol", "c1", atSeconds(30), "/x"), atSeconds(30)))
            .advanceProcessingTime(Duration.standardSeconds(2))
            .advanceWatermarkToInfinity();

    PCollection<String> docs =
        p.apply(stream)
            .apply(AggregateDashboard.of(TestEvents.config()))
            .apply(MapElements.into(TypeDescriptors.strings()).via(AggregateDashboardTest::brief));

    PAssert.that(docs)
        .inEarlyPane(MINUTE_0)
        .containsInAnyOrder("2026-11-24T10:00Z events=2 views=2 clicks=0");
    PAssert.that(docs)
        .inOnTimePane(MINUTE_0)
        .containsInAnyOrder("2026-11-24T10:00Z events=3 views=2 clicks=1");
    // One late firing; the window then expires without another (nothing new to show).
    PAssert.that(docs)
        .inLatePane(MINUTE_0)
        .containsInAnyOrder("2026-11-24T10:00Z events=4 views=3 clicks=1");
    p.run().waitUntilFinish();
  }

  @Test
  public void documentHasEveryFieldOfTheSpec() throws Exception {
    List<TimestampedValue<ClickEvent>> events = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      events.add(
          TimestampedValue.of(
              view("u" + (i % 5), "v" + i, atSeconds(i), "/p" + (i % 11)).toBuilder()
                  .setCountry(i % 2 == 0 ? "DE" : "FR")
                  .setDeviceType(i % 3 == 0 ? "mobile" : null)
                  .setOpensSession(i < 5)
                  .build(),
              atSeconds(i)));
    }
    events.add(
        TimestampedValue.of(
            TestEvents.purchase("u1", "p1", atSeconds(30), "/checkout", "10.05", "USD"),
            atSeconds(30)));
    events.add(
        TimestampedValue.of(
            TestEvents.purchase("u2", "p2", atSeconds(31), "/checkout", "7.00", "EUR"),
            atSeconds(31)));
    TestStream<ClickEvent> stream =
        TestStream.create(ClickEvent.ClickEventCoder.of())
            .addElements(
                events.get(0), events.subList(1, events.size()).toArray(new TimestampedValue[0]))
            .advanceWatermarkToInfinity();

    PCollection<DashboardMinute> docs =
        p.apply(stream).apply(AggregateDashboard.of(TestEvents.config()));
    PAssert.that(docs)
        .satisfies(
            all -> {
              DashboardMinute d = all.iterator().next();
              try {
                JsonNode json = Json.MAPPER.readTree(d.toJson());
                assertEquals("2026-11-24T10:00:00.000Z", json.get("window_start").asText());
                assertEquals(14, json.get("events").asLong());
                assertEquals(12, json.get("page_views").asLong());
                assertEquals(0, json.get("clicks").asLong());
                assertEquals(2, json.get("purchases").asLong());
                assertEquals("10.05", json.get("revenue").decimalValue().toPlainString());
                assertEquals(5, json.get("unique_users").asLong());
                assertEquals(5, json.get("sessions_started").asLong());
                assertEquals(10, json.get("top_pages").size());
                assertEquals("/p0", json.at("/top_pages/0/page").asText());
                assertEquals(2, json.at("/top_pages/0/views").asLong());
                assertEquals(6, json.at("/by_country/DE").asLong());
                assertEquals(4, json.at("/by_device/mobile").asLong());
                assertEquals(10, json.at("/by_device/unknown").asLong());
                assertEquals("2026-11-26T10:00:00.000Z", json.get("updated_at").asText());
                assertEquals("dash:minute:2026-11-24T10:00Z", d.redisKey());
              } catch (Exception e) {
                throw new AssertionError(e);
              }
              return null;
            });
    p.run().waitUntilFinish();
  }

  @Test
  public void minuteKeysRoundTrip() {
    Instant start = Instant.parse("2026-11-24T23:59:00Z");
    assertEquals("dash:minute:2026-11-24T23:59Z", DashboardMinute.keyFor(start));
    assertEquals(start, DashboardMinute.windowStartOfKey(DashboardMinute.keyFor(start)));
    assertNull(DashboardMinute.windowStartOfKey(null));
    assertNull(DashboardMinute.windowStartOfKey("dash:latest"));
    assertNull(DashboardMinute.windowStartOfKey("dash:minute:2026-11-24T23:59"));
    assertNull(DashboardMinute.windowStartOfKey("dash:minute:2026-11-24T23:59Zjunk"));
    assertNull(DashboardMinute.windowStartOfKey("dash:minute:2026-13-24T23:59Z"));
  }
}
