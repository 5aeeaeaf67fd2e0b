package dev.sessionize.pipeline.batch;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionImpl;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import dev.sessionize.transforms.options.OptionsParser;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.Max;
import org.apache.beam.sdk.transforms.Min;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.TimestampCombiner;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The batch layer's backfill: the <b>whole streaming pipeline</b> ({@link SessionizeClickstream}:
 * parse, lateness gate, dedup, sessions) over the raw archive ({@link EventsTable}), replacing the
 * sessions of a range of days in the {@code sessions} table in one commit.
 *
 * <pre>
 * archive files of the read days ─► ReadArchivedRecords ─► DedupBySourcePosition ─► DropFutureAtIngestion
 *   ─► SessionizeClickstream (the job's transforms) ─► sessions starting in the replaced days
 *   ─► RequireCompleteReadDays ─► ReplaceSessions
 * </pre>
 *
 * Run it as {@code ./sessionize backfill --days=2026-11-20 --warehouse=warehouse} (or {@code
 * backfill flink}, {@code backfill spark}); {@code --includeTooLate=true} also takes the records
 * the stream rejected as TOO_LATE.
 *
 * <p><b>Which rows it replaces.</b> Every session that overlaps the event days {@code --days} is
 * written whole, so the table's partitions ({@code day(start_time)}) it replaces run from the day
 * of {@code from - maxSessionDuration} (a session that started then can still run into the range)
 * to the last day of the range, and every session starting in them is recomputed: none is cut or
 * dropped at the edges.
 *
 * <p><b>Which records it reads.</b> The archive is partitioned by the day a record was read. The
 * backfill reads from the day before the first replaced day to the day after the last one (with
 * {@code --includeTooLate}: to the archive's last day, where late records are), de-duplicated by
 * source position (a replay or a re-committed file archives a record twice). Before anything is
 * written, {@link ReadWindowCheck} checks on the run's own sessions and stream times that those
 * days hold every record that could change a replaced session; when they do not, the run fails
 * before its commit and {@link #backfill} reads one more archive day on the side that is short, up
 * to {@value #MAX_ATTEMPTS} runs. {@code --readDays} fixes the read days (no extension).
 */
public final class BackfillSessions {
  private static final Pattern DAYS =
      Pattern.compile("(\\d{4}-\\d{2}-\\d{2})(\\.\\.(\\d{4}-\\d{2}-\\d{2}))?");

  /** Runs of one backfill at most, each reading one more archive day than the one before. */
  static final int MAX_ATTEMPTS = 10;

  /** The allowed lateness that makes nothing TOO_LATE: longer than any archive. */
  static final Duration NEVER_LATE = Duration.standardDays(36_500);

  private BackfillSessions() {}

  /** Options of the backfill; the event-time and parsing rules must be the streaming job's. */
  public interface Options extends IcebergOptions {
    @Description(
        "The days (UTC) whose sessions are recomputed: 2026-11-20, or a range of whole days"
            + " 2026-11-20..2026-11-22 (both included). Every session overlapping them is written"
            + " whole: the rows of the day(s) before, back to maxSessionDuration, are replaced too.")
    String getDays();

    void setDays(String value);

    @Description(
        "The days (UTC) of the archive to read, by when the job read the records:"
            + " YYYY-MM-DD..YYYY-MM-DD. Default: the day before the first replaced day to the day"
            + " after the last one (to the archive's last day with --includeTooLate), extended a"
            + " day at a time while they do not hold every record that could change a replaced"
            + " session. Given, they are not extended.")
    @Default.String("")
    String getReadDays();

    void setReadDays(String value);

    @Description(
        "Also take the records the stream rejected as TOO_LATE (no lateness gate, no session"
            + " closed before the end): what a batch run over all the data gives.")
    @Default.Boolean(false)
    boolean getIncludeTooLate();

    void setIncludeTooLate(boolean value);

    @Description(
        "Fail before writing when the read days may not hold every record that could change a"
            + " replaced session (see --readDays); false skips the check.")
    @Default.Boolean(true)
    boolean getCheckReadDays();

    void setCheckReadDays(boolean value);

    @Description("Session gap, as in the streaming job.")
    @Default.String("30m")
    String getSessionGap();

    void setSessionGap(String value);

    @Description("Allowed lateness, as in the streaming job.")
    @Default.String("5m")
    String getAllowedLateness();

    void setAllowedLateness(String value);

    @Description("Out-of-orderness, as in the streaming job.")
    @Default.String("5m")
    String getMaxOutOfOrderness();

    void setMaxOutOfOrderness(String value);

    @Description("Cap on a session's duration, as in the streaming job.")
    @Default.String("24h")
    String getMaxSessionDuration();

    void setMaxSessionDuration(String value);

    @Description("Records larger than this many bytes are OVERSIZE, as in the streaming job.")
    @Default.Integer(65536)
    int getMaxRecordBytes();

    void setMaxRecordBytes(int value);

    @Description(
        "Events further ahead of the time they were read than this are FUTURE_TIMESTAMP, as in the"
            + " streaming job.")
    @Default.String("5m")
    String getMaxFutureSkew();

    void setMaxFutureSkew(String value);

    @Description("Cap on the pages_visited list of a session, as in the streaming job.")
    @Default.Integer(200)
    int getMaxPagesPerSession();

    void setMaxPagesPerSession(int value);

    @Description("ISO-4217 currency of the revenue column, as in the streaming job.")
    @Default.String("USD")
    String getReportingCurrency();

    void setReportingCurrency(String value);

    @Description("The sessions step, as in the streaming job: state or windows.")
    @Default.String("state")
    String getSessionImpl();

    void setSessionImpl(String value);
  }

  /** The first day (inclusive) and the day after the last one, as UTC midnights. */
  public record DayRange(Instant from, Instant to) {
    public static DayRange parse(String text) {
      Matcher m = DAYS.matcher(text == null ? "" : text.trim());
      if (!m.matches()) {
        throw new IllegalArgumentException("use YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD");
      }
      LocalDate first;
      LocalDate last;
      try {
        first = LocalDate.parse(m.group(1));
        last = m.group(3) == null ? first : LocalDate.parse(m.group(3));
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("not a date: " + e.getParsedString());
      }
      if (last.isBefore(first)) {
        throw new IllegalArgumentException("the last day is before the first");
      }
      return of(first, last);
    }

    public static DayRange of(LocalDate first, LocalDate last) {
      return new DayRange(EventsTable.midnight(first), EventsTable.midnight(last.plusDays(1)));
    }

    public LocalDate first() {
      return EventsTable.day(from);
    }

    public LocalDate last() {
      return EventsTable.day(to).minusDays(1);
    }

    public long days() {
      return new Duration(from, to).getStandardDays();
    }

    @Override
    public String toString() {
      return first().equals(last()) ? first().toString() : first() + ".." + last();
    }
  }

  /**
   * One run's days: the event days asked for, the partitions replaced, and the archive days read
   * (with the archive's own days, to extend them).
   */
  public record Plan(
      DayRange days,
      DayRange replaced,
      DayRange read,
      TreeSet<LocalDate> archiveDays,
      boolean extensible) {

    /** The first plan of a backfill, from its options and the archive's days. */
    static Plan initial(Options o, TreeSet<LocalDate> archiveDays) {
      DayRange days = DayRange.parse(o.getDays());
      Duration maxDuration = DurationOption.parse(o.getMaxSessionDuration());
      // A session that overlaps the days starts less than maxSessionDuration before them.
      LocalDate replacedFirst = EventsTable.day(days.from().minus(maxDuration).plus(1));
      DayRange replaced = DayRange.of(replacedFirst, days.last());
      if (!o.getReadDays().isBlank()) {
        return new Plan(days, replaced, DayRange.parse(o.getReadDays()), archiveDays, false);
      }
      LocalDate first = replacedFirst.minusDays(1);
      LocalDate last = days.last().plusDays(1);
      if (o.getIncludeTooLate() && !archiveDays.isEmpty() && archiveDays.last().isAfter(last)) {
        last = archiveDays.last();
      }
      // Read days without any archived record cannot hold the sessions: go on to the next ones.
      while (archiveDays.subSet(first, true, last, true).isEmpty()
          && archiveDays.higher(last) != null) {
        last = archiveDays.higher(last);
      }
      return new Plan(days, replaced, DayRange.of(first, last), archiveDays, true);
    }

    /** The plan reading one more archive day on each side asked for; null when there is none. */
    @Nullable Plan extend(boolean earlier, boolean later) {
      if (!extensible) {
        return null;
      }
      LocalDate first = read.first();
      LocalDate last = read.last();
      if (earlier) {
        LocalDate before = archiveDays.lower(first);
        if (before == null) {
          return null;
        }
        first = before;
      }
      if (later) {
        LocalDate after = archiveDays.higher(last);
        if (after == null) {
          return null;
        }
        last = after;
      }
      return new Plan(days, replaced, DayRange.of(first, last), archiveDays, true);
    }

    /** True when no archived record was read before the read days. */
    boolean readsFromTheStart() {
      return archiveDays.isEmpty() || !archiveDays.first().isBefore(read.first());
    }
  }

  /** A finished backfill: the last run, its plan, and how many runs it took. */
  public record Outcome(PipelineResult result, Plan plan, int attempts, long wallMillis) {}

  /** A backfill that cannot be done as asked; the message is one line for the user. */
  public static final class BackfillException extends RuntimeException {
    BackfillException(String message, @Nullable Throwable cause) {
      super(message, cause);
    }
  }

  public static void main(String[] args) {
    Options options = OptionsParser.parseOrExit("sessionize backfill", args, Options.class);
    Outcome outcome;
    try {
      outcome = backfill(options);
    } catch (InvalidOptionsException e) {
      for (String problem : e.problems()) {
        System.err.println("sessionize backfill: " + problem);
      }
      System.exit(2);
      return;
    } catch (BackfillException e) {
      System.err.println("sessionize backfill: " + e.getMessage());
      System.exit(1);
      return;
    }
    System.out.println(summary(outcome, options));
  }

  /** One line per bad option, naming it and the allowed values; empty when all are fine. */
  public static List<String> validate(Options o) {
    List<String> problems = rulesProblems(o);
    if (o.getDays() == null) {
      problems.add("--days is missing: give YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD");
    } else {
      try {
        DayRange.parse(o.getDays());
      } catch (IllegalArgumentException e) {
        problems.add("--days=" + o.getDays() + " is not valid: " + e.getMessage());
      }
    }
    return problems;
  }

  /** The problems of every option but {@code --days}. */
  static List<String> rulesProblems(Options o) {
    List<String> problems = new ArrayList<>(IcebergOptions.validate(o));
    Duration sum = Duration.ZERO;
    for (String[] d :
        new String[][] {
          {"sessionGap", o.getSessionGap()},
          {"allowedLateness", o.getAllowedLateness()},
          {"maxOutOfOrderness", o.getMaxOutOfOrderness()},
          {"maxFutureSkew", o.getMaxFutureSkew()}
        }) {
      try {
        Duration value = DurationOption.parse(d[1]);
        boolean gap = "sessionGap".equals(d[0]);
        if (value.isLongerThan(Duration.standardDays(1)) || value.getMillis() < (gap ? 1 : 0)) {
          problems.add(
              "--"
                  + d[0]
                  + "="
                  + d[1]
                  + " is out of range: allowed values are "
                  + (gap ? "1ms" : "0s")
                  + " to 1d");
        } else if (!"maxFutureSkew".equals(d[0])) {
          sum = sum.plus(value);
        }
      } catch (IllegalArgumentException e) {
        problems.add("--" + d[0] + "=" + d[1] + " is not valid: " + e.getMessage());
      }
    }
    try {
      Duration max = DurationOption.parse(o.getMaxSessionDuration());
      Duration min =
          sum.isLongerThan(Duration.standardMinutes(1)) ? sum : Duration.standardMinutes(1);
      if (max.isShorterThan(min) || max.isLongerThan(Duration.standardDays(30))) {
        problems.add(
            "--maxSessionDuration="
                + o.getMaxSessionDuration()
                + " is out of range: allowed values are "
                + DurationOption.format(min)
                + " (sessionGap + allowedLateness + maxOutOfOrderness) to 30d");
      }
    } catch (IllegalArgumentException e) {
      problems.add(
          "--maxSessionDuration=" + o.getMaxSessionDuration() + " is not valid: " + e.getMessage());
    }
    if (o.getMaxRecordBytes() < 1 || o.getMaxRecordBytes() > 16 << 20) {
      problems.add(
          "--maxRecordBytes="
              + o.getMaxRecordBytes()
              + " is out of range: allowed values are 1 to "
              + (16 << 20));
    }
    if (o.getMaxPagesPerSession() < 1 || o.getMaxPagesPerSession() > 10_000) {
      problems.add(
          "--maxPagesPerSession="
              + o.getMaxPagesPerSession()
              + " is out of range: allowed values are 1 to 10000");
    }
    if (o.getReportingCurrency() == null || !o.getReportingCurrency().matches("[A-Z]{3}")) {
      problems.add(
          "--reportingCurrency="
              + o.getReportingCurrency()
              + " is not valid: use a 3-letter upper-case ISO-4217 code such as USD");
    }
    if (!"state".equals(o.getSessionImpl()) && !"windows".equals(o.getSessionImpl())) {
      problems.add(
          "--sessionImpl="
              + o.getSessionImpl()
              + " is not supported: allowed values are state, windows");
    }
    if (o.getReadDays() == null) {
      o.setReadDays("");
    }
    if (!o.getReadDays().isBlank()) {
      try {
        DayRange.parse(o.getReadDays());
      } catch (IllegalArgumentException e) {
        problems.add("--readDays=" + o.getReadDays() + " is not valid: " + e.getMessage());
      }
    }
    return problems;
  }

  /** The streaming job's event-time rules, from the backfill's options. */
  static SessionizeConfig streamConfig(Options o) {
    return SessionizeConfig.defaults().toBuilder()
        .setSessionGap(DurationOption.parse(o.getSessionGap()))
        .setAllowedLateness(DurationOption.parse(o.getAllowedLateness()))
        .setMaxOutOfOrderness(DurationOption.parse(o.getMaxOutOfOrderness()))
        .setMaxSessionDuration(DurationOption.parse(o.getMaxSessionDuration()))
        .setMaxPagesPerSession(o.getMaxPagesPerSession())
        .setReportingCurrency(o.getReportingCurrency())
        .build();
  }

  /**
   * The rules the run applies: the stream's, or with {@code --includeTooLate} an allowed lateness
   * longer than any archive, so that the lateness gate rejects nothing and no session is final
   * before the end of the run (the same transforms; every accepted or too-late event counts).
   */
  static SessionizeConfig runConfig(Options o) {
    SessionizeConfig stream = streamConfig(o);
    return o.getIncludeTooLate()
        ? stream.toBuilder().setAllowedLateness(NEVER_LATE).build()
        : stream;
  }

  /**
   * Validates the options and backfills: runs the pipeline, and while the read days turn out to be
   * too few ({@link ReadWindowCheck}) runs it again with one more archive day on the short side.
   * Blocks until the commit.
   */
  public static Outcome backfill(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    long started = System.nanoTime();
    Table events =
        EventsTable.openOrCreate(IcebergOptions.catalog(options), options.getEventsTable());
    TreeSet<LocalDate> archiveDays = EventsTable.days(events);
    if (archiveDays.isEmpty()) {
      throw new BackfillException(
          "the archive "
              + options.getEventsTable()
              + " holds no records: nothing to recompute the sessions from (the job writes it with"
              + " --archiveEvents=true)",
          null);
    }
    Plan plan = Plan.initial(options, archiveDays);
    for (int attempt = 1; ; attempt++) {
      try {
        PipelineResult result = run(options, plan);
        result.waitUntilFinish();
        return new Outcome(result, plan, attempt, (System.nanoTime() - started) / 1_000_000);
      } catch (RuntimeException e) {
        ReadWindowCheck.Failure failure = ReadWindowCheck.find(e);
        if (failure == null) {
          throw e;
        }
        Plan next = attempt < MAX_ATTEMPTS ? plan.extend(failure.earlier(), failure.later()) : null;
        if (next == null) {
          throw new BackfillException(
              failure.message()
                  + (plan.extensible()
                      ? (failure.later() && plan.archiveDays().higher(plan.read().last()) == null
                          ? "; the archive has no later days: the stream has not closed these"
                              + " sessions yet, backfill them later (or --checkReadDays=false)"
                          : "; give --readDays")
                      : "; give other --readDays"),
              e);
        }
        System.out.println(
            "sessionize backfill: " + failure.message() + "; reading " + next.read() + " instead");
        plan = next;
      }
    }
  }

  /** One run of the backfill pipeline over {@code plan}'s read days; blocks on the DirectRunner. */
  public static PipelineResult run(Options options, Plan plan) {
    SessionizeConfig stream = streamConfig(options);
    SessionizeConfig config = runConfig(options);
    IcebergCatalog catalog = IcebergOptions.catalog(options);
    Table events = EventsTable.openOrCreate(catalog, options.getEventsTable());
    Table sessions = SessionsTable.openOrCreate(catalog, options.getSessionsTable());
    Snapshot current = sessions.currentSnapshot();
    List<String> files = EventsTable.dataFiles(events, plan.read().from(), plan.read().to());
    Duration skew = DurationOption.parse(options.getMaxFutureSkew());
    EventParser parser = new EventParser(options.getMaxRecordBytes(), skew);

    Pipeline pipeline = Pipeline.create(options);
    PCollection<EventsTable.Archived> archived =
        pipeline
            .apply("ListArchiveFiles", Create.of(files).withCoder(StringUtf8Coder.of()))
            .apply(
                "ReadArchivedRecords",
                ParDo.of(new ReadFileFn(catalog, options.getEventsTable(), plan.read())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), EventsTable.ArchivedCoder.of()))
            // The lateness gate orders each partition by offset through the timestamps (it stamps
            // offsets, never moving an element back): records must reach it at the minimum, as
            // from a bounded source, and not behind the watermark (the DirectRunner drops
            // elements behind it from a time-sorted step). The earliest of the inputs' timestamps
            // (the minimum) holds the watermark there.
            .apply(
                "KeepMinimumTimestamps",
                Window.<KV<String, EventsTable.Archived>>configure()
                    .withTimestampCombiner(TimestampCombiner.EARLIEST))
            .apply("DedupBySourcePosition", Combine.perKey(new FirstReadFn()))
            .apply("Records", Values.create())
            .apply(
                "RestoreTimestampCombiner",
                Window.<EventsTable.Archived>configure()
                    .withTimestampCombiner(TimestampCombiner.END_OF_WINDOW))
            // A runner that stamps combined values otherwise (in batch, where no watermark drops
            // anything) gets them moved back to the minimum.
            .apply("AtMinimumTimestamp", ParDo.of(new AtMinimumTimestampFn()))
            .setCoder(EventsTable.ArchivedCoder.of());
    PCollectionTuple checked =
        archived.apply(
            "DropFutureAtIngestion",
            ParDo.of(new FutureAtIngestionFn(parser))
                .withOutputTags(
                    FutureAtIngestionFn.RECORDS,
                    TupleTagList.of(FutureAtIngestionFn.EVENT_TIMES)
                        .and(FutureAtIngestionFn.OFFSETS)
                        .and(FutureAtIngestionFn.INGESTED)));
    PCollection<RawRecord> records =
        checked.get(FutureAtIngestionFn.RECORDS).setCoder(RawRecord.RawRecordCoder.of());
    SessionImpl impl =
        "windows".equals(options.getSessionImpl()) ? SessionImpl.WINDOWS : SessionImpl.STATE;
    PCollection<Session> all =
        records
            .apply(
                "SessionizeClickstream",
                SessionizeClickstream.of(
                        config,
                        ParseEvents.create()
                            .withMaxRecordBytes(options.getMaxRecordBytes())
                            .withMaxFutureSkew(skew))
                    .withSessionImpl(impl))
            .get(SessionizeClickstream.SESSIONS);

    DayRange replaced = plan.replaced();
    Instant from = replaced.from();
    Instant to = replaced.to();
    PCollection<Session> written =
        all.apply(
                "KeepSessionsOfReplacedDays",
                Filter.by(
                    (Session s) -> !s.startTime().isBefore(from) && s.startTime().isBefore(to)))
            .setCoder(Session.SessionCoder.of());
    PCollectionView<String> check;
    if (options.getCheckReadDays()) {
      ReadWindowCheck.Bounds bounds =
          new ReadWindowCheck.Bounds(
              plan.readsFromTheStart(),
              plan.read().from().getMillis(),
              skew.getMillis(),
              from.getMillis(),
              to.getMillis(),
              stream.sessionGap().getMillis(),
              stream.lateness().plus(stream.maxOutOfOrderness()).getMillis(),
              EventsTable.partitionsReadFrom(events, plan.read().to()),
              plan.read().toString());
      PCollectionView<ReadWindowCheck.Summary> chains =
          all.apply(
                  "KeyByUser", WithKeys.of(Session::userId).withKeyType(TypeDescriptors.strings()))
              .setCoder(KvCoder.of(StringUtf8Coder.of(), Session.SessionCoder.of()))
              .apply("GroupByUser", GroupByKey.create())
              .apply("ChainsOfSessions", ParDo.of(new ReadWindowCheck.ChainsFn(bounds)))
              .setCoder(SerializableCoder.of(ReadWindowCheck.Summary.class))
              .apply(
                  "AllChains", Combine.globally(new ReadWindowCheck.SummaryFn()).asSingletonView());
      PCollectionView<Map<String, Long>> streamTimes =
          checked
              .get(FutureAtIngestionFn.EVENT_TIMES)
              .setCoder(KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()))
              .apply("StreamTimePerPartition", Max.longsPerKey())
              .apply("StreamTimes", View.asMap());
      PCollectionView<Map<String, Long>> lowestOffsets =
          checked
              .get(FutureAtIngestionFn.OFFSETS)
              .setCoder(KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()))
              .apply("LowestOffsetPerPartition", Min.longsPerKey())
              .apply("LowestOffsets", View.asMap());
      PCollectionView<Long> firstIngested =
          checked
              .get(FutureAtIngestionFn.INGESTED)
              .setCoder(VarLongCoder.of())
              .apply("FirstIngested", Min.longsGlobally().asSingletonView());
      check =
          pipeline
              .apply("Once", Create.of("check").withCoder(StringUtf8Coder.of()))
              .apply(
                  "CheckReadDays",
                  ParDo.of(new ReadWindowCheck.CheckFn(bounds))
                      .withSideInput(ReadWindowCheck.CheckFn.CHAINS, chains)
                      .withSideInput(ReadWindowCheck.CheckFn.STREAM_TIMES, streamTimes)
                      .withSideInput(ReadWindowCheck.CheckFn.LOWEST_OFFSETS, lowestOffsets)
                      .withSideInput(ReadWindowCheck.CheckFn.FIRST_INGESTED, firstIngested))
              .setCoder(StringUtf8Coder.of())
              .apply("CheckResult", View.asSingleton());
    } else {
      check =
          pipeline
              .apply("Unchecked", Create.of("unchecked").withCoder(StringUtf8Coder.of()))
              .apply("CheckResult", View.asSingleton());
    }
    written
        .apply(
            "AfterTheCheck",
            ParDo.of(new ReadWindowCheck.AfterCheckFn())
                .withSideInput(ReadWindowCheck.AfterCheckFn.CHECK, check))
        .setCoder(Session.SessionCoder.of())
        .apply(
            "ReplaceSessions",
            new ReplaceSessions(
                catalog,
                options.getSessionsTable(),
                from,
                to,
                current == null ? null : current.snapshotId(),
                check));
    return pipeline.run();
  }

  /** Reads one data file of the archive; each record keyed by its source position. */
  static class ReadFileFn extends DoFn<String, KV<String, EventsTable.Archived>> {
    private final IcebergCatalog catalog;
    private final String tableName;
    private final Instant readFrom;
    private final Instant readTo;
    private final Counter read = SessionizeMetrics.counter("backfill_records_read");
    private transient Table table;

    ReadFileFn(IcebergCatalog catalog, String tableName, DayRange days) {
      this.catalog = catalog;
      this.tableName = tableName;
      this.readFrom = days.from();
      this.readTo = days.to();
    }

    @Setup
    public void setup() {
      table = EventsTable.openOrCreate(catalog, tableName);
    }

    @ProcessElement
    public void process(
        @Element String path, OutputReceiver<KV<String, EventsTable.Archived>> out) {
      EventsTable.readFile(
          table,
          path,
          a -> {
            // Files are whole day partitions of the read days; the check costs nothing.
            if (!a.ingestedAt().isBefore(readFrom) && a.ingestedAt().isBefore(readTo)) {
              read.inc();
              out.output(KV.of(a.position(), a));
            }
          });
    }
  }

  /** Each element at the minimum timestamp (a bounded source's), whatever it had. */
  static class AtMinimumTimestampFn extends DoFn<EventsTable.Archived, EventsTable.Archived> {
    @ProcessElement
    public void process(@Element EventsTable.Archived a, OutputReceiver<EventsTable.Archived> out) {
      out.outputWithTimestamp(a, BoundedWindow.TIMESTAMP_MIN_VALUE);
    }

    /** It moves elements back in time on purpose (the runner may stamp combined values later). */
    @Override
    @SuppressWarnings("deprecation")
    public Duration getAllowedTimestampSkew() {
      return Duration.millis(Long.MAX_VALUE);
    }
  }

  /** Of the copies of one record, the one read first (they hold the same bytes). */
  static class FirstReadFn
      implements SerializableBiFunction<
          EventsTable.Archived, EventsTable.Archived, EventsTable.Archived> {
    @Override
    public EventsTable.Archived apply(EventsTable.Archived a, EventsTable.Archived b) {
      return b.ingestedAt().isBefore(a.ingestedAt()) ? b : a;
    }
  }

  /**
   * Drops the records the stream rejected as FUTURE_TIMESTAMP: that verdict compares the event time
   * with processing time, which the backfill replays as the time the record was read ({@code
   * ingested_at}; the stream's parse ran a few milliseconds later). Also outputs what {@link
   * ReadWindowCheck} needs: each valid event's partition and event time (the partitions' stream
   * times), each record's partition and offset, and when it was read.
   */
  static class FutureAtIngestionFn extends DoFn<EventsTable.Archived, RawRecord> {
    static final TupleTag<RawRecord> RECORDS = new TupleTag<RawRecord>("records") {};
    static final TupleTag<KV<String, Long>> EVENT_TIMES =
        new TupleTag<KV<String, Long>>("eventTimes") {};
    static final TupleTag<KV<String, Long>> OFFSETS = new TupleTag<KV<String, Long>>("offsets") {};
    static final TupleTag<Long> INGESTED = new TupleTag<Long>("ingested") {};

    private final EventParser parser;
    private final Counter distinct = SessionizeMetrics.counter("backfill_records_distinct");
    private final Counter future = SessionizeMetrics.counter("backfill_future_at_ingestion");

    // Per bundle, so that the check's aggregations see a few values per partition, not one per
    // record (the DirectRunner copies a key's buffered values for every value it adds).
    private transient Map<String, Long> highestEventTime;
    private transient Map<String, Long> lowestOffset;
    private transient long firstIngested;

    FutureAtIngestionFn(EventParser parser) {
      this.parser = parser;
    }

    @StartBundle
    public void startBundle() {
      highestEventTime = new HashMap<>();
      lowestOffset = new HashMap<>();
      firstIngested = Long.MAX_VALUE;
    }

    @ProcessElement
    public void process(@Element EventsTable.Archived a, MultiOutputReceiver out) {
      distinct.inc();
      RawRecord r = a.record();
      String partition =
          (r.sourceTopic() == null ? "" : r.sourceTopic()) + "/" + r.sourcePartition();
      lowestOffset.merge(partition, r.sourceOffset(), Math::min);
      firstIngested = Math.min(firstIngested, a.ingestedAt().getMillis());
      EventParser.Outcome outcome = parser.parse(r.payload(), a.ingestedAt());
      if (outcome.reason == Reason.FUTURE_TIMESTAMP) {
        future.inc();
        return;
      }
      if (outcome.event != null) {
        highestEventTime.merge(partition, outcome.event.timestamp().getMillis(), Math::max);
      }
      out.get(RECORDS).output(r);
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext c) {
      Instant at = BoundedWindow.TIMESTAMP_MIN_VALUE;
      highestEventTime.forEach(
          (p, t) -> c.output(EVENT_TIMES, KV.of(p, t), at, GlobalWindow.INSTANCE));
      lowestOffset.forEach(
          (p, offset) -> c.output(OFFSETS, KV.of(p, offset), at, GlobalWindow.INSTANCE));
      if (firstIngested != Long.MAX_VALUE) {
        c.output(INGESTED, firstIngested, at, GlobalWindow.INSTANCE);
      }
    }
  }

  /** What the backfill did, from the last run's counters. */
  public static String summary(Outcome outcome, Options options) {
    PipelineResult result = outcome.result();
    Plan plan = outcome.plan();
    StringBuilder deadLetters = new StringBuilder();
    long dead = 0;
    for (Reason reason : Reason.values()) {
      long n = SessionizeMetrics.read(result, "dead_letter_" + reason.name());
      if (reason == Reason.FUTURE_TIMESTAMP) {
        n += SessionizeMetrics.read(result, "backfill_future_at_ingestion");
      }
      dead += n;
      if (n > 0) {
        deadLetters
            .append(deadLetters.length() == 0 ? "" : ", ")
            .append(reason)
            .append('=')
            .append(n);
      }
    }
    long read = SessionizeMetrics.read(result, "backfill_records_read");
    long distinct = SessionizeMetrics.read(result, "backfill_records_distinct");
    long commits = SessionizeMetrics.read(result, "backfill_commits");
    return String.format(
        Locale.ROOT,
        "sessionize backfill: %s (%d day%s%s; rows of %s replaced): read %d archived records"
            + " (%d of them twice) of the days read %s%s: %d events accepted, %d duplicates, %d"
            + " dead letters%s; wrote %d sessions in %d commit%s to %s; %d run%s, wall time %.1f s",
        plan.days(),
        plan.days().days(),
        plan.days().days() == 1 ? "" : "s",
        options.getIncludeTooLate() ? ", TOO_LATE records included" : "",
        plan.replaced(),
        distinct,
        read - distinct,
        plan.read(),
        plan.readsFromTheStart() ? " (the archive's first)" : "",
        SessionizeMetrics.read(result, "accepted"),
        SessionizeMetrics.read(result, "duplicates"),
        dead,
        dead == 0 ? "" : " (" + deadLetters + ")",
        SessionizeMetrics.read(result, "backfill_sessions_written"),
        commits,
        commits == 1 ? "" : "s",
        options.getSessionsTable(),
        outcome.attempts(),
        outcome.attempts() == 1 ? "" : "s",
        outcome.wallMillis() / 1000.0);
  }
}
