package dev.sessionize.transforms;

import static dev.sessionize.transforms.TestEvents.at;
import static dev.sessionize.transforms.TestEvents.atSeconds;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import dev.sessionize.transforms.model.Wire;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.util.CoderUtils;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Round trips of every hand-written coder, and the size of the session state. */
@RunWith(JUnit4.class)
public class CodersTest {

  @Test
  public void clickEventRoundTripsWithAndWithoutOptionalFields() throws Exception {
    ClickEvent full =
        TestEvents.purchase("ü-user", "e1", at(3), "/checkout?x=1", "12.34", "EUR").toBuilder()
            .setClientSessionId("client-1")
            .setReferrer("https://ref")
            .setDeviceType("mobile")
            .setCountry("DE")
            .setOpensSession(true)
            .setSourceTopic("clickstream_events")
            .setSourcePartition(7)
            .setSourceOffset(123456789L)
            .build();
    ClickEvent bare = TestEvents.event("u", null, "other", at(-100000), null);
    CoderProperties.coderDecodeEncodeEqual(ClickEvent.ClickEventCoder.of(), full);
    CoderProperties.coderDecodeEncodeEqual(ClickEvent.ClickEventCoder.of(), bare);
    CoderProperties.coderDeterministic(ClickEvent.ClickEventCoder.of(), full, full);
  }

  @Test
  public void rawRecordAndDeadLetterRoundTrip() throws Exception {
    RawRecord raw = RawRecord.of(new byte[] {1, 2, (byte) 0xff}, "t", 0, 0);
    assertEquals(
        raw.sourceTopic(), CoderUtils.clone(RawRecord.RawRecordCoder.of(), raw).sourceTopic());
    RawRecord decoded = CoderUtils.clone(RawRecord.RawRecordCoder.of(), raw);
    assertEquals(
        List.of((byte) 1, (byte) 2, (byte) -1),
        List.of(decoded.payload()[0], decoded.payload()[1], decoded.payload()[2]));
    assertEquals(
        -1,
        CoderUtils.clone(RawRecord.RawRecordCoder.of(), RawRecord.of(new byte[0])).sourceOffset());
    RawRecord stamped =
        RawRecord.of(new byte[] {'{', '}'}, "clickstream_events", 3, 1L << 40, at(-5));
    CoderProperties.coderDecodeEncodeEqual(RawRecord.RawRecordCoder.of(), stamped);
    assertEquals(at(-5), CoderUtils.clone(RawRecord.RawRecordCoder.of(), stamped).kafkaTimestamp());
    assertEquals(
        null,
        CoderUtils.clone(RawRecord.RawRecordCoder.of(), RawRecord.of(new byte[0]))
            .kafkaTimestamp());

    DeadLetter letter =
        DeadLetter.builder()
            .setReason(Reason.TOO_LATE)
            .setDetail("late")
            .setPayload("{}".getBytes())
            .setUserId("u")
            .setEventTime(at(1))
            .setRejectedAt(at(2))
            .build();
    DeadLetter back = CoderUtils.clone(DeadLetter.DeadLetterCoder.of(), letter);
    assertEquals(letter.toJson(), back.toJson());
  }

  @Test
  public void sessionRoundTrips() throws Exception {
    Map<String, BigDecimal> byCurrency = new TreeMap<>();
    byCurrency.put("EUR", new BigDecimal("3.10"));
    byCurrency.put("USD", new BigDecimal("12.00"));
    Session session =
        Session.builder()
            .setSessionId(Session.idFor("u", at(0)))
            .setUserId("u")
            .setClientSessionId(null)
            .setStartTime(at(0))
            .setEndTime(at(9))
            .setDurationSeconds(540)
            .setEventCount(4)
            .setPageViewCount(2)
            .setClickCount(1)
            .setPurchaseCount(1)
            .setPagesVisited(List.of("/a", "/b"))
            .setEntryPage("/a")
            .setExitPage("/b")
            .setReferrer(null)
            .setDeviceType("desktop")
            .setCountry(null)
            .setConversion(true)
            .setRevenue(new BigDecimal("12.00"))
            .setRevenueByCurrency(byCurrency)
            .setVersion(3)
            .setIsFinal(true)
            .setEmittedAt(at(50))
            .setSupersededSessionIds(List.of(Session.idFor("u", at(2))))
            .build();
    CoderProperties.coderDecodeEncodeEqual(Session.SessionCoder.of(), session);
    assertEquals(at(2), Session.startOf(Session.idFor("u", at(2))));
  }

