package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.empty;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.time.LocalDate;
import java.util.List;
import java.util.TreeSet;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The backfill's and the re-injection's options and day ranges (no pipeline runs). */
@RunWith(JUnit4.class)
public class BackfillSessionsTest {
  private static BackfillSessions.Options options(String... args) {
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    return PipelineOptionsFactory.fromArgs(args).as(BackfillSessions.Options.class);
  }

  @Test
  public void dayRangesAreWholeUtcDays() {
    BackfillSessions.DayRange one = BackfillSessions.DayRange.parse("2026-11-20");
    assertEquals(Instant.parse("2026-11-20T00:00:00Z"), one.from());
    assertEquals(Instant.parse("2026-11-21T00:00:00Z"), one.to());
    BackfillSessions.DayRange three = BackfillSessions.DayRange.parse("2026-11-30..2026-12-02");
    assertEquals(3, three.days());
    assertEquals("2026-11-30..2026-12-02", three.toString());
    assertThrows(
        IllegalArgumentException.class,
        () -> BackfillSessions.DayRange.parse("2026-11-22..2026-11-20"));
    assertThrows(
        IllegalArgumentException.class, () -> BackfillSessions.DayRange.parse("2026-02-30"));
    assertThrows(
        IllegalArgumentException.class, () -> BackfillSessions.DayRange.parse("yesterday"));
  }

  @Test
  public void eachBadOptionIsOneLineNamingIt() {
    assertThat(BackfillSessions.validate(options("--days=2026-11-20")), empty());
    assertThat(
        BackfillSessions.validate(
            options(
                "--days=20-11-2026",
                "--sessionGap=-5m",
                "--maxPagesPerSession=0",
                "--reportingCurrency=usd",
                "--eventsTable=events")),
        containsInAnyOrder(
            org.hamcrest.Matchers.startsWith("--days=20-11-2026 is not valid"),
            org.hamcrest.Matchers.startsWith(
                "--sessionGap=-5m is out of range: allowed values are 1ms to 1d"),
            org.hamcrest.Matchers.startsWith("--maxPagesPerSession=0 is out of range"),
            org.hamcrest.Matchers.startsWith("--reportingCurrency=usd is not valid"),
            org.hamcrest.Matchers.startsWith("--eventsTable=events is not valid")));
    assertThat(
        BackfillSessions.validate(options()),
        contains(org.hamcrest.Matchers.startsWith("--days is missing")));
  }

  @Test
  public void reinjectionBackfillsRunsOfConsecutiveDays() {
    TreeSet<LocalDate> days = new TreeSet<>();
    for (String d : List.of("2026-11-20", "2026-11-21", "2026-11-23", "2026-11-30", "2026-12-01")) {
      days.add(LocalDate.parse(d));
    }
    assertEquals(
        List.of("2026-11-20..2026-11-21", "2026-11-23", "2026-11-30..2026-12-01"),
        ReinjectLateEvents.runs(days));
    assertEquals(List.of(), ReinjectLateEvents.runs(new TreeSet<>()));
  }
}
