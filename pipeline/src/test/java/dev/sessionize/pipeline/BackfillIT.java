package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.sessionize.pipeline.batch.BackfillSessions;
import dev.sessionize.pipeline.batch.EventsTable;
import dev.sessionize.pipeline.batch.ReinjectLateEvents;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.SessionizeMetrics;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The batch layer against the speed layer, on the DirectRunner with a real Kafka broker and a real
 * Iceberg catalog on disk. A generated day (duplicates, malformed records, records late within the
 * allowed lateness and records too late for it, keyed by user as producers do) is streamed through
 * the job with the raw archive on until every session is final; then:
 *
 * <ol>
 *   <li>the archive holds every record read, byte for byte, with its position and times;
 *   <li>a backfill of the streamed days leaves the table exactly as the stream left it (every
 *       column but {@code version} and {@code emitted_at}, one row per {@code session_id});
 *   <li>so does a backfill over the archive with every record appended a second time;
 *   <li>the re-injection (a backfill of the TOO_LATE records' days with them included) leaves the
 *       sessions an independent sort-and-split of every accepted or too-late event gives.
 * </ol>
 *
 * The stream itself is checked against {@link RawArchive#stream}, the spec's rules applied record
 * by record in each partition's order.
 */
@RunWith(JUnit4.class)
public class BackfillIT {
  @ClassRule public static final LocalServersRule servers = new LocalServersRule();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final int PARTITIONS = 2;
  private static final String NS = "backfill_it";
  private static final String CLOCK = "backfill-clock";
  private static final Duration GAP = Duration.standardMinutes(30);
  private static final Duration LATENESS = Duration.standardMinutes(5);

  /** Columns that legitimately differ between the stream and the backfill (see the README). */
  private static final Set<String> NOT_COMPARED = Set.of("version", "emitted_at");

  /**
   * The table's rows by session_id, each as all compared columns, name=value; rows of {@code users}
   * left out.
   */
  static Map<String, String> comparable(Table table, Set<String> users) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, Record> e : SessionRows.byId(table).entrySet()) {
      if (users.contains((String) e.getValue().getField("user_id"))) {
        continue;
      }
      StringBuilder row = new StringBuilder();
      for (Types.NestedField f : SessionsTable.SCHEMA.columns()) {
        if (NOT_COMPARED.contains(f.name())) {
          continue;
        }
        Object v = e.getValue().getField(f.name());
        if (v instanceof Map<?, ?> map) {
          v = new TreeMap<>(map);
        }
        row.append(f.name()).append('=').append(v).append(' ');
      }
      out.put(e.getKey(), row.toString());
    }
    return out;
  }

  private BackfillSessions.Outcome backfill(File warehouse, String days, String... more) {
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--runner=DirectRunner",
                "--days=" + days,
                "--warehouse=" + warehouse,
                "--eventsTable=" + NS + ".events",
                "--sessionsTable=" + NS + ".sessions"));
    args.addAll(List.of(more));
    BackfillSessions.Options options =
        PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
            .as(BackfillSessions.Options.class);
    BackfillSessions.Outcome outcome = BackfillSessions.backfill(options);
    System.out.println("BackfillIT: " + BackfillSessions.summary(outcome, options));
    return outcome;
  }

  @Test
  public void backfillEqualsTheStreamAndReinjectionEqualsTheBatchOfEverything() throws Exception {
    List<ClickstreamGenerator.Record> generated =
        new ClickstreamGenerator()
            .seed(2026L)
            .start(Instant.parse("2026-11-20T06:00:00Z"))
            .events(600)
            .users(20)
            .duplicateRate(0.02)
            .malformedRate(0.02)
            .lateRate(0.02)
            .generate();
    // One event in 25 delivered 10 to 39 minutes late: within the allowed lateness or just
    // beyond it, some of them after their session is final (they start a new one).
    Random random = new Random(7);
    List<RawArchive.Rec> produced = new ArrayList<>();
    List<Object[]> order = new ArrayList<>(); // {record, delivered at}
    for (int i = 0; i < generated.size(); i++) {
      ClickstreamGenerator.Record r = generated.get(i);
      Instant delivered = r.deliveredAt;
      if (r.kind == ClickstreamGenerator.Kind.EVENT && i % 25 == 0) {
        delivered = r.eventTime.plus(Duration.standardMinutes(10 + random.nextInt(30)));
      }
      order.add(new Object[] {r, delivered});
    }
    order.sort((a, b) -> ((Instant) a[1]).compareTo((Instant) b[1]));
    RawArchive model = new RawArchive();
    int malformed = 0;
    Instant first = null;
    Instant last = null;
    for (Object[] o : order) {
      ClickstreamGenerator.Record r = (ClickstreamGenerator.Record) o[0];
      int partition =
          r.userId == null
              ? malformed++ % PARTITIONS
              : Math.floorMod(r.userId.hashCode(), PARTITIONS);
      // "Read" when delivered: only the FUTURE_TIMESTAMP verdict uses it, as the job's clock does.
      model.add(r.payload, partition, (Instant) o[1], r.userId, r.eventId, r.eventTime);
      if (r.eventTime != null) {
        first = first == null || r.eventTime.isBefore(first) ? r.eventTime : first;
        last = last == null || r.eventTime.isAfter(last) ? r.eventTime : last;
      }
    }
    LocalDate firstDay =
        LocalDate.ofInstant(java.time.Instant.ofEpochMilli(first.getMillis()), ZoneOffset.UTC);
    LocalDate lastDay =
        LocalDate.ofInstant(java.time.Instant.ofEpochMilli(last.getMillis()), ZoneOffset.UTC);
    String days = firstDay.equals(lastDay) ? firstDay.toString() : firstDay + ".." + lastDay;
    // A clock event per partition at noon two days after: the stream time closes every session.
    Instant clock = EventsTable.midnight(lastDay.plusDays(2)).plus(Duration.standardHours(12));
    for (int p = 0; p < PARTITIONS; p++) {
      model.add(
          RawArchive.json(CLOCK, "clock-" + p, clock, "/"), p, clock, CLOCK, "clock-" + p, clock);
    }
    List<RawArchive.Rec> tooLate = new ArrayList<>();
    List<String> expected = new ArrayList<>();
    for (String s : RawArchive.stream(model.records, GAP, LATENESS, LATENESS, tooLate, true)) {
      if (!s.startsWith(CLOCK + " ")) {
        expected.add(s); // the clock's own session never closes
      }
    }
    assertTrue("some records are too late", !tooLate.isEmpty());
    // The same sessions, every column by the spec's rules.
    List<SessionModel.Row> streamRows =
        RawArchive.streamRows(model.records, GAP, LATENESS, LATENESS, new ArrayList<>(), true);
    Map<String, RawArchive.Rec> byPosition = new HashMap<>();
    for (RawArchive.Rec r : model.records) {
      byPosition.put(r.partition() + "/" + r.offset(), r);
    }

    servers.kafka().createTopic("clickstream_events", PARTITIONS);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    produce(model.records);

    File warehouse = tmp.newFolder("warehouse");
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(
                "--runner=DirectRunner",
                "--blockOnRun=false",
                "--source=kafka",
                "--bootstrapServers=" + servers.kafka().bootstrapServers(),
                "--idleTimeout=1h",
                "--commitInterval=1s",
                "--sessionsSink=iceberg",
                "--archiveEvents=true",
                "--warehouse=" + warehouse,
                "--eventsTable=" + NS + ".events",
                "--sessionsTable=" + NS + ".sessions",
                "--output=" + tmp.newFolder("out"))
            .as(SessionizationPipeline.Options.class);
    options.as(StreamingOptions.class).setStreaming(true);
    long streamStarted = System.nanoTime();
    Instant launched = Instant.now();
    PipelineResult job = SessionizationPipeline.run(options);
    Table sessions = SessionsTable.openOrCreate(warehouse.getPath(), NS + ".sessions");
    Table events =
        EventsTable.openOrCreate(IcebergCatalog.hadoop(warehouse.getPath()), NS + ".events");
    Set<String> invalid = new java.util.TreeSet<>();
    for (RawArchive.Rec r : model.records) {
      if (r.user() == null) {
        invalid.add(r.partition() + "/" + r.offset());
      }
    }
    Set<String> late = new java.util.TreeSet<>();
    for (RawArchive.Rec r : tooLate) {
      late.add(r.partition() + "/" + r.offset());
    }
    Set<String> speedDependent = new java.util.TreeSet<>();
    Map<String, com.fasterxml.jackson.databind.JsonNode> letters;
    Instant from = launched.minus(Duration.standardDays(1));
    Instant until = launched.plus(Duration.standardDays(2));
    try {
      await(
          job,
          expected.size() + " final session rows",
          () -> {
            Map<String, Record> rows = SessionRows.byId(sessions);
            return rows.size() >= expected.size()
                && rows.values().stream()
                    .allMatch(r -> Boolean.TRUE.equals(r.getField("is_final")));
          });
      // Every malformed record and every record the partition rule finds TOO_LATE is a dead
      // letter. The stream may reject more: where the runner's watermark was ahead of the
      // partition's stream time (the letter says so), which depends on how fast the job ran.
      await(
          job,
          (invalid.size() + late.size()) + " dead letters",
          () -> deadLetters().size() >= invalid.size() + late.size());
      letters = deadLetters();
      for (String position : invalid) {
        assertTrue("dead letter " + position, letters.containsKey(position));
        assertTrue(!"TOO_LATE".equals(letters.get(position).path("reason").asText()));
      }
      for (String position : late) {
        assertEquals("TOO_LATE", letters.get(position).path("reason").asText());
      }
      for (Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e : letters.entrySet()) {
        if (!invalid.contains(e.getKey()) && !late.contains(e.getKey())) {
          String detail = e.getValue().path("detail").asText();
          assertTrue(detail, detail.contains("watermark"));
          speedDependent.add(byPosition.get(e.getKey()).user());
        }
      }
      await(
          job,
          model.records.size() + " archived records",
          () -> EventsTable.read(events, from, until).size() >= model.records.size());
    } finally {
      job.cancel();
    }
    System.out.printf(
        "BackfillIT: streamed %d records (%d malformed or future, %d too late) in %.1f s%n",
        model.records.size(), malformed, tooLate.size(), (System.nanoTime() - streamStarted) / 1e9);
    System.out.printf(
        "BackfillIT: %d too late by the partition rule; users with records the stream rejected"
            + " against the runner's watermark: %s%n",
        tooLate.size(), speedDependent);
    Set<String> notModelled = new java.util.TreeSet<>(speedDependent);
    notModelled.add(CLOCK); // the clock's own session never closes
    SessionRows.assertRows(everyRow(streamRows, notModelled), sessions, speedDependent);

    // 1. The archive: every record read, its exact bytes at its position, with its times.
    List<EventsTable.Archived> archived = EventsTable.read(events, from, until);
    assertEquals(model.records.size(), archived.size());
    Map<String, String> want = new TreeMap<>();
    Map<Integer, Integer> offsets = new HashMap<>();
    for (RawArchive.Rec r : model.records) {
      int offset = offsets.merge(r.partition(), 1, Integer::sum) - 1;
      want.put(
          "clickstream_events/" + r.partition() + "/" + offset,
          Base64.getEncoder().encodeToString(r.payload()));
    }
    Map<String, String> have = new TreeMap<>();
    for (EventsTable.Archived a : archived) {
      have.put(a.position(), Base64.getEncoder().encodeToString(a.record().payload()));
      assertNotNull("kafka timestamp", a.record().kafkaTimestamp());
      assertTrue(
          "ingested while the job ran: " + a.ingestedAt(),
          !a.ingestedAt().isBefore(launched) && !a.ingestedAt().isAfter(Instant.now()));
    }
    assertEquals(want, have);
    events.refresh();
    int files = 0;
    try (CloseableIterable<FileScanTask> tasks = events.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        assertEquals(EventsTable.SPEC.specId(), task.file().specId());
        assertTrue(task.file().path().toString().contains("ingested_at_day="));
        files++;
      }
    }
    System.out.printf("BackfillIT: archive: %d data files%n", files);

    // 2. The backfill of the streamed days changes nothing (for the users the stream judged by
    // the partition rule alone; the others get the rule's sessions).
    Map<String, String> streamed = comparable(sessions, speedDependent);
    BackfillSessions.Outcome run = backfill(warehouse, days);
    assertEquals(streamed, comparable(sessions, speedDependent));
    SessionRows.assertRows(everyRow(streamRows, Set.of(CLOCK)), sessions, Set.of());
    assertEquals(
        "every session written",
        expected.size(),
        SessionizeMetrics.read(run.result(), "backfill_sessions_written"));

    // 3. Nor does it over an archive holding every record twice (a replay, a re-committed file).
    Map<String, String> once = comparable(sessions, Set.of());
    EventsTable.append(events, archived, null);
    BackfillSessions.Outcome twice = backfill(warehouse, days);
    assertEquals(
        archived.size(), SessionizeMetrics.read(twice.result(), "backfill_records_distinct"));
    assertEquals(
        2L * archived.size(), SessionizeMetrics.read(twice.result(), "backfill_records_read"));
    assertEquals(once, comparable(sessions, Set.of()));

    // 4. The re-injection: the TOO_LATE records' days with them included, as a batch run over
    // every accepted or too-late event gives; again, nothing changes.
    PipelineOptionsFactory.register(ReinjectLateEvents.Options.class);
    ReinjectLateEvents.Options reinject =
        PipelineOptionsFactory.fromArgs(
                "--runner=DirectRunner",
                "--bootstrapServers=" + servers.kafka().bootstrapServers(),
                "--warehouse=" + warehouse,
                "--eventsTable=" + NS + ".events",
                "--sessionsTable=" + NS + ".sessions")
            .as(ReinjectLateEvents.Options.class);
    ReinjectLateEvents.Report report = ReinjectLateEvents.run(reinject);
    System.out.println("BackfillIT: " + report);
    int tooLateLetters = letters.size() - invalid.size();
    assertEquals(letters.size(), report.deadLetters());
    assertEquals(tooLateLetters, report.tooLate());
    assertEquals(tooLateLetters, report.archived());
    java.util.TreeSet<LocalDate> lateDays = new java.util.TreeSet<>();
    for (RawArchive.Rec r : tooLate) {
      lateDays.add(EventsTable.day(r.eventTime()));
    }
    assertEquals(ReinjectLateEvents.runs(lateDays), report.dayRanges());
    assertEquals(
        "the too-late records fall on every streamed day", List.of(days), report.dayRanges());
    SessionRows.assertRows(
        everyRow(
            RawArchive.batchRows(model.records, GAP, Duration.standardHours(24)), Set.of(CLOCK)),
        sessions,
        Set.of());
    assertTrue(
        "the TOO_LATE records changed sessions", !comparable(sessions, Set.of()).equals(once));
  }

  /** The model's rows but those of {@code users}. */
  private static List<SessionModel.Row> everyRow(List<SessionModel.Row> rows, Set<String> users) {
    return RawArchive.rowsStartingIn(
        rows, BoundedWindow.TIMESTAMP_MIN_VALUE, BoundedWindow.TIMESTAMP_MAX_VALUE, users);
  }

  /** The dead-letter topic's letters by source position {@code partition/offset}. */
  private static Map<String, com.fasterxml.jackson.databind.JsonNode> deadLetters()
      throws Exception {
    Map<String, com.fasterxml.jackson.databind.JsonNode> out = new TreeMap<>();
    for (String letter :
        ReinjectLateEvents.readDeadLetters(
            servers.kafka().bootstrapServers(), "clickstream_events_dlq")) {
      var json = dev.sessionize.transforms.model.Json.MAPPER.readTree(letter);
      out.put(
          json.path("source").path("partition").asInt()
              + "/"
              + json.path("source").path("offset").asLong(),
          json);
    }
    return out;
  }

  /** Produces the records in order, each to its partition (users keyed to one partition). */
  private static void produce(List<RawArchive.Rec> records) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers.kafka().bootstrapServers());
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true"); // in order per partition
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      for (RawArchive.Rec r : records) {
        byte[] key = r.user() == null ? null : r.user().getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>("clickstream_events", r.partition(), key, r.payload()));
      }
      producer.flush();
    }
  }

  /** Waits up to 4 minutes for {@code condition}; fails naming {@code what}. */
  private static void await(PipelineResult result, String what, Callable<Boolean> condition)
      throws Exception {
    long deadline = System.currentTimeMillis() + 240_000;
    while (!condition.call()) {
      if (result.getState().isTerminal()) {
        throw new AssertionError("the streaming job ended: " + result.getState());
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      if ((deadline - System.currentTimeMillis()) / 1000 % 15 == 0) {
        System.out.println("BackfillIT: waiting for " + what);
      }
      Thread.sleep(1_000);
    }
  }
}
