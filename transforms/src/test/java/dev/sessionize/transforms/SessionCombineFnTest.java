package dev.sessionize.transforms;

import static dev.sessionize.transforms.TestEvents.atSeconds;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.ClickEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.testing.CombineFnTester;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The session CombineFn: rules of each column and independence from order and merging. */
@RunWith(JUnit4.class)
public class SessionCombineFnTest {

  private static SessionAccumulator sequential(SessionCombineFn fn, List<ClickEvent> events) {
    SessionAccumulator acc = fn.createAccumulator();
    for (ClickEvent e : events) {
      fn.addInput(acc, e);
    }
    return fn.extractOutput(acc);
  }

  @Test
  public void entryAndExitComeFromTheEarliestAndLatestEventTimeNotArrival() {
    SessionCombineFn fn = new SessionCombineFn(200);
    List<ClickEvent> arrival =
        List.of(
            TestEvents.view("u", "2", atSeconds(60), "/middle"),
            TestEvents.view("u", "3", atSeconds(120), "/last").toBuilder()
                .setReferrer("late-ref")
                .build(),
            TestEvents.view("u", "1", atSeconds(0), "/first").toBuilder()
                .setReferrer("https://ref")
                .setDeviceType("tablet")
                .setCountry("NL")
                .setClientSessionId("c-first")
                .build(),
            TestEvents.view("u", "4", atSeconds(90), "/middle"));
    SessionAccumulator acc = sequential(fn, arrival);
    assertEquals(atSeconds(0).getMillis(), acc.startMillis());
    assertEquals(atSeconds(120).getMillis(), acc.endMillis());
    assertEquals("/first", acc.entryPage());
    assertEquals("/last", acc.exitPage());
    assertEquals("https://ref", acc.referrer());
    assertEquals("tablet", acc.deviceType());
    assertEquals("NL", acc.country());
    assertEquals("c-first", acc.clientSessionId());
    assertEquals(List.of("/first", "/middle", "/last"), acc.pagesInVisitOrder());
    assertEquals(4, acc.eventCount());
  }

  @Test
  public void mergingPartialAndEmptyAccumulatorsNeverFails() {
    SessionCombineFn fn = new SessionCombineFn(200);
    SessionAccumulator one = fn.createAccumulator();
    fn.addInput(one, TestEvents.event("u", null, "click", atSeconds(5), null));
    SessionAccumulator merged =
        fn.mergeAccumulators(Arrays.asList(fn.createAccumulator(), one, fn.createAccumulator()));
    assertEquals(1, merged.eventCount());
    assertNull(merged.entryPage());
    assertNull(merged.exitPage());
    assertTrue(fn.mergeAccumulators(List.of(fn.createAccumulator())).isEmpty());
  }

  @Test
  public void resultIsIndependentOfArrivalOrderAndOfHowAccumulatorsAreSplit() {
    Random random = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      int cap = 1 + random.nextInt(8);
      SessionCombineFn fn = new SessionCombineFn(cap);
      List<ClickEvent> events = new ArrayList<>();
      int n = 1 + random.nextInt(40);
      for (int i = 0; i < n; i++) {
        String type =
            new String[] {"page_view", "click", "purchase", "PAGE_VIEW"}[random.nextInt(4)];
        ClickEvent e =
            TestEvents.event(
                "u",
                "e" + i,
                type,
                atSeconds(random.nextInt(300)),
                random.nextInt(5) == 0 ? null : "/p" + random.nextInt(12));
        if (type.equals("purchase")) {
          e =
              e.toBuilder()
                  .setAmount(new java.math.BigDecimal(random.nextInt(10000)).movePointLeft(2))
                  .setCurrency(random.nextBoolean() ? "USD" : "EUR")
                  .build();
        }
        if (random.nextBoolean()) {
          e = e.toBuilder().setReferrer("r" + random.nextInt(3)).build();
        }
        events.add(e);
      }
      SessionAccumulator expected = sequential(fn, events);
      // Beam's own harness: every split and merge order must agree.
      CombineFnTester.testCombineFn(fn, events, expected);
      List<ClickEvent> shuffled = new ArrayList<>(events);
      Collections.shuffle(shuffled, random);
      assertEquals(expected, sequential(fn, shuffled));
      assertEquals(bruteForcePages(events, cap), expected.pagesInVisitOrder());
    }
  }

  @Test
  public void countsCompareEventTypeExactlyAndRevenueIsExactPerCurrency() {
    SessionCombineFn fn = new SessionCombineFn(200);
    SessionAccumulator acc =
        sequential(
            fn,
            List.of(
                TestEvents.event("u", "1", "PAGE_VIEW", atSeconds(0), "/a"),
                TestEvents.event("u", "2", "page_view", atSeconds(1), "/a"),
                TestEvents.purchase("u", "3", atSeconds(2), "/c", "0.10", "USD"),
                TestEvents.purchase("u", "4", atSeconds(3), "/c", "0.20", "USD"),
                TestEvents.purchase("u", "5", atSeconds(4), "/c", "5.00", "EUR")));
    assertEquals(5, acc.eventCount());
    assertEquals(1, acc.pageViewCount());
    assertEquals(3, acc.purchaseCount());
    // 0.1 + 0.2 is exactly 0.30 here, unlike the seed's double.
    assertEquals(Long.valueOf(30), acc.centsByCurrency().get("USD"));
    assertEquals(Long.valueOf(500), acc.centsByCurrency().get("EUR"));
  }

  /** The cap smallest pages by (first visit, page), computed the obvious way. */
  private static List<String> bruteForcePages(List<ClickEvent> events, int cap) {
    Map<String, Long> first = new HashMap<>();
    for (ClickEvent e : events) {
      if (e.pageUrl() != null) {
        first.merge(e.pageUrl(), e.timestamp().getMillis(), Math::min);
      }
    }
    List<Map.Entry<String, Long>> entries = new ArrayList<>(first.entrySet());
    entries.sort(
        Map.Entry.<String, Long>comparingByValue()
            .thenComparing(Map.Entry.comparingByKey(Comparator.naturalOrder())));
    List<String> pages = new ArrayList<>();
    for (int i = 0; i < Math.min(cap, entries.size()); i++) {
      pages.add(entries.get(i).getKey());
    }
    return pages;
  }
}
