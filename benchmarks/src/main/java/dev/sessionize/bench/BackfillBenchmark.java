package dev.sessionize.bench;

import dev.sessionize.pipeline.batch.BackfillSessions;
import dev.sessionize.pipeline.batch.EventsTable;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
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
 * </pre>
 *
 * The records are archived with {@link EventsTable#append} (one Parquet file per day, as the
 * archive is after compaction; the job's IcebergIO writer makes a file per bundle and commit).
 */
public final class BackfillBenchmark {
  private BackfillBenchmark() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> a = new HashMap<>();
    List<String> backfillArgs = new ArrayList<>();
    for (String arg : args) {
      String[] kv = arg.replaceFirst("^--", "").split("=", 2);
      switch (kv[0]) {
        case "records", "users", "partitions", "folder" -> a.put(kv[0], kv[1]);
        default -> backfillArgs.add(arg);
      }
    }
    int records = Integer.parseInt(a.getOrDefault("records", "100000"));
    int users =
        Integer.parseInt(a.getOrDefault("users", String.valueOf(Math.max(1, records / 30))));
    int partitions = Integer.parseInt(a.getOrDefault("partitions", "4"));
    Path folder =
        a.containsKey("folder")
            ? Path.of(a.get("folder"))
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
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    BackfillSessions.Options options =
        PipelineOptionsFactory.fromArgs(
                Stream.concat(
                        Stream.of(
                            "--days=2026-11-20",
                            "--warehouse=" + warehouse,
                            "--eventsTable=bench.events",
                            "--sessionsTable=bench.sessions"),
                        backfillArgs.stream())
                    .toArray(String[]::new))
            .as(BackfillSessions.Options.class);
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
