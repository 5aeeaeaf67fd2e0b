package dev.sessionize.bench;

import dev.sessionize.pipeline.batch.BackfillSessions;
import dev.sessionize.pipeline.batch.EventsTable;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.options.OptionsParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.iceberg.Table;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Figures of the batch layer on a generated day: the raw archive's size on disk per million
 * records, the time the parser takes per record (the part of a backfill that parsed columns in the
 * archive could save), and a backfill's wall time per million records on a runner.
 *
 * <pre>
 * --records=N      events generated (duplicates, malformed and late records come on top)
 * --users=N        users (default records / 30)
 * --partitions=N   Kafka partitions the records are dealt to by user (default 4)
 * --runner=...     and any other option of the backfill (--parallelism, --sessionImpl, ...)
 * --folder=DIR     where the warehouse goes (default a temporary folder)
 * --help           all of them
 * </pre>
 *
 * The backfill's {@code --days}, {@code --warehouse}, {@code --eventsTable} and {@code
 * --sessionsTable} are the benchmark's: the generated day, in {@code --folder}.
 *
 * <p>The records are archived with {@link EventsTable#append} (one Parquet file per day, as the
 * archive is after compaction; the job's IcebergIO writer makes a file per bundle and commit).
 */
public final class BackfillBenchmark {
  private BackfillBenchmark() {}

  /** BackfillBenchmark's command line: the backfill's options and the generated day's. */
  public interface Options extends BackfillSessions.Options {
    @Description("Events generated (duplicates, malformed and late records come on top).")
    @Default.Integer(100_000)
    int getRecords();

    void setRecords(int value);

    @Description("Users; default records / 30.")
    Integer getUsers();

    void setUsers(Integer value);

    @Description("Kafka partitions the records are dealt to by user.")
    @Default.Integer(4)
    int getPartitions();

    void setPartitions(int value);

    @Description("Folder the warehouse goes to; default a temporary folder.")
    String getFolder();

    void setFolder(String value);
  }

  /** The backfill's options that the benchmark sets: the generated day and its warehouse. */
  static final List<String> SET_BY_THE_BENCHMARK =
      List.of("days", "warehouse", "eventsTable", "sessionsTable");

  /**
   * Parses {@code args} ({@link BenchOptions#parse}); an option the benchmark sets itself ({@link
   * #SET_BY_THE_BENCHMARK}) or a value out of range throws {@link IllegalArgumentException} naming
   * it.
   */
  static Options parse(String[] args) {
    Options options = BenchOptions.parse(args, Options.class);
    for (String name : SET_BY_THE_BENCHMARK) {
      if (BenchOptions.given(args, name)) {
        throw new IllegalArgumentException(
            "--" + name + " is set by the benchmark (the generated day in --folder): leave it out");
      }
    }
    List<String> problems = new ArrayList<>();
    OptionChecks.atLeast(problems, "records", options.getRecords(), 1);
    OptionChecks.atLeast(problems, "users", options.getUsers(), 1);
    OptionChecks.atLeast(problems, "partitions", options.getPartitions(), 1);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(problems.get(0));
    }
    return options;
  }

  public static void main(String[] args) throws IOException {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench backfill: " + OptionsParser.firstLine(e.getMessage()));
      System.exit(2);
      return;
    }
    int records = options.getRecords();
    int users = BenchOptions.orElse(options.getUsers(), Math.max(1, records / 30));
    int partitions = options.getPartitions();
    Path folder =
        options.getFolder() != null
            ? Path.of(options.getFolder())
            : Files.createTempDirectory("backfill-bench");
    String load = Files.readString(Path.of("/proc/loadavg")).trim();

    // A day of clicks read when delivered, each user on one partition; a clock the next day.
    Instant start = Instant.parse("2026-11-20T00:00:00Z");
    List<ClickstreamGenerator.Record> generated =
        new ClickstreamGenerator()
            .seed(11L)
            .start(start)
            .events(records)
            .users(users)
            .duplicateRate(0.01)
            .malformedRate(0.001)
            .lateRate(0.001)
            .generate();
    List<EventsTable.Archived> archived = new ArrayList<>(generated.size() + partitions);
    long[] offsets = new long[partitions];
    long jsonBytes = 0;
    int n = 0;
    for (ClickstreamGenerator.Record r : generated) {
      int p = r.userId == null ? n % partitions : Math.floorMod(r.userId.hashCode(), partitions);
      archived.add(
          new EventsTable.Archived(
              RawRecord.of(r.payload, KafkaOptions.INPUT_TOPIC, p, offsets[p]++, r.deliveredAt),
              r.deliveredAt));
      jsonBytes += r.payload.length;
      n++;
    }
    Instant last = archived.get(archived.size() - 1).ingestedAt();
    // Late enough that every partition's stream time closes the day (its end + 40 minutes).
    Instant dayAfter = Instant.parse("2026-11-21T01:00:00Z");
    Instant clock = last.plus(Duration.standardHours(1));
    clock = clock.isBefore(dayAfter) ? dayAfter : clock;
    for (int p = 0; p < partitions; p++) {
      byte[] tick =
          String.format(
                  "{\"user_id\":\"clock\",\"event_id\":\"tick-%d\",\"event_type\":\"page_view\","
                      + "\"timestamp\":\"%s\"}",
                  p, clock)
              .getBytes(StandardCharsets.UTF_8);
      archived.add(
          new EventsTable.Archived(
              RawRecord.of(tick, KafkaOptions.INPUT_TOPIC, p, offsets[p]++, clock), clock));
    }

    // 1. The archive's size on disk.
    Path warehouse = folder.resolve("warehouse");
    IcebergCatalog catalog = IcebergCatalog.hadoop(warehouse.toString());
    Table events = EventsTable.openOrCreate(catalog, "bench.events");
    long appendStarted = System.nanoTime();
    EventsTable.append(events, archived, null);
    double appendSeconds = (System.nanoTime() - appendStarted) / 1e9;
    long dataBytes = bytes(warehouse.resolve("bench/events/data"));
    long allBytes = bytes(warehouse.resolve("bench/events"));
    double perMillion = 1_000_000.0 / archived.size();
    System.out.printf(
        Locale.ROOT,
        "archive: %d records (%.1f MB of record bytes): %.1f MB of data files, %.1f MB with"
            + " metadata; per million records %.1f MB data (%.1f MB of record bytes); appended in"
            + " %.1f s%n",
        archived.size(),
        jsonBytes / 1e6,
        dataBytes / 1e6,
        allBytes / 1e6,
        dataBytes * perMillion / 1e6,
        jsonBytes * perMillion / 1e6,
        appendSeconds);

    // 2. The parser alone, one thread, after a warm-up pass.
    EventParser parser = new EventParser(65_536, Duration.standardMinutes(5));
    Instant now = Instant.now();
    for (EventsTable.Archived r : archived) {
      parser.parse(r.record().payload(), now);
    }
    long parseStarted = System.nanoTime();
    int valid = 0;
    for (EventsTable.Archived r : archived) {
      valid += parser.parse(r.record().payload(), now).isValid() ? 1 : 0;
    }
    double parseMicros = (System.nanoTime() - parseStarted) / 1e3 / archived.size();
    System.out.printf(
        Locale.ROOT,
        "parse: %.2f us per record on one thread (%d valid of %d), %.1f s per million%n",
        parseMicros,
        valid,
        archived.size(),
        parseMicros);

    // 3. The backfill of the day.
    options.setDays("2026-11-20");
    options.setWarehouse(warehouse.toString());
    options.setEventsTable("bench.events");
    options.setSessionsTable("bench.sessions");
    BackfillSessions.Outcome outcome = BackfillSessions.backfill(options);
    long read = SessionizeMetrics.read(outcome.result(), "backfill_records_read");
    System.out.println(BackfillSessions.summary(outcome, options));
    System.out.printf(
        Locale.ROOT,
        "backfill: runner %s, %d records read in %.1f s (%d run%s): %.0f s per million records;"
            + " load average at start %s (a shared 2-core machine)%n",
        options.getRunner().getSimpleName(),
        read,
        outcome.wallMillis() / 1000.0,
        outcome.attempts(),
        outcome.attempts() == 1 ? "" : "s",
        outcome.wallMillis() / 1000.0 * 1_000_000.0 / Math.max(1, read),
        load);
    System.exit(0);
  }

  private static long bytes(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .mapToLong(
              f -> {
                try {
                  return Files.size(f);
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              })
          .sum();
    }
  }
}