  @Test
  public void sessionAccumulatorRoundTripsIncludingEmptyAndInlinePages() throws Exception {
    SessionCombineFn fn = new SessionCombineFn(3);
    Coder<SessionAccumulator> coder = new SessionAccumulator.Coder(3);
    CoderProperties.coderDecodeEncodeEqual(coder, fn.createAccumulator());
    SessionAccumulator acc = fn.createAccumulator();
    for (int i = 0; i < 6; i++) {
      // More pages than the cap: the exit page (the latest) is not in the capped list.
      fn.addInput(acc, TestEvents.view("u", "e" + i, atSeconds(i * 10), "/page" + i));
    }
    fn.addInput(acc, TestEvents.purchase("u", "p", atSeconds(5), null, "1.99", "GBP"));
    CoderProperties.coderDecodeEncodeEqual(coder, acc);
    assertEquals("/page5", CoderUtils.clone(coder, acc).exitPage());
  }

  @Test
  public void sessionAccumulatorFrontCodesPagesWithoutSplittingSurrogatePairs() throws Exception {
    SessionCombineFn fn = new SessionCombineFn(200);
    Coder<SessionAccumulator> coder = new SessionAccumulator.Coder(200);
    SessionAccumulator acc = fn.createAccumulator();
    // The last two share the first bytes of an emoji: the shared prefix ends inside a character.
    String[] pages = {
      "https://shop.example.com/a",
      "https://shop.example.com/ab",
      "/x\ud83d\ude00",
      "/x\ud83d\ude01"
    };
    for (int i = 0; i < pages.length; i++) {
      fn.addInput(acc, TestEvents.view("u", "e" + i, atSeconds(i * 10), pages[i]));
    }
    SessionAccumulator back = CoderUtils.clone(coder, acc);
    assertEquals(List.of(pages), back.pagesInVisitOrder());
    assertEquals(acc, back);
  }

  @Test
  public void sessionAccumulatorReadsTheFirstLayout() throws Exception {
    // Layout 1 (before front coding): pages whole, first visits as deltas from the start.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long start = atSeconds(0).getMillis();
    out.write(1);
    Wire.writeSignedVarLong(start, out);
    for (long v : new long[] {20_000, 3, 3, 0, 0, 2}) { // end - start, counts, 2 pages
      Wire.writeVarLong(v, out);
    }
    Wire.writeString("/a", out);
    Wire.writeVarLong(0, out);
    Wire.writeString("/b", out);
    Wire.writeVarLong(10_000, out);
    for (long v : new long[] {1, 2, 0, 0, 0, 0, 0}) { // entry, exit, 4 null strings, 0 currencies
      Wire.writeVarLong(v, out);
    }
    SessionAccumulator expected = new SessionCombineFn(200).createAccumulator();
    expected.add(TestEvents.view("u", "1", atSeconds(0), "/a"));
    expected.add(TestEvents.view("u", "2", atSeconds(10), "/b"));
    expected.add(TestEvents.view("u", "3", atSeconds(20), "/b"));
    SessionAccumulator decoded =
        CoderUtils.decodeFromByteArray(new SessionAccumulator.Coder(200), out.toByteArray());
    assertEquals(expected, decoded);
  }

  @Test
  public void dashboardAccumulatorRoundTrips() throws Exception {
    DashboardAccumulator acc = new DashboardAccumulator();
    acc.add(TestEvents.view("u1", "1", at(0), "/a").toBuilder().setCountry("DE").build(), "USD");
    acc.add(TestEvents.purchase("u2", "2", at(0), "/b", "3.50", "USD"), "USD");
    DashboardAccumulator back = CoderUtils.clone(new DashboardAccumulator.Coder(), acc);
    assertEquals(2, back.events);
    assertEquals(1, back.pageViews);
    assertEquals(1, back.purchases);
    assertEquals(350, back.revenueCents);
    assertEquals(2, back.uniqueUsers());
    assertEquals(Long.valueOf(1), back.eventsByCountry.get("DE"));
    assertEquals(
        0, CoderUtils.clone(new DashboardAccumulator.Coder(), new DashboardAccumulator()).events);
  }

