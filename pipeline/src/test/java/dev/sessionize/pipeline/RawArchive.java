package dev.sessionize.pipeline;

import dev.sessionize.pipeline.batch.EventsTable;
import dev.sessionize.transforms.model.RawRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * A raw archive a test builds record by record (each partition in offset order), with the two
 * independent models a backfill is compared with: {@link #stream} (the spec's rules applied record
 * by record, as the streaming job meets them) and {@link #batch} (sort-and-split of every accepted
 * or too-late event).
 */
public final class RawArchive {
  public static final String TOPIC = "clickstream_events";

  /** One record as the test made it: its event fields when it is an event. */
  record Rec(
      byte[] payload,
      int partition,
      long offset,
      Instant ingestedAt,
      @Nullable String user,
      @Nullable String eventId,
      @Nullable Instant eventTime) {
    public EventsTable.Archived archived() {
      return new EventsTable.Archived(
          RawRecord.of(payload, TOPIC, partition, offset, ingestedAt), ingestedAt);
    }
  }

  public final List<Rec> records = new ArrayList<>();
  private final Map<Integer, Long> offsets = new HashMap<>();

  public static byte[] json(String user, String id, Instant t, String page) {
    return String.format(
            "{\"user_id\":\"%s\",\"event_id\":\"%s\",\"event_type\":\"page_view\","
                + "\"timestamp\":\"%s\",\"page_url\":\"%s\",\"app_version\":\"5.3.0\"}",
            user, id, t, page)
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A page view of {@code user} at {@code t}, read at {@code ingestedAt} from {@code partition}.
   */
  public RawArchive event(String user, String id, Instant t, int partition, Instant ingestedAt) {
    return add(json(user, id, t, "/" + id), partition, ingestedAt, user, id, t);
  }

  /** A record that is not a valid event (malformed, oversize, ...). */
  RawArchive invalid(byte[] payload, int partition, Instant ingestedAt) {
    return add(payload, partition, ingestedAt, null, null, null);
  }

  RawArchive add(
      byte[] payload,
      int partition,
      Instant ingestedAt,
      @Nullable String user,
      @Nullable String id,
      @Nullable Instant t) {
    long offset = offsets.merge(partition, 1L, Long::sum) - 1;
    records.add(new Rec(payload, partition, offset, ingestedAt, user, id, t));
    return this;
  }

  public List<EventsTable.Archived> archived() {
    List<EventsTable.Archived> out = new ArrayList<>();
    for (Rec r : records) {
      out.add(r.archived());
    }
    return out;
  }

  /** True for an event the job's parser rejects as FUTURE_TIMESTAMP when it reads it. */
  public static boolean future(Rec r, Duration maxFutureSkew) {
    return r.eventTime() != null && r.eventTime().isAfter(r.ingestedAt().plus(maxFutureSkew));
  }

  /**
   * The streaming job's sessions (user, start, end, events): records in offset order per partition,
   * each partition's stream time {@code S} (the highest event time accepted so far), TOO_LATE when
   * {@code t + gap + allowedLateness <= S - maxOutOfOrderness}, duplicates by event id dropped
   * after the gate, and a session final for an event when that horizon has passed its end + gap +
   * allowed lateness ({@link SessionModel}).
   */
  public static List<String> stream(
      List<Rec> inOrder, Duration gap, Duration allowedLateness, Duration outOfOrder) {
    return stream(inOrder, gap, allowedLateness, outOfOrder, new ArrayList<>(), true);
  }

  /**
   * As {@link #stream(List, Duration, Duration, Duration)}; adds the TOO_LATE ones to {@code
   * tooLate}.
   */
  public static List<String> stream(
      List<Rec> inOrder,
      Duration gap,
      Duration allowedLateness,
      Duration outOfOrder,
      List<Rec> tooLate,
      boolean closeAtHorizon) {
    SessionModel model = new SessionModel(gap, allowedLateness);
    Map<Integer, Long> streamTime = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (Rec r : inOrder) {
      if (r.eventTime() == null || future(r, Duration.standardMinutes(5))) {
        continue;
      }
      long t = r.eventTime().getMillis();
      Long s = streamTime.get(r.partition());
      long horizon = s == null ? Long.MIN_VALUE : s - outOfOrder.getMillis();
      if (s != null && t + gap.getMillis() + allowedLateness.getMillis() <= horizon) {
        tooLate.add(r);
        continue;
      }
      if (s == null || t > s) {
        streamTime.put(r.partition(), t);
      }
      if (!seen.add(r.user() + "/" + r.eventId())) {
        continue; // duplicate
      }
      model.accept(
          r.user(),
          r.eventTime(),
          s == null || !closeAtHorizon ? BoundedWindow.TIMESTAMP_MIN_VALUE : new Instant(horizon));
    }
    return model.sessions();
  }

  /**
   * A batch run over every event that is not FUTURE_TIMESTAMP at its reading (accepted or too
   * late): distinct by event id, each user's events sorted, a new session at a gap or when the
   * session would span {@code maxDuration}.
   */
  public static List<String> batch(List<Rec> records, Duration gap, Duration maxDuration) {
    Map<String, List<Long>> byUser = new TreeMap<>();
    Set<String> seen = new HashSet<>();
    for (Rec r : records) {
      if (r.eventTime() != null
          && !future(r, Duration.standardMinutes(5))
          && seen.add(r.user() + "/" + r.eventId())) {
        byUser.computeIfAbsent(r.user(), u -> new ArrayList<>()).add(r.eventTime().getMillis());
      }
    }
    List<String> out = new ArrayList<>();
    byUser.forEach(
        (user, times) -> {
          times.sort(Comparator.naturalOrder());
          long start = times.get(0);
          long last = start;
          int count = 0;
          for (long t : times) {
            if (count > 0
                && (t >= last + gap.getMillis() || t - start >= maxDuration.getMillis())) {
              out.add(describe(user, start, last, count));
              start = t;
              count = 0;
            }
            last = t;
            count++;
          }
          out.add(describe(user, start, last, count));
        });
    return out;
  }

  /**
   * {@link #stream(List, Duration, Duration, Duration, List, boolean)}'s sessions as rows of the
   * sessions table, every column by the spec's rules ({@link SessionModel#row}), each event read
   * from its record's JSON.
   */
  public static List<SessionModel.Row> streamRows(
      List<Rec> inOrder,
      Duration gap,
      Duration allowedLateness,
      Duration outOfOrder,
      List<Rec> tooLate,
      boolean closeAtHorizon) {
    SessionModel model = new SessionModel(gap, allowedLateness);
    Map<Integer, Long> streamTime = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (Rec r : inOrder) {
      if (r.eventTime() == null || future(r, Duration.standardMinutes(5))) {
        continue;
      }
      long t = r.eventTime().getMillis();
      Long s = streamTime.get(r.partition());
      long horizon = s == null ? Long.MIN_VALUE : s - outOfOrder.getMillis();
      if (s != null && t + gap.getMillis() + allowedLateness.getMillis() <= horizon) {
        tooLate.add(r);
        continue;
      }
      if (s == null || t > s) {
        streamTime.put(r.partition(), t);
      }
      if (!seen.add(r.user() + "/" + r.eventId())) {
        continue; // duplicate
      }
      model.accept(
          SessionModel.Event.of(r.payload()),
          s == null || !closeAtHorizon ? BoundedWindow.TIMESTAMP_MIN_VALUE : new Instant(horizon));
    }
    return model.rows();
  }

  /** {@link #batch}'s sessions as rows of the sessions table, every column. */
  public static List<SessionModel.Row> batchRows(
      List<Rec> records, Duration gap, Duration maxDuration) {
    Map<String, List<SessionModel.Event>> byUser = new TreeMap<>();
    Set<String> seen = new HashSet<>();
    for (Rec r : records) {
      if (r.eventTime() != null
          && !future(r, Duration.standardMinutes(5))
          && seen.add(r.user() + "/" + r.eventId())) {
        byUser
            .computeIfAbsent(r.user(), u -> new ArrayList<>())
            .add(SessionModel.Event.of(r.payload()));
      }
    }
    List<SessionModel.Row> out = new ArrayList<>();
    byUser.forEach(
        (user, events) -> {
          events.sort(Comparator.comparingLong(SessionModel.Event::time));
          List<SessionModel.Event> session = new ArrayList<>();
          for (SessionModel.Event e : events) {
            if (!session.isEmpty()
                && (e.time() >= session.get(session.size() - 1).time() + gap.getMillis()
                    || e.time() - session.get(0).time() >= maxDuration.getMillis())) {
              out.add(SessionModel.row(user, session, true));
              session = new ArrayList<>();
            }
            session.add(e);
          }
          out.add(SessionModel.row(user, session, true));
        });
    return out;
  }

  /**
   * The rows of {@code all} whose session starts in {@code [from, to)} and whose user is not in
   * {@code users}.
   */
  public static List<SessionModel.Row> rowsStartingIn(
      List<SessionModel.Row> all, Instant from, Instant to, Set<String> users) {
    List<SessionModel.Row> out = new ArrayList<>();
    for (SessionModel.Row row : all) {
      Instant start = Instant.parse(row.columns().get("start_time"));
      if (!start.isBefore(from)
          && start.isBefore(to)
          && !users.contains(row.columns().get("user_id"))) {
        out.add(row);
      }
    }
    return out;
  }

  /** The sessions of {@code all} whose start lies in {@code [from, to)}. */
  public static List<String> startingIn(List<String> all, Instant from, Instant to) {
    List<String> out = new ArrayList<>();
    for (String s : all) {
      Instant start = Instant.parse(s.split(" ")[1]);
      if (!start.isBefore(from) && start.isBefore(to)) {
        out.add(s);
      }
    }
    return out;
  }

  public static String describe(String user, long start, long end, int events) {
    return user + " " + new Instant(start) + " " + new Instant(end) + " " + events;
  }
}
