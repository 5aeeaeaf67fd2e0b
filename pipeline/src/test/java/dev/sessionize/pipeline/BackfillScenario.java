package dev.sessionize.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.iceberg.Table;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The backfill as a bounded job on a real Iceberg catalog on disk, per runner: the ITs in runners/
 * extend it with their runner's arguments (the DirectRunner's run is {@link BackfillIT}, so this
 * class itself is not an IT). Three days of archived events, with sessions that cross both
 * midnights of the middle day, and a sessions table holding a stale row in that day and rows in the
 * days around it; the backfill of the middle day must leave exactly the sessions an independent
 * sort-and-split gives for it, and not touch the other days.
 */
public abstract class BackfillScenario {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  static final Instant D0 = Instant.parse("2026-11-19T00:00:00Z");
  static final Instant D1 = Instant.parse("2026-11-20T00:00:00Z");
  static final Instant D2 = Instant.parse("2026-11-21T00:00:00Z");

  /** The runner's arguments. */
  protected abstract List<String> runnerArgs();

  /** A session row as the streaming job could have written it. */
  static Session session(String user, Instant start, Instant end, int events) {
    return SessionRows.session(user, start, end, events, 1, true);
  }

  private static ClickEvent event(String user, String id, Instant t, int offset) {
    return ClickEvent.builder()
        .setUserId(user)
        .setEventId(id)
        .setEventType("page_view")
        .setTimestamp(t)
        .setPageUrl("/edge")
        .setCurrency("USD")
        .setOpensSession(false)
        .setSourceTopic("clickstream_events")
        .setSourcePartition(1)
        .setSourceOffset(offset)
        .build();
  }

  @Test
  public void backfillOfOneDayMatchesTheModelAndLeavesTheOtherDays() throws Exception {
    String namespace = getClass().getSimpleName().toLowerCase(Locale.ROOT);
    File warehouse = tmp.newFolder("warehouse");
    IcebergCatalog catalog = IcebergCatalog.hadoop(warehouse.getPath());

    // The archive: generated clicks from D0 22:00 on (duplicates included, as the job archives
    // them), plus hand-made sessions across both midnights of D1.
    List<ClickstreamGenerator.Record> generated =
        new ClickstreamGenerator()
            .seed(99L)
            .start(Instant.parse("2026-11-19T22:00:00Z"))
            .events(1_500)
            .users(40)
            .duplicateRate(0.02)
            .generate();
    EventParser parser = new EventParser(65_536, Duration.standardDays(36_500));
    List<ClickEvent> archived = new ArrayList<>();
    // The same events for the model, read from their JSON (hand-made ones: page views of /edge).
    List<SessionModel.Event> modelEvents = new ArrayList<>();
    int offset = 0;
    for (ClickstreamGenerator.Record r : generated) {
      ClickEvent e = parser.parse(r.payload, Instant.now()).event;
      archived.add(
          e.toBuilder()
              .setSourceTopic("clickstream_events")
              .setSourcePartition(0)
              .setSourceOffset(offset++)
              .build());
      modelEvents.add(SessionModel.Event.of(r.payload));
    }
    Duration m = Duration.standardMinutes(1);
    // "night" starts on D1 at 23:50 and runs into D2: its row belongs to D1, whole.
    archived.add(event("night", "n1", D2.minus(m.multipliedBy(10)), 1));
    archived.add(event("night", "n2", D2.plus(m.multipliedBy(10)), 2));
    archived.add(event("night", "n3", D2.plus(m.multipliedBy(25)), 3));
    // "dawn" starts on D0 at 23:45 and runs into D1: its row belongs to D0, not to D1.
    archived.add(event("dawn", "d1", D1.minus(m.multipliedBy(15)), 4));
    archived.add(event("dawn", "d2", D1.plus(m.multipliedBy(5)), 5));
    archived.add(event("dawn", "d3", D1.plus(m.multipliedBy(3 * 60)), 6));
    for (ClickEvent e : archived.subList(generated.size(), archived.size())) {
      modelEvents.add(SessionModel.Event.pageView(e.userId(), e.eventId(), e.timestamp(), "/edge"));
    }
    Table events = EventsTable.openOrCreate(catalog, namespace + ".events");
    EventsTable.append(events, archived, Set.of());

    // The sessions table before: a stale row in D1, rows in D0 and D2 that must stay.
    Table sessions = SessionsTable.openOrCreate(catalog, namespace + ".sessions");
    Session ghost =
        session("ghost", D1.plus(Duration.standardHours(3)), D1.plus(m.multipliedBy(190)), 9);
    Session before =
        session("keeper", D0.plus(Duration.standardHours(10)), D0.plus(m.multipliedBy(610)), 2);
    Session after =
        session("keeper", D2.plus(Duration.standardHours(10)), D2.plus(m.multipliedBy(610)), 3);
    List<Session> existing = List.of(ghost, before, after);
    SessionsTable.commit(sessions, existing, SessionsTable.commitId(existing));

    // The independent side: distinct events, sort-and-split on 30-minute gaps.
    SessionModel model = new SessionModel(Duration.standardMinutes(30), Duration.ZERO);
    Set<String> distinct = new HashSet<>();
    for (SessionModel.Event e : modelEvents) {
      if (distinct.add(e.user() + "/" + e.eventId())) {
        model.accept(e, BoundedWindow.TIMESTAMP_MIN_VALUE);
      }
    }
    List<SessionModel.Row> expected = new ArrayList<>();
    for (SessionModel.Row row : model.rows()) {
      Instant start = Instant.parse(row.columns().get("start_time"));
      if (!start.isBefore(D1) && start.isBefore(D2)) {
        expected.add(row);
      }
    }
    assertFalse(expected.isEmpty());
    // The rows of the other days must stay as they were written.
    expected.add(SessionRows.rowOf(before));
    expected.add(SessionRows.rowOf(after));

    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    BackfillSessions.Options options =
        PipelineOptionsFactory.fromArgs(
                Stream.concat(
                        runnerArgs().stream(),
                        Stream.of(
                            "--days=2026-11-20",
                            "--warehouse=" + warehouse,
                            "--eventsTable=" + namespace + ".events",
                            "--sessionsTable=" + namespace + ".sessions"))
                    .toArray(String[]::new))
            .as(BackfillSessions.Options.class);
    long started = System.nanoTime();
    PipelineResult result = BackfillSessions.run(options);
    result.waitUntilFinish();
    System.out.println(
        BackfillSessions.summary(result, options, (System.nanoTime() - started) / 1_000_000));

    SessionRows.assertRows(expected, sessions, Set.of());
    assertEquals(0, SessionizeMetrics.read(result, "dead_letter_TOO_LATE"));
    String dawnInD1 = Session.idFor("dawn", D1.plus(m.multipliedBy(5)));
    assertFalse(SessionRows.byId(sessions).containsKey(dawnInD1));
    assertFalse(SessionRows.byId(sessions).containsKey(ghost.sessionId()));
    assertEquals(
        "the archive is read back as written",
        archived.size(),
        EventsTable.read(
                events, D0.minus(Duration.standardDays(1)), D2.plus(Duration.standardDays(2)))
            .size());
  }
}
