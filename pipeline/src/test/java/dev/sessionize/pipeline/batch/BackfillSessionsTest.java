package dev.sessionize.pipeline.batch;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.empty;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.sessionize.pipeline.SessionRows;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergFiles;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The backfill's and the re-injection's options and day ranges (no pipeline runs). */
@RunWith(JUnit4.class)
public class BackfillSessionsTest {
  @org.junit.Rule
  public final org.junit.rules.TemporaryFolder tmp = new org.junit.rules.TemporaryFolder();

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
                "--eventsTable=events",
                "--maxSessionDuration=5m",
                "--maxFutureSkew=2d",
                "--readDays=2026-11-21..2026-11-20",
                "--sessionImpl=fast")),
        containsInAnyOrder(
            org.hamcrest.Matchers.startsWith(
                "--maxSessionDuration=5m is out of range: allowed values are 10m"
                    + " (sessionGap + allowedLateness + maxOutOfOrderness) to 30d"),
            org.hamcrest.Matchers.startsWith("--maxFutureSkew=2d is out of range"),
            org.hamcrest.Matchers.startsWith("--readDays=2026-11-21..2026-11-20 is not valid"),
            org.hamcrest.Matchers.startsWith("--sessionImpl=fast is not supported"),
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

  private static TreeSet<LocalDate> days(String... days) {
    TreeSet<LocalDate> out = new TreeSet<>();
    for (String d : days) {
      out.add(LocalDate.parse(d));
    }
    return out;
  }

  @Test
  public void aBackfillReplacesTheDaysSessionsCanStartInAndReadsADayAroundThem() {
    TreeSet<LocalDate> archive =
        days("2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-25");
    BackfillSessions.Plan plan =
        BackfillSessions.Plan.initial(options("--days=2026-11-20"), archive);
    // A session overlapping the day starts less than maxSessionDuration (24h) before it.
    assertEquals("2026-11-19..2026-11-20", plan.replaced().toString());
    assertEquals("2026-11-18..2026-11-21", plan.read().toString());
    assertEquals("2026-11-17..2026-11-25", plan.extend(true, true).read().toString());
    assertEquals("2026-11-18..2026-11-25", plan.extend(false, true).read().toString());
    assertEquals(
        "the archive has no day before 2026-11-17",
        null,
        plan.extend(true, false).extend(true, false));
    assertEquals(
        "2026-11-17..2026-11-22",
        BackfillSessions.Plan.initial(
                options("--days=2026-11-20..2026-11-21", "--maxSessionDuration=30h"), archive)
            .read()
            .toString());
    // With TOO_LATE records: to the archive's last day, where late records are.
    assertEquals(
        "2026-11-18..2026-11-25",
        BackfillSessions.Plan.initial(
                options("--days=2026-11-20", "--includeTooLate=true"), archive)
            .read()
            .toString());
    // Read days without records: on to the first ones after them.
    assertEquals(
        "2026-11-18..2026-11-25",
        BackfillSessions.Plan.initial(options("--days=2026-11-20"), days("2026-11-25"))
            .read()
            .toString());
    BackfillSessions.Plan fixed =
        BackfillSessions.Plan.initial(
            options("--days=2026-11-20", "--readDays=2026-11-19..2026-11-20"), archive);
    assertEquals("2026-11-19..2026-11-20", fixed.read().toString());
    assertEquals("given read days are not extended", null, fixed.extend(false, true));
  }

  private static final long MIN = 60_000L;

  private static ReadWindowCheck.Bounds bounds(long readFrom, Set<Integer> later) {
    // Replaced starts [1000 min, 2440 min); gap 30 min; final 40 min after; skew 5 min.
    return new ReadWindowCheck.Bounds(
        false, readFrom, 5 * MIN, 1000 * MIN, 2440 * MIN, 30 * MIN, 40 * MIN, later, "R1..R2");
  }

  private static ReadWindowCheck.Summary chains(long earliestStart, long needUntil) {
    ReadWindowCheck.Summary s = new ReadWindowCheck.Summary();
    s.earliestStart = earliestStart;
    s.earliestExample = "user u's sessions from ...";
    s.needUntil = needUntil;
    s.needExample = "user v's sessions until ...";
    return s;
  }

  private static ReadWindowCheck.Read read(Map<String, Long> streamTimes) {
    return new ReadWindowCheck.Read(streamTimes, Map.of("t/0", 0L, "t/1", 0L), 0L);
  }

  @Test
  public void theReadDaysAreEnoughWhenEveryPartitionsStreamTimeIsPastTheReplacedChains() {
    Map<String, Long> streamTimes = Map.of("t/0", 2600 * MIN, "t/1", 2500 * MIN);
    long none = Long.MAX_VALUE;
    assertEquals(
        null,
        ReadWindowCheck.problem(
            bounds(0, Set.of(0, 1)), chains(1100 * MIN, 2460 * MIN), read(streamTimes)));
    // Partition 1's stream time (2500) is not 40 minutes past 2470.
    String late =
        ReadWindowCheck.problem(bounds(0, Set.of()), chains(none, 2470 * MIN), read(streamTimes));
    assertThat(
        late, org.hamcrest.Matchers.containsString("[read-window earlier=false later=true]"));
    assertThat(late, org.hamcrest.Matchers.containsString("partition t/1"));
    // Not past the replaced days' end either (2440 + 40 > 2470).
    assertThat(
        ReadWindowCheck.problem(
            bounds(0, Set.of()), chains(none, 0), read(Map.of("t/0", 2470 * MIN))),
        org.hamcrest.Matchers.containsString("later=true"));
    // Nothing read at all: nothing says the range is closed.
    assertThat(
        ReadWindowCheck.problem(bounds(0, Set.of()), chains(none, 0), read(Map.of())),
        org.hamcrest.Matchers.containsString("no event was read in them"));
    // A partition with records read later but none in the read days.
    assertThat(
        ReadWindowCheck.problem(bounds(0, Set.of(0, 2)), chains(none, 0), read(streamTimes)),
        org.hamcrest.Matchers.containsString(
            "partition 2 has records read after the read days and none in them"));
    // A chain that starts less than a gap after the first complete time (read from 900 + 5).
    String early =
        ReadWindowCheck.problem(
            bounds(900 * MIN, Set.of()), chains(930 * MIN, 0), read(streamTimes));
    assertThat(
        early, org.hamcrest.Matchers.containsString("[read-window earlier=true later=false]"));
    assertThat(early, org.hamcrest.Matchers.containsString("user u's sessions from"));
    assertEquals(
        null,
        ReadWindowCheck.problem(
            bounds(900 * MIN, Set.of()), chains(935 * MIN, 0), read(streamTimes)));
    // The replaced days themselves must be complete a gap before their start.
    assertThat(
        ReadWindowCheck.problem(bounds(980 * MIN, Set.of()), chains(none, 0), read(streamTimes)),
        org.hamcrest.Matchers.containsString("the first replaced day"));
  }

  @Test
  public void readDaysStartingWithTheArchiveAreCompleteOnlyFromOffsetZero() {
    ReadWindowCheck.Bounds fromStart =
        new ReadWindowCheck.Bounds(
            true, 0, 5 * MIN, 1000 * MIN, 2440 * MIN, 30 * MIN, 40 * MIN, Set.of(), "R1..R2");
    assertEquals(
        Long.MIN_VALUE,
        ReadWindowCheck.completeFrom(
            fromStart,
            new ReadWindowCheck.Read(Map.of(), Map.of("t/0", 0L, "t/1", 0L), 990 * MIN)));
    // Partition 1 was archived from offset 7: the job read records before it archived them.
    assertEquals(
        995 * MIN,
        ReadWindowCheck.completeFrom(
            fromStart,
            new ReadWindowCheck.Read(Map.of(), Map.of("t/0", 0L, "t/1", 7L), 990 * MIN)));
    assertThat(
        ReadWindowCheck.problem(
            fromStart,
            chains(Long.MAX_VALUE, 0),
            new ReadWindowCheck.Read(
                Map.of("t/0", 3000 * MIN, "t/1", 3000 * MIN),
                Map.of("t/0", 0L, "t/1", 7L),
                990 * MIN)),
        org.hamcrest.Matchers.containsString("not at offset 0 of every partition"));
  }

  @Test
  public void chainsAreSessionsLessThanAGapApart() throws Exception {
    ReadWindowCheck.Bounds b = bounds(900 * MIN, Set.of());
    List<dev.sessionize.transforms.model.Session> sessions =
        List.of(
            // 920-980 then 1000 (a cut or a final session 20 min before): one chain from 920.
            SessionRows.session("u", new Instant(920 * MIN), new Instant(980 * MIN), 2, 0, true),
            SessionRows.session("u", new Instant(1000 * MIN), new Instant(1010 * MIN), 2, 0, true),
            // 1100: a real gap before it; not replaced-relevant on its own.
            SessionRows.session("u", new Instant(1100 * MIN), new Instant(2450 * MIN), 2, 0, true),
            SessionRows.session("u", new Instant(2470 * MIN), new Instant(2500 * MIN), 2, 0, true));
    List<ReadWindowCheck.Summary> out = new ArrayList<>();
    ReadWindowCheck.ChainsFn fn = new ReadWindowCheck.ChainsFn(b);
    fn.startBundle();
    fn.process(org.apache.beam.sdk.values.KV.of("u", sessions));
    out.add(fn.bundleSummary());
    assertEquals(1, out.size());
    assertEquals(
        "the chain from 920 reaches the replaced days", 920 * MIN, out.get(0).earliestStart);
    // The chain 1100-2450 then 2470-2500 (20 min apart) is replaced; it ends at 2500, + gap.
    assertEquals(2530 * MIN, out.get(0).needUntil);
  }

  @Test
  public void aFailedCheckIsFoundInTheCausesOfARunnersException() {
    RuntimeException wrapped =
        new RuntimeException(
            "job failed",
            new IllegalStateException(
                "java.lang.IllegalStateException: the read days 2026-11-18..2026-11-21 are not"
                    + " enough [read-window earlier=false later=true]: later records could"
                    + "\n\tat dev.sessionize..."));
    ReadWindowCheck.Failure f = ReadWindowCheck.find(wrapped);
    assertEquals(false, f.earlier());
    assertEquals(true, f.later());
    assertThat(
        f.message(),
        org.hamcrest.Matchers.startsWith("the read days 2026-11-18..2026-11-21 are not enough"));
    assertEquals(null, ReadWindowCheck.find(new RuntimeException("other")));
  }

  @Test
  public void anArchiveOfTheFormerLayoutIsRefusedNamingTheOption() throws Exception {
    java.io.File warehouse = tmp.newFolder();
    IcebergCatalog catalog = IcebergCatalog.hadoop(warehouse.getPath());
    org.apache.iceberg.Schema former =
        new org.apache.iceberg.Schema(
            org.apache.iceberg.types.Types.NestedField.required(
                1, "event_time", org.apache.iceberg.types.Types.TimestampType.withZone()),
            org.apache.iceberg.types.Types.NestedField.required(
                2, "user_id", org.apache.iceberg.types.Types.StringType.get()));
    IcebergFiles.openOrCreate(
        catalog, "old.events", former, org.apache.iceberg.PartitionSpec.unpartitioned());
    InvalidOptionsException e =
        assertThrows(
            InvalidOptionsException.class, () -> EventsTable.openOrCreate(catalog, "old.events"));
    assertThat(
        e.problems(),
        contains(org.hamcrest.Matchers.startsWith("--eventsTable=old.events holds the former")));
  }

  @Test
  public void tooLateLettersGiveTheirPositionAndTimes() {
    ReinjectLateEvents.Late late =
        ReinjectLateEvents.lateLetter(
            "{\"reason\":\"TOO_LATE\",\"detail\":\"d\",\"payload\":\"{}\","
                + "\"source\":{\"topic\":\"clickstream_events\",\"partition\":1,\"offset\":42},"
                + "\"event_time\":\"2026-11-20T10:00:00Z\",\"rejected_at\":\"2026-12-03T10:00:00Z\"}");
    assertEquals("clickstream_events/1/42", late.position());
    assertEquals(Instant.parse("2026-11-20T10:00:00Z"), late.eventTime());
    assertEquals(
        null,
        ReinjectLateEvents.lateLetter(
            "{\"reason\":\"MALFORMED_JSON\",\"source\":{},\"event_time\":null,"
                + "\"rejected_at\":\"2026-12-03T10:00:00Z\"}"));
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
