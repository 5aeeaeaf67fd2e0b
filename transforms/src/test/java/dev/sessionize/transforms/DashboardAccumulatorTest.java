package dev.sessionize.transforms;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.transforms.model.ClickEvent;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.beam.sdk.util.CoderUtils;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A minute's document is a function of the minute's events, not of how a runner cut them into
 * bundles or in which order it merged the partials: the same events added in one bundle, one bundle
 * per event, or bundles of random sizes merged in random order (each partial through the coder, as
 * between steps) give the same document, for a few users (the sketch's exact modes) and for
 * thousands (its HyperLogLog mode).
 */
@RunWith(JUnit4.class)
public class DashboardAccumulatorTest {
  private static final String USD = "USD";

  @Test
  public void aMinuteOfAFewUsersGivesTheSameDocumentHoweverItWasSplit() throws Exception {
    sameDocumentHoweverSplit(40, 400, 1);
  }

  @Test
  public void aMinuteOfThousandsOfUsersGivesTheSameDocumentHoweverItWasSplit() throws Exception {
    sameDocumentHoweverSplit(3_000, 9_000, 2);
  }

  @Test
  public void aMinuteAroundTheSketchsModeChangesGivesTheSameDocumentHoweverItWasSplit()
      throws Exception {
    for (int users : new int[] {7, 8, 9, 300, 380, 400, 600}) {
      sameDocumentHoweverSplit(users, users * 2, 3 + users);
    }
  }

  private static void sameDocumentHoweverSplit(int users, int events, long seed) throws Exception {
    Random random = new Random(seed);
    List<ClickEvent> minute = new ArrayList<>();
    Set<String> distinct = new HashSet<>();
    for (int i = 0; i < events; i++) {
      // Every user at least once, then at random.
      String user = "u" + (i < users ? i : random.nextInt(users));
      distinct.add(user);
      Instant t = TestEvents.atSeconds(random.nextInt(60));
      minute.add(
          TestEvents.view(user, "e" + i, t, "/p" + random.nextInt(15)).toBuilder()
              .setCountry(random.nextBoolean() ? "US" : "DE")
              .setOpensSession(random.nextInt(5) == 0)
              .build());
    }

    String oneBundle = document(List.of(minute), random);
    List<List<ClickEvent>> perEvent = new ArrayList<>();
    for (ClickEvent e : minute) {
      perEvent.add(List.of(e));
    }
    String eventByEvent = document(perEvent, random);
    assertEquals("one event per bundle", oneBundle, eventByEvent);
    for (int split = 0; split < 20; split++) {
      List<List<ClickEvent>> bundles = new ArrayList<>();
      for (int from = 0; from < minute.size(); ) {
        int to = Math.min(minute.size(), from + 1 + random.nextInt(Math.max(1, events / 4)));
        bundles.add(minute.subList(from, to));
        from = to;
      }
      Collections.shuffle(bundles, random);
      assertEquals("bundles of random sizes, split " + split, oneBundle, document(bundles, random));
    }
    // And still an estimate of the distinct users: within three standard errors (1.6 % at lgK 12).
    long estimate = accumulate(List.of(minute), random).uniqueUsers();
    assertTrue(
        "unique users " + estimate + " for " + distinct.size(),
        Math.abs(estimate - distinct.size()) <= 3 * 0.016 * distinct.size());
  }

  /** The document (but updated_at) of the minute, from one partial per bundle. */
  private static String document(List<List<ClickEvent>> bundles, Random random) throws Exception {
    return AggregateDashboard.toDocument(
            accumulate(bundles, random), TestEvents.T0, 10, Clock.fixed(TestEvents.NOW))
        .toJson();
  }

  /**
   * As the runner does it: one partial per bundle ({@code AddPerBundle}), each encoded and decoded,
   * then added to the minute's accumulator one at a time or merged in groups ({@code
   * CombineMinute}), then extracted.
   */
  private static DashboardAccumulator accumulate(List<List<ClickEvent>> bundles, Random random)
      throws Exception {
    DashboardAccumulator.Coder coder = new DashboardAccumulator.Coder();
    AggregateDashboard.MergeFn fn = new AggregateDashboard.MergeFn();
    List<DashboardAccumulator> partials = new ArrayList<>();
    for (List<ClickEvent> bundle : bundles) {
      DashboardAccumulator partial = new DashboardAccumulator();
      for (ClickEvent e : bundle) {
        partial.add(e, USD);
      }
      partials.add(CoderUtils.clone(coder, partial));
    }
    List<DashboardAccumulator> groups = new ArrayList<>();
    for (int from = 0; from < partials.size(); ) {
      int to = Math.min(partials.size(), from + 1 + random.nextInt(3));
      DashboardAccumulator acc = fn.createAccumulator();
      for (DashboardAccumulator partial : partials.subList(from, to)) {
        acc = CoderUtils.clone(coder, fn.addInput(acc, partial));
      }
      groups.add(acc);
      from = to;
    }
    return fn.extractOutput(fn.mergeAccumulators(groups));
  }
}
