package dev.sessionize.pipeline;

import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * What must come out of a generated stream, computed without the pipeline: each malformed record's
 * reason, the distinct valid events (a repeat of user and event id is a duplicate), their sessions
 * by a sort-and-split on 30-minute gaps ({@link SessionModel}, every column of their rows from the
 * events' JSON) and the accepted events of each minute. A test adds its hand-made events with
 * {@link #accept}.
 */
public final class GeneratedExpectations {
  public final List<byte[]> payloads = new ArrayList<>();
  public final Map<String, Integer> reasons = new TreeMap<>();
  public final Set<String> distinct = new HashSet<>();
  public final SessionModel model =
      new SessionModel(Duration.standardMinutes(30), Duration.standardMinutes(5));
  public final Map<Long, Integer> eventsPerMinute = new TreeMap<>();
  private Instant last = BoundedWindow.TIMESTAMP_MIN_VALUE;

  public GeneratedExpectations(List<ClickstreamGenerator.Record> stream) {
    for (ClickstreamGenerator.Record r : stream) {
      payloads.add(r.payload);
      if (r.kind == ClickstreamGenerator.Kind.MALFORMED) {
        reasons.merge(r.expectedReason, 1, Integer::sum);
      } else {
        accept(r.payload);
      }
    }
  }

  /**
   * A valid event's JSON payload; a repeat of its user and event id is a duplicate and changes
   * nothing.
   */
  public void accept(byte[] payload) {
    SessionModel.Event event = SessionModel.Event.of(payload);
    if (event.eventId() == null || distinct.add(event.user() + "/" + event.eventId())) {
      model.accept(event, BoundedWindow.TIMESTAMP_MIN_VALUE);
      eventsPerMinute.merge(event.time() / 60_000, 1, Integer::sum);
      Instant eventTime = new Instant(event.time());
      last = eventTime.isAfter(last) ? eventTime : last;
    }
  }

  /** The latest event time accepted so far. */
  public Instant last() {
    return last;
  }

  /** The records that must become dead letters. */
  public int rejected() {
    return reasons.values().stream().mapToInt(Integer::intValue).sum();
  }
}
