package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.transforms.DedupEvents;
import dev.sessionize.transforms.Sessionize;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Session;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The batch layer's backfill: recomputes the sessions of a range of days from the raw events
 * archive ({@link EventsTable}) and replaces them in the {@code sessions} table in one commit.
 *
 * <pre>
 * events table ─► ReadArchivedEvents ─► DedupEvents ─► Sessionize ─► sessions starting in the days
 *   (days ± one gap)                    (the streaming job's transforms)       ─► ReplaceSessions
 * </pre>
 *
 * The events of the days and of one session gap on each side are read, so a session that crosses
 * midnight into the range is seen whole from its start; only the sessions whose start lies in the
 * range are written, and they replace all rows of those days (partitions of {@code
 * day(start_time)}).
 */
public final class BackfillSessions {
  private static final Pattern DAYS =
      Pattern.compile("(\\d{4}-\\d{2}-\\d{2})(\\.\\.(\\d{4}-\\d{2}-\\d{2}))?");

  private BackfillSessions() {}

  /** Options of the backfill; the event-time rules must be the streaming job's. */
  public interface Options extends IcebergOptions {
    @Description(
        "The days (UTC) whose sessions are recomputed: 2026-11-20, or a range of whole days"
            + " 2026-11-20..2026-11-22 (both included).")
    String getDays();

    void setDays(String value);

    @Description("Session gap, as in the streaming job; also the margin read on each side.")
    @Default.String("30m")
    String getSessionGap();

    void setSessionGap(String value);

    @Description("Allowed lateness, as in the streaming job (it only sizes the dedup memory).")
    @Default.String("5m")
    String getAllowedLateness();

    void setAllowedLateness(String value);

    @Description("Out-of-orderness, as in the streaming job (it only sizes the dedup memory).")
    @Default.String("5m")
    String getMaxOutOfOrderness();

    void setMaxOutOfOrderness(String value);

    @Description("Cap on the pages_visited list of a session, as in the streaming job.")
    @Default.Integer(200)
    int getMaxPagesPerSession();

    void setMaxPagesPerSession(int value);

    @Description("ISO-4217 currency of the revenue column, as in the streaming job.")
    @Default.String("USD")
    String getReportingCurrency();

    void setReportingCurrency(String value);
  }

  /** The first day (inclusive) and the day after the last one, as UTC midnights. */
  public record DayRange(Instant from, Instant to) {
    public static DayRange parse(String text) {
      java.util.regex.Matcher m = DAYS.matcher(text == null ? "" : text.trim());
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
      return new DayRange(midnight(first), midnight(last.plusDays(1)));
    }

    private static Instant midnight(LocalDate day) {
      return new Instant(day.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli());
    }

    public long days() {
      return new Duration(from, to).getStandardDays();
    }

    @Override
    public String toString() {
      String first = from.toString().substring(0, 10);
      String last = to.minus(Duration.standardDays(1)).toString().substring(0, 10);
      return first.equals(last) ? first : first + ".." + last;
    }
  }

  public static void main(String[] args) {
    Options options = parse(args);
    long started = System.nanoTime();
    PipelineResult result;
    try {
      result = run(options);
    } catch (InvalidOptionsException e) {
      for (String problem : e.problems()) {
        System.err.println("sessionize backfill: " + problem);
      }
      System.exit(2);
      return;
    }
    result.waitUntilFinish();
    System.out.println(summary(result, options, (System.nanoTime() - started) / 1_000_000));
  }

  static Options parse(String[] args) {
    try {
      PipelineOptionsFactory.register(Options.class);
      return PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage() == null ? "invalid options" : e.getMessage();
      int newline = message.indexOf('\n');
      System.err.println(
          "sessionize backfill: " + (newline < 0 ? message : message.substring(0, newline)));
      System.exit(2);
      return null;
    }
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
    for (String[] d :
        new String[][] {
          {"sessionGap", o.getSessionGap()},
          {"allowedLateness", o.getAllowedLateness()},
          {"maxOutOfOrderness", o.getMaxOutOfOrderness()}
        }) {
      try {
        Duration value = DurationOption.parse(d[1]);
        if (value.isLongerThan(Duration.standardDays(1))
            || ("sessionGap".equals(d[0]) && value.getMillis() < 1)) {
          problems.add(
              "--"
                  + d[0]
                  + "="
                  + d[1]
                  + " is out of range: allowed values are "
                  + ("sessionGap".equals(d[0]) ? "1ms" : "0s")
                  + " to 1d");
        }
      } catch (IllegalArgumentException e) {
        problems.add("--" + d[0] + "=" + d[1] + " is not valid: " + e.getMessage());
      }
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
    return problems;
  }

  /** The streaming job's event-time rules, from the backfill's options. */
  static SessionizeConfig config(Options o) {
    return SessionizeConfig.defaults().toBuilder()
        .setSessionGap(DurationOption.parse(o.getSessionGap()))
        .setAllowedLateness(DurationOption.parse(o.getAllowedLateness()))
        .setMaxOutOfOrderness(DurationOption.parse(o.getMaxOutOfOrderness()))
        .setMaxPagesPerSession(o.getMaxPagesPerSession())
        .setReportingCurrency(o.getReportingCurrency())
        .build();
  }

  /** Validates the options, builds the bounded pipeline and starts it. */
  public static PipelineResult run(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    SessionizeConfig config = config(options);
    DayRange range = DayRange.parse(options.getDays());
    Duration margin = config.sessionGap();
    Instant readFrom = range.from().minus(margin);
    Instant readTo = range.to().plus(margin);
    IcebergCatalog catalog = IcebergOptions.catalog(options);
    EventsTable.openOrCreate(catalog, options.getEventsTable()); // fail at launch, not on a worker
    Table sessions = SessionsTable.openOrCreate(catalog, options.getSessionsTable());
    Snapshot current = sessions.currentSnapshot();

    List<String> days = new ArrayList<>();
    for (LocalDate d = day(readFrom); !d.isAfter(day(readTo.minus(1))); d = d.plusDays(1)) {
      days.add(d.toString());
    }
    Pipeline pipeline = Pipeline.create(options);
    PCollection<ClickEvent> events =
        pipeline
            .apply("ListDays", Create.of(days))
            .apply(
                "ReadArchivedEvents",
                ParDo.of(new ReadDayFn(catalog, options.getEventsTable(), readFrom, readTo)))
            .setCoder(ClickEvent.ClickEventCoder.of());
    Instant from = range.from();
    Instant to = range.to();
    events
        .apply("DedupEvents", DedupEvents.of(config))
        .get(DedupEvents.ACCEPTED)
        .apply("Sessionize", Sessionize.of(config))
        .apply(
            "KeepSessionsStartingInRange",
            Filter.by((Session s) -> !s.startTime().isBefore(from) && s.startTime().isBefore(to)))
        .setCoder(Session.SessionCoder.of())
        .apply(
            "ReplaceSessions",
            new ReplaceSessions(
                catalog,
                options.getSessionsTable(),
                from,
                to,
                current == null ? null : current.snapshotId()));
    return pipeline.run();
  }

  private static LocalDate day(Instant t) {
    return java.time.Instant.ofEpochMilli(t.getMillis()).atOffset(ZoneOffset.UTC).toLocalDate();
  }

  /** Reads one day's partition of the archive, clipped to the read window, at event time. */
  static class ReadDayFn extends DoFn<String, ClickEvent> {
    private final IcebergCatalog catalog;
    private final String tableName;
    private final Instant readFrom;
    private final Instant readTo;
    private final Counter read = SessionizeMetrics.counter("backfill_events_read");
    private transient Table table;

    ReadDayFn(IcebergCatalog catalog, String tableName, Instant readFrom, Instant readTo) {
      this.catalog = catalog;
      this.tableName = tableName;
      this.readFrom = readFrom;
      this.readTo = readTo;
    }

    @Setup
    public void setup() {
      table = EventsTable.openOrCreate(catalog, tableName);
    }

    @ProcessElement
    public void process(@Element String day, OutputReceiver<ClickEvent> out) {
      Instant start = DayRange.parse(day).from();
      Instant end = start.plus(Duration.standardDays(1));
      Instant from = start.isAfter(readFrom) ? start : readFrom;
      Instant to = end.isBefore(readTo) ? end : readTo;
      EventsTable.scan(
          table,
          from,
          to,
          e -> {
            read.inc();
            out.outputWithTimestamp(e, e.timestamp());
          });
    }
  }

  /** What the run did, from the pipeline's own counters. */
  public static String summary(PipelineResult result, Options options, long wallMillis) {
    DayRange range = DayRange.parse(options.getDays());
    return String.format(
        Locale.ROOT,
        "sessionize backfill: %s (%d day%s): read %d archived events: %d accepted, %d duplicates,"
            + " %d too late; wrote %d sessions in %d commit%s to %s; wall time %.1f s",
        range,
        range.days(),
        range.days() == 1 ? "" : "s",
        SessionizeMetrics.read(result, "backfill_events_read"),
        SessionizeMetrics.read(result, "accepted"),
        SessionizeMetrics.read(result, "duplicates"),
        SessionizeMetrics.read(result, "dead_letter_TOO_LATE"),
        SessionizeMetrics.read(result, "backfill_sessions_written"),
        SessionizeMetrics.read(result, "backfill_commits"),
        SessionizeMetrics.read(result, "backfill_commits") == 1 ? "" : "s",
        options.getSessionsTable(),
        wallMillis / 1000.0);
  }
}