  @Test
  public void dashboardMinuteRoundTripsAndIsSmall() throws Exception {
    // A document as AggregateDashboard builds it (top pages, sorted country and device counts),
    // and an empty-ish one (no pages, no countries, zero revenue).
    Map<String, Long> countries = new TreeMap<>(Map.of("DE", 12L, "US", 300L, "unknown", 1L));
    Map<String, Long> devices = new TreeMap<>(Map.of("desktop", 200L, "mobile", 113L));
    DashboardMinute full =
        DashboardMinute.builder()
            .setWindowStart(at(10))
            .setEvents(313)
            .setPageViews(190)
            .setClicks(110)
            .setPurchases(9)
            .setRevenue(new BigDecimal("1234567.89"))
            .setUniqueUsers(97)
            .setSessionsStarted(41)
            .setTopPages(
                List.of(
                    DashboardMinute.PageViews.of("/products/shoes?ü=1", 80),
                    DashboardMinute.PageViews.of("/", 60),
                    DashboardMinute.PageViews.of("/cart", 50)))
            .setByCountry(countries)
            .setByDevice(devices)
            .setUpdatedAt(atSeconds(601).plus(123))
            .build();
    DashboardMinute bare =
        full.toBuilder()
            .setWindowStart(at(-100_000))
            .setEvents(1)
            .setRevenue(new BigDecimal("0.00"))
            .setTopPages(List.of())
            .setByCountry(Map.of())
            .setByDevice(Map.of("mobile", 1L))
            .build();
    Coder<DashboardMinute> coder = DashboardMinute.DashboardMinuteCoder.of();
    CoderProperties.coderDecodeEncodeEqual(coder, full);
    CoderProperties.coderDecodeEncodeEqual(coder, bare);
    CoderProperties.coderDeterministic(coder, full, full);
    // The document the sinks write is the same after a round trip (revenue keeps its scale).
    assertEquals(full.toJson(), CoderUtils.clone(coder, full).toJson());
    assertEquals("0.00", CoderUtils.clone(coder, bare).revenue().toPlainString());
    // The pipeline uses this coder for the dashboard, not Java serialization.
    assertEquals(
        coder,
        org.apache.beam.sdk.coders.CoderRegistry.createDefault().getCoder(DashboardMinute.class));

    int bytes = CoderUtils.encodeToByteArray(coder, full).length;
    System.out.println(
        "dashboard minute (3 top pages, 3 countries, 2 devices): " + bytes + " bytes encoded");
    // 58 bytes of strings with their lengths (50 of UTF-8), 27 of counts and revenue (varints;
    // scale, length and 4 bytes of 123456789), two instants of 6 bytes: 97 bytes.
    assertThat(bytes, lessThanOrEqualTo(97));
  }

  @Test
  public void typicalSessionStateIsAtMost300Bytes() throws Exception {
    SessionCombineFn fn = new SessionCombineFn(200);
    SessionAccumulator acc = fn.createAccumulator();
    String[] pages = {"/", "/products/shoes", "/products/shoes/123", "/cart", "/checkout"};
    for (int i = 0; i < 10; i++) {
      ClickEvent e =
          TestEvents.event(
                  "user-000123",
                  "evt-" + i,
                  i % 3 == 0 ? "click" : "page_view",
                  atSeconds(i * 45L),
                  pages[i % pages.length])
              .toBuilder()
              .setClientSessionId("3f1c2a9e-6a2b-4a4f-9a55-0c2d1e6b7f10")
              .setReferrer("https://www.google.com/search?q=shoes")
              .setDeviceType("mobile")
              .setCountry("US")
              .build();
      fn.addInput(acc, e);
    }
    int bytes = CoderUtils.encodeToByteArray(new SessionAccumulator.Coder(200), acc).length;
    System.out.println("typical session state (10 events, 5 pages): " + bytes + " bytes");
    assertThat(bytes, lessThanOrEqualTo(300));
  }
}
