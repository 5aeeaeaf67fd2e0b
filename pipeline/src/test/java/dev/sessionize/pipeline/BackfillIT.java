package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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
 * Iceberg catalog on disk: a generated day streamed through the job (with the events archive on),
 * then the backfill of that day must leave the sessions table as the stream left it (every column
 * but {@code version} and {@code emitted_at}, same {@code session_id}s); a corrupted row and a
 * stale row are repaired by the next backfill; and an event the stream rejected as TOO_LATE is
 * counted after the re-injection.
 */
@RunWith(JUnit4.class)
public class BackfillIT {
  @ClassRule public static final LocalServersRule servers = new LocalServersRule();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final int PARTITIONS = 2;
  private static final String NS = "backfill_it";

  /** Columns that legitimately differ between the stream and the backfill (see the README). */
  private static final Set<String> NOT_COMPARED = Set.of("version", "emitted_at");

  private static byte[] event(String user, String id, Instant t) {
    return String.format(
            "{\"user_id\":\"%s\",\"event_id\":\"%s\",\"event_type\":\"page_view\","
                + "\"timestamp\":\"%s\",\"page_url\":\"/late\"}",
            user, id, t)
        .getBytes(StandardCharsets.UTF_8);
  }

  /** The table's rows by session_id, each as all compared columns, name=value. */
  static Map<String, String> comparable(Table table) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, Record> e : SessionRows.byId(table).entrySet()) {
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

  private BackfillSessions.Options backfillOptions(File warehouse, String days) {
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    return PipelineOptionsFactory.fromArgs(
            "--runner=DirectRunner",
            "--days=" + days,
            "--warehouse=" + warehouse,
            "--eventsTable=" + NS + ".events",
            "--sessionsTable=" + NS + ".sessions")
        .as(BackfillSessions.Options.class);
  }

  private PipelineResult backfill(File warehouse, String days) {
    BackfillSessions.Options options = backfillOptions(warehouse, days);
    long started = System.nanoTime();
    PipelineResult result = BackfillSessions.run(options);
    result.waitUntilFinish();
    System.out.println(
        "BackfillIT: "
            + BackfillSessions.summary(result, options, (System.nanoTime() - started) / 1_000_000));
    assertEquals(0, SessionizeMetrics.read(result, "dead_letter_TOO_LATE"));
    return result;
  }

  @Test
  public void backfillEqualsTheStreamRepairsTheTableAndCountsReinjectedLateData() throws Exception {
    List<ClickstreamGenerator.Record> stream =
        new ClickstreamGenerator()
            .seed(2026L)
            .start(Instant.parse("2026-11-20T06:00:00Z"))
            .events(600)
            .users(20)
            .duplicateRate(0.02)
            .malformedRate(0.01)
            .generate();
    List<byte[]> values = new ArrayList<>();
    SessionModel model =
        new SessionModel(Duration.standardMinutes(30), Duration.standardMinutes(5));
    Set<String> distinct = new HashSet<>();
    int malformed = 0;
    int valid = 0;
    Instant first = BoundedWindow.TIMESTAMP_MAX_VALUE;
    Instant last = BoundedWindow.TIMESTAMP_MIN_VALUE;
    for (ClickstreamGenerator.Record r : stream) {
      values.add(r.payload);
      if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
        malformed++;
        continue;
      }
      valid++;
      if (distinct.add(r.userId + "/" + r.eventId)) {
        model.accept(SessionModel.Event.of(r.payload), BoundedWindow.TIMESTAMP_MIN_VALUE);
        first = r.eventTime.isBefore(first) ? r.eventTime : first;
        last = r.eventTime.isAfter(last) ? r.eventTime : last;
      }
    }
    LocalDate firstDay =
        LocalDate.ofInstant(java.time.Instant.ofEpochMilli(first.getMillis()), ZoneOffset.UTC);
    LocalDate lastDay =
        LocalDate.ofInstant(java.time.Instant.ofEpochMilli(last.getMillis()), ZoneOffset.UTC);
    String days = firstDay.equals(lastDay) ? firstDay.toString() : firstDay + ".." + lastDay;
    // A clock event per partition at noon the day after: the watermark closes every session.
    Instant clock =
        new Instant(lastDay.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli())
            .plus(Duration.standardHours(12));
    List<byte[]> clocks = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) {
      clocks.add(event("backfill-clock", "clock-" + p, clock));
    }
    List<String> expected = model.sessions();
    final Instant from = first.minus(Duration.standardDays(1));
    final Instant until = clock.plus(Duration.standardDays(1));

    servers.kafka().createTopic("clickstream_events", PARTITIONS);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    servers.kafka().produce("clickstream_events", PARTITIONS, values);
    servers.kafka().produce("clickstream_events", PARTITIONS, clocks);

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
    PipelineResult job = SessionizationPipeline.run(options);
    Table sessions = SessionsTable.openOrCreate(warehouse.getPath(), NS + ".sessions");
    Table events =
        EventsTable.openOrCreate(IcebergCatalog.hadoop(warehouse.getPath()), NS + ".events");
    Instant lateAt = new Instant(first.getMillis() + (last.getMillis() - first.getMillis()) / 2);
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
      // Every session is closed, so this one is beyond the allowed lateness: a dead letter.
      servers
          .kafka()
          .produce("clickstream_events", 1, List.of(event("late-user", "late-1", lateAt)));
      assertEquals(
          malformed + 1,
          servers.kafka().readAll("clickstream_events_dlq", malformed + 1, 120_000).size());
      // The archive: every valid record (duplicates too) and the clocks, not the late one.
      int archived = valid + PARTITIONS;
      await(
          job,
          archived + " archived events",
          () -> EventsTable.read(events, from, until).size() >= archived);
      assertEquals(archived, EventsTable.read(events, from, until).size());
      // IcebergIO appended into the table as created: every data file in the day(event_time) spec.
      events.refresh();
      int files = 0;
      try (CloseableIterable<FileScanTask> tasks = events.newScan().planFiles()) {
        for (FileScanTask task : tasks) {
          assertEquals(EventsTable.SPEC.specId(), task.file().specId());
          assertTrue(task.file().path().toString().contains("event_time_day="));
          files++;
        }
      }
      assertTrue("archive data files", files > 0);
      System.out.printf("BackfillIT: archive: %d data files, %d snapshots%n", files, count(events));
    } finally {
      job.cancel();
    }
    System.out.printf(
        "BackfillIT: streamed %d records (%d valid, %d malformed) + %d clocks + 1 too late in %.1f s%n",
        stream.size(), valid, malformed, PARTITIONS, (System.nanoTime() - streamStarted) / 1e9);
    // Every column (but version and emitted_at) of every row, one row per session_id.
    SessionRows.assertRows(model.rows(), sessions, Set.of());

    // 1. The backfill of the streamed days changes nothing.
    Map<String, String> streamed = comparable(sessions);
    long snapshots = count(sessions);
    PipelineResult run = backfill(warehouse, days);
    assertEquals(streamed.size(), SessionizeMetrics.read(run, "backfill_sessions_written"));
    assertEquals(streamed, comparable(sessions));
    assertEquals("one commit", snapshots + 1, count(sessions));

    // 2. A corrupted row and a stale row are repaired by the next backfill.
    String victim = streamed.keySet().iterator().next();
    Record original = SessionRows.byId(sessions).get(victim);
    Instant start = Session.startOf(victim);
    // (Its version is above any the stream wrote: the sink skips a row of a lower version.)
    Session corrupted =
        BackfillScenario.session(
                (String) original.getField("user_id"),
                start,
                start.plus(Duration.standardMinutes(1)),
                99)
            .toBuilder()
            .setVersion(1_000)
            .build();
    Session stale =
        BackfillScenario.session("ghost", lateAt, lateAt.plus(Duration.standardMinutes(1)), 1);
    List<Session> damage = List.of(corrupted, stale);
    SessionsTable.commit(sessions, damage, SessionsTable.commitId(damage));
    Map<String, String> damaged = comparable(sessions);
    assertTrue(damaged.get(victim), damaged.get(victim).contains("event_count=99 "));
    assertTrue(damaged.containsKey(stale.sessionId()));
    backfill(warehouse, days);
    assertEquals(streamed, comparable(sessions));

    // 3. The TOO_LATE event, re-injected, is counted; a second re-injection changes nothing.
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
    assertEquals(malformed + 1, report.deadLetters());
    assertEquals(1, report.tooLate());
    assertEquals(1, report.appended());
    Map<String, String> withLate = comparable(sessions);
    String lateId = Session.idFor("late-user", lateAt);
    assertTrue("the late event's session " + lateId, withLate.containsKey(lateId));
    assertTrue(withLate.get(lateId), withLate.get(lateId).contains("event_count=1 "));
    withLate.remove(lateId);
    assertEquals(streamed, withLate);
    model.accept(
        SessionModel.Event.of(event("late-user", "late-1", lateAt)),
        BoundedWindow.TIMESTAMP_MIN_VALUE);
    SessionRows.assertRows(model.rows(), sessions, Set.of());

    ReinjectLateEvents.Report again = ReinjectLateEvents.run(reinject);
    assertEquals(0, again.appended());
    assertEquals(1, again.alreadyArchived());
    Map<String, String> afterAgain = comparable(sessions);
    afterAgain.remove(lateId);
    assertEquals(streamed, afterAgain);
  }

  private static long count(Table table) {
    table.refresh();
    long n = 0;
    for (org.apache.iceberg.Snapshot ignored : table.snapshots()) {
      n++;
    }
    return n;
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
