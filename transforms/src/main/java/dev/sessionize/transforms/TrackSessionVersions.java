package dev.sessionize.transforms;

import dev.sessionize.transforms.model.Session;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.MapCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Assigns {@link Session#version()} and {@link Session#supersededSessionIds()} to the rows that the
 * session windows emit.
 *
 * <p>Per user it remembers the sessions emitted and not yet final, with their span and version.
 * When an emission's span overlaps a remembered session with another id, late data has merged that
 * session into this one or moved its start, so that row must go: its id is listed as superseded.
 * The version is 0 for the first emission of a session and otherwise one more than the highest
 * version among the rows it replaces (its own earlier row included). Beam's pane index cannot serve
 * here: it starts again at 0 whenever a late event changes the bounds of a session window (the
 * merged window is a new window), which is exactly when a re-emission matters most.
 *
 * <p>A user's state holds only their open sessions and is empty once they are all final.
 */
public class TrackSessionVersions extends PTransform<PCollection<Session>, PCollection<Session>> {

  public static TrackSessionVersions create() {
    return new TrackSessionVersions();
  }

  @Override
  public PCollection<Session> expand(PCollection<Session> sessions) {
    return sessions
        .apply("InGlobalWindow", Window.into(new GlobalWindows()))
        .apply(
            "KeyByUser",
            WithKeys.of((Session s) -> s.userId()).withKeyType(TypeDescriptors.strings()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Session.SessionCoder.of()))
        .apply("AssignVersions", ParDo.of(new TrackFn()))
        .setCoder(Session.SessionCoder.of());
  }

  /**
   * The rule itself, for one emission of a user's session {@code id} spanning {@code [start, end]}
   * (event times of its earliest and latest event): removes from {@code open} (the user's emitted,
   * not final sessions: id to [start, end, version]) the session itself and every other session
   * whose span overlaps it, adds their ids to {@code replaced} (sorted), stores the emission unless
   * it is final, and returns its version. {@link StatefulSessions} applies the same rule, with a
   * session's start as its key (a user's session ids differ exactly when their starts do).
   */
  static <K extends Comparable<? super K>> long assign(
      Map<K, List<Long>> open, K id, long start, long end, boolean isFinal, List<K> replaced) {
    List<Long> own = open.remove(id);
    long version = own == null ? -1 : own.get(2);
    for (Iterator<Map.Entry<K, List<Long>>> it = open.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<K, List<Long>> e = it.next();
      if (e.getValue().get(0) <= end && e.getValue().get(1) >= start) {
        replaced.add(e.getKey());
        version = Math.max(version, e.getValue().get(2));
        it.remove();
      }
    }
    version++;
    if (!isFinal) {
      open.put(id, List.of(start, end, version));
    }
    Collections.sort(replaced);
    return version;
  }

  static class TrackFn extends DoFn<KV<String, Session>, Session> {
    private final Counter superseded = SessionizeMetrics.counter("sessions_superseded");

    /** Open (emitted, not final) sessions of the user: id to [start, end, version]. */
    @StateId("open")
    private final StateSpec<ValueState<Map<String, List<Long>>>> openSpec =
        StateSpecs.value(
            MapCoder.of(
                StringUtf8Coder.of(), org.apache.beam.sdk.coders.ListCoder.of(VarLongCoder.of())));

    @ProcessElement
    public void process(
        @Element KV<String, Session> element,
        @StateId("open") ValueState<Map<String, List<Long>>> openState,
        OutputReceiver<Session> out) {
      Session session = element.getValue();
      Map<String, List<Long>> stored = openState.read();
      Map<String, List<Long>> open = stored == null ? new HashMap<>() : new HashMap<>(stored);
      List<String> replaced = new ArrayList<>();
      long version =
          assign(
              open,
              session.sessionId(),
              session.startTime().getMillis(),
              session.endTime().getMillis(),
              session.isFinal(),
              replaced);
      if (open.isEmpty()) {
        openState.clear();
      } else {
        openState.write(open);
      }
      superseded.inc(replaced.size());
      out.output(
          session.toBuilder().setVersion((int) version).setSupersededSessionIds(replaced).build());
    }
  }
}
