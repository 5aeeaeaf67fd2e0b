package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ByteSink;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import dev.sessionize.transforms.model.Wire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.BagState;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The sessions step in keyed state ({@code --sessionImpl=state}): what {@link DedupEvents} and
 * {@link Sessionize} do together, in one stateful {@code DoFn} per user in the global window, with
 * one state value and one event-time timer.
 *
 * <p>The value holds the user's sessions that are still open (each a {@link SessionAccumulator} and
 * whether its end-of-window row is due), the event ids seen within the dedup retention, and the
 * emitted, not yet final sessions with their versions; the timer is armed at the earliest deadline
 * among them (a session's end of window, its expiry, an id's retention) and re-armed when it fires,
 * never moved for an event whose deadlines are later. Each event is read once: the lateness check,
 * dedup, the merge, and the pane if one is due.
 *
 * <p><b>The same rows as the windows.</b> {@link Sessionize} is the reference: Beam's session
 * windows ({@link CappedSessions}) with the watermark trigger, late firings per element,
 * accumulating panes, the allowed lateness with a final pane always, then {@link
 * TrackSessionVersions}. This step gives the same rows (every column but {@code emitted_at})
 * because it follows the rules by which Beam's {@code ReduceFnRunner} fires those windows:
 *
 * <ul>
 *   <li>an event opens {@code [t, t + gap)}, merged with the open sessions by {@link
 *       CappedSessions#mergeGroups}, the same rule and so the same 24 h cuts;
 *   <li>after an event, its session emits at once if the watermark is past the session's end of
 *       window ({@code end + gap - 1 ms}; a late event into a session that already fired, a late
 *       event that opens or merges a session whose end has passed), otherwise when the watermark
 *       passes it;
 *   <li>when the watermark passes a session's expiry ({@code end + gap - 1 ms + allowed lateness})
 *       it emits its final pane and is forgotten; if the watermark passed its end of window in the
 *       same jump, that final pane is the only one, as with Beam's timers;
 *   <li>{@code version} and the superseded ids are {@link TrackSessionVersions#assign}'s, on the
 *       same emissions in the same order.
 * </ul>
 *
 * {@code SessionsDifferentialTest} checks this on a thousand seeded random streams.
 *
 * <p><b>Where it decides otherwise, on purpose.</b> A session whose expiry is before the event's
 * {@link ClickEvent#gateWatermark()} (the lateness gate's horizon, judged from the event's
 * partition) is final for that event: the event does not join it even if the runner's watermark has
 * not yet reached that expiry. This is decided per event (an event from a partition that is behind
 * may still join it), so it only matters for users whose events come from one partition, where it
 * makes the output a function of the partition's records. So whether a late event joins a session
 * or starts a new one depends only on the partition's records, not on how fast the job ran; Beam's
 * windows would join them while the watermark lags. Without a gate horizon (tests that feed events
 * straight in) the two agree exactly.
 *
 * <p><b>A bounded input in the stream's order.</b> That judgement depends on the events met before,
 * and a batch run hands a user's events over in any order (the FlinkRunner's batch mode in none in
 * particular). For a bounded input {@link BoundedSessionsFn} keeps a user's events until the input
 * ends and takes them in (gate horizon, partition, offset) order; an unbounded input goes through
 * {@link StreamSessionsFn}, which keeps nothing more.
 *
 * <p><b>State values are never changed in place.</b> A value read from state is copied before it is
 * changed (accumulators included), so a runner that shares state objects with a running snapshot
 * (Flink's heap state backend with {@code --fasterCopy=true}) never sees a half-updated session.
 */
public class StatefulSessions extends PTransform<PCollection<ClickEvent>, PCollectionTuple> {
  public static final TupleTag<Session> SESSIONS = new TupleTag<Session>("sessions") {};
  public static final TupleTag<ClickEvent> ACCEPTED = DedupEvents.ACCEPTED;
  public static final TupleTag<DeadLetter> TOO_LATE = DedupEvents.TOO_LATE;
  public static final TupleTag<ClickEvent> ARCHIVE = DedupEvents.ARCHIVE;

  private final SessionizeConfig config;
  private final boolean archive;

  private StatefulSessions(SessionizeConfig config, boolean archive) {
    this.config = config;
    this.archive = archive;
  }

  public static StatefulSessions of(SessionizeConfig config) {
    return new StatefulSessions(config, false);
  }

  /** Also outputs {@link #ARCHIVE}: every event past the lateness check, before dedup. */
  public StatefulSessions withArchive() {
    return new StatefulSessions(config, true);
  }

  @Override
  public PCollectionTuple expand(PCollection<ClickEvent> events) {
    PCollectionTuple result =
        events
            .apply("InGlobalWindow", Window.into(new GlobalWindows()))
            .apply(
                "KeyByUser",
                WithKeys.of((ClickEvent e) -> e.userId()).withKeyType(TypeDescriptors.strings()))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), ClickEvent.ClickEventCoder.of()))
            .apply(
                "DedupAndSessionize",
                ParDo.of(
                        events.isBounded() == PCollection.IsBounded.BOUNDED
                            ? new BoundedSessionsFn(config, archive)
                            : new StreamSessionsFn(config, archive))
                    .withOutputTags(
                        SESSIONS, TupleTagList.of(ACCEPTED).and(TOO_LATE).and(ARCHIVE)));
    result.get(SESSIONS).setCoder(Session.SessionCoder.of());
    result.get(ACCEPTED).setCoder(ClickEvent.ClickEventCoder.of());
    result.get(TOO_LATE).setCoder(DeadLetter.DeadLetterCoder.of());
    result.get(ARCHIVE).setCoder(ClickEvent.ClickEventCoder.of());
    return result;
  }

  /**
   * What both modes share: the user's state value and timer, the judgement of one event ({@link
   * #accept}), the timer's rows ({@link #closeDue}).
   */
  abstract static class SessionsFn extends DoFn<KV<String, ClickEvent>, Session> {
    private static final long ALIGN_MILLIS = 60_000L;

    private final long gapMillis;
    private final long allowedLatenessMillis;
    private final long latenessMillis;
    private final long retentionMillis;
    private final long maxDurationMillis;
    private final int maxPages;
    private final String reportingCurrency;
    private final String latenessText;
    private final Clock clock;
    private final boolean archive;

    private final Counter accepted = SessionizeMetrics.counter("accepted");
    private final Counter duplicates = SessionizeMetrics.counter("duplicates");
    private final Counter tooLate = SessionizeMetrics.deadLetters(Reason.TOO_LATE);
    private final Counter emitted = SessionizeMetrics.counter("session_emissions");
    private final Counter finals = SessionizeMetrics.counter("sessions_final");
    private final Counter atPageCap = SessionizeMetrics.counter("sessions_final_at_page_cap");
    private final Counter superseded = SessionizeMetrics.counter("sessions_superseded");
    private final Counter closedByGate = SessionizeMetrics.counter("sessions_closed_by_gate");

    SessionsFn(SessionizeConfig config, boolean archive) {
      this.gapMillis = config.sessionGap().getMillis();
      this.allowedLatenessMillis = config.allowedLateness().getMillis();
      this.latenessMillis = config.lateness().getMillis();
      this.retentionMillis = config.dedupRetention().getMillis();
      this.maxDurationMillis = config.maxSessionDuration().getMillis();
      this.maxPages = config.maxPagesPerSession();
      this.reportingCurrency = config.reportingCurrency();
      this.clock = config.clock();
      this.archive = archive;
      this.latenessText =
          "gap "
              + config.sessionGap().getStandardSeconds()
              + " s + allowed lateness "
              + config.allowedLateness().getStandardSeconds()
              + " s";
    }

    /** The user's state value; each subclass declares it (Beam wants it beside the callbacks). */
    final StateSpec<ValueState<UserSessions>> userSpec() {
      return StateSpecs.value(new UserSessions.Coder(maxPages));
    }

    /**
     * Rows emitted by the timer carry its firing time, behind the output watermark: the timer holds
     * no watermark (it would hold the dashboard's), and rows go to sinks in the global window.
     */
    @Override
    @SuppressWarnings("deprecation")
    public Duration getAllowedTimestampSkew() {
      return Duration.millis(Long.MAX_VALUE);
    }

    /**
     * One event through the lateness check, dedup and the merge, against {@code watermark}; what it
     * outputs carries {@code timestamp}, the element's ({@code replayed} events of the bounded mode
     * come from the timer, which arms nothing for them: {@link #closeDue} follows).
     */
    final void accept(
        String userId,
        ClickEvent event,
        Instant timestamp,
        long watermark,
        ValueState<UserSessions> state,
        Timer deadline,
        MultiOutputReceiver out,
        boolean replayed) {
      long t = event.timestamp().getMillis();
      if (t + latenessMillis <= watermark) {
        tooLate.inc();
        out.get(TOO_LATE).outputWithTimestamp(tooLate(event, watermark), timestamp);
        return;
      }
      if (archive) {
        out.get(ARCHIVE).outputWithTimestamp(event, timestamp);
      }
      UserSessions stored = state.read();
      String eventId = event.eventId();
      if (eventId != null && stored != null) {
        long seenAt = stored.seen.timeOf(eventId);
        // An id is forgotten once the watermark passes its event time + the retention, whenever
        // the timer gets to removing it.
        if (seenAt != Long.MIN_VALUE && seenAt + retentionMillis >= watermark) {
          duplicates.inc();
          return;
        }
      }
      accepted.inc();
      UserSessions user = stored == null ? new UserSessions() : stored.copy();
      if (eventId != null) {
        user.seen = user.seen.with(eventId, t);
      }
      long horizon = Math.max(watermark, event.gateWatermark());
      Added added = addEvent(user, event, horizon);
      Open session = added.session;
      if (session.endOfWindow(gapMillis) < watermark) {
        // The end of its window has passed: Beam's trigger fires this session at once.
        user.sessions.set(user.sessions.indexOf(session), session.fired());
        emit(userId, session.acc, false, user, timestamp, out);
      }
      if (!replayed) {
        arm(user, deadline);
      }
      state.write(user);
      out.get(ACCEPTED)
          .outputWithTimestamp(
              added.opens ? event.toBuilder().setOpensSession(true).build() : event, timestamp);
    }

    /**
     * The timer: emits the sessions whose end of window or expiry the watermark has passed, forgets
     * the expired ids, and arms the timer again for what is left.
     */
    final void closeDue(
        Instant at,
        String userId,
        ValueState<UserSessions> state,
        Timer deadline,
        MultiOutputReceiver out) {
      UserSessions stored = state.read();
      if (stored == null) {
        return;
      }
      UserSessions user = stored.copy();
      user.timerAt = Long.MIN_VALUE; // this firing consumed it
      long watermark = deadline.getCurrentRelativeTime().getMillis();
      for (int i = 0; i < user.sessions.size(); ) {
        Open session = user.sessions.get(i);
        if (session.expiry(gapMillis, allowedLatenessMillis) < watermark) {
          user.sessions.remove(i);
          emit(userId, session.acc, true, user, at, out);
          continue;
        }
        if (session.pending && session.endOfWindow(gapMillis) < watermark) {
          user.sessions.set(i, session.fired());
          emit(userId, session.acc, false, user, at, out);
        }
        i++;
      }
      user.seen = user.seen.withoutExpired(watermark, retentionMillis);
      if (user.isEmpty()) {
        state.clear();
        return;
      }
      arm(user, deadline);
      state.write(user);
    }

    /** The session an event went into, and whether it started that session alone. */
    private record Added(Open session, boolean opens) {}

    /**
     * Adds the event to the user's sessions: closes the sessions that expired before {@code
     * horizon}, then merges the event's window {@code [t, t + gap)} with the open ones by the rule
     * of {@link CappedSessions}, in Beam's order of windows (start, then end).
     */
    private Added addEvent(UserSessions user, ClickEvent event, long horizon) {
      long t = event.timestamp().getMillis();
      List<Span> spans = new ArrayList<>(user.sessions.size() + 1);
      for (Open session : user.sessions) {
        if (session.expiry(gapMillis, allowedLatenessMillis) < horizon) {
          // Expired for this event (its partition's stream time says so), though the watermark
          // has not closed it yet: the event does not join it. Decided per event, not kept: a
          // user's events from a partition that is behind may still join it, as the windows do.
          closedByGate.inc();
          continue;
        }
        spans.add(
            new Span(session.acc.startMillis(), session.acc.endMillis() + gapMillis, session));
      }
      Span own = new Span(t, t + gapMillis, null);
      spans.add(own);
      spans.sort(Span.ORDER);
      List<Span> group = null;
      for (List<Span> g :
          CappedSessions.mergeGroups(spans, Span::start, Span::end, gapMillis, maxDurationMillis)) {
        if (g.contains(own)) {
          group = g;
          break;
        }
      }
      SessionAccumulator acc = new SessionAccumulator(maxPages);
      for (Span member : group) {
        if (member.session != null) {
          acc.merge(member.session.acc);
          user.sessions.remove(member.session);
        }
      }
      acc.add(event);
      Open session = new Open(acc, true);
      user.sessions.add(session);
      user.sessions.sort(BY_START);
      return new Added(session, group.size() == 1);
    }

    private static final Comparator<Open> BY_START =
        Comparator.comparingLong((Open s) -> s.acc.startMillis())
            .thenComparingLong(s -> s.acc.endMillis());

    /** A session's window {@code [start, end)}; {@code session} is null for the event's own. */
    private record Span(long start, long end, @Nullable Open session) {
      static final Comparator<Span> ORDER =
          Comparator.comparingLong(Span::start).thenComparingLong(Span::end);
    }

    /** Emits one pane of a session, with its version and the ids it supersedes. */
    private void emit(
        String userId,
        SessionAccumulator acc,
        boolean isFinal,
        UserSessions user,
        Instant at,
        MultiOutputReceiver out) {
      Map<Long, List<Long>> open = new HashMap<>();
      for (long[] e : user.emitted) {
        open.put(e[0], List.of(e[0], e[1], e[2]));
      }
      List<Long> replacedStarts = new ArrayList<>();
      long version =
          TrackSessionVersions.assign(
              open, acc.startMillis(), acc.startMillis(), acc.endMillis(), isFinal, replacedStarts);
      user.emitted.clear();
      for (List<Long> e : open.values()) {
        user.emitted.add(new long[] {e.get(0), e.get(1), e.get(2)});
      }
      List<String> replaced = new ArrayList<>(replacedStarts.size());
      for (long start : replacedStarts) {
        replaced.add(Session.idFor(userId, new Instant(start)));
      }
      Session row =
          Sessionize.toSession(
              userId, acc, (int) version, isFinal, clock.now(), reportingCurrency, replaced);
      emitted.inc();
      superseded.inc(replaced.size());
      if (isFinal) {
        finals.inc();
        if (row.pagesVisited().size() >= maxPages) {
          atPageCap.inc();
        }
      }
      out.get(SESSIONS).outputWithTimestamp(row, at);
    }

    /** Moves the timer earlier when a deadline comes before it; later deadlines wait for it. */
    private void arm(UserSessions user, Timer deadline) {
      long next = Long.MAX_VALUE;
      for (Open s : user.sessions) {
        next = Math.min(next, s.expiry(gapMillis, allowedLatenessMillis));
        if (s.pending) {
          next = Math.min(next, s.endOfWindow(gapMillis));
        }
      }
      // The ids need the timer only once no session will fire it: expired ids are removed
      // whenever it fires, and a lookup ignores them until then.
      if (user.sessions.isEmpty() && !user.seen.isEmpty()) {
        next = Math.min(next, alignUp(user.seen.latest() + retentionMillis));
      }
      if (next != Long.MAX_VALUE && (user.timerAt == Long.MIN_VALUE || next < user.timerAt)) {
        deadline.withNoOutputTimestamp().set(new Instant(next));
        user.timerAt = next;
      }
    }

    private DeadLetter tooLate(ClickEvent event, long watermark) {
      byte[] payload = event.payload();
      return DeadLetter.builder()
          .setReason(Reason.TOO_LATE)
          .setDetail(
              "event time "
                  + Json.formatInstant(event.timestamp())
                  + " + "
                  + latenessText
                  + " is not after the watermark "
                  + Json.formatInstant(new Instant(watermark))
                  + ": its session window has expired")
          .setPayload(
              payload != null ? payload : EventJson.toJson(event).getBytes(StandardCharsets.UTF_8))
          .setSourceTopic(event.sourceTopic())
          .setSourcePartition(event.sourcePartition())
          .setSourceOffset(event.sourceOffset())
          .setUserId(event.userId())
          .setEventTime(event.timestamp())
          .setRejectedAt(clock.now())
          .build();
    }

    private static long alignUp(long millis) {
      return Math.floorDiv(millis + ALIGN_MILLIS - 1, ALIGN_MILLIS) * ALIGN_MILLIS;
    }
  }

  /** An unbounded input: each event judged as it arrives, against the step's input watermark. */
  static final class StreamSessionsFn extends SessionsFn {
    @StateId("user")
    private final StateSpec<ValueState<UserSessions>> userSpec = userSpec();

    @TimerId("deadline")
    private final TimerSpec deadlineSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    StreamSessionsFn(SessionizeConfig config, boolean archive) {
      super(config, archive);
    }

    @ProcessElement
    public void process(
        @Element KV<String, ClickEvent> element,
        @Timestamp Instant timestamp,
        @StateId("user") ValueState<UserSessions> state,
        @TimerId("deadline") Timer deadline,
        MultiOutputReceiver out) {
      // For an event-time timer this is the input watermark of this step.
      long watermark = deadline.getCurrentRelativeTime().getMillis();
      accept(
          element.getKey(), element.getValue(), timestamp, watermark, state, deadline, out, false);
    }

    @OnTimer("deadline")
    public void onDeadline(
        OnTimerContext context,
        @Key String userId,
        @StateId("user") ValueState<UserSessions> state,
        @TimerId("deadline") Timer deadline,
        MultiOutputReceiver out) {
      closeDue(context.fireTimestamp(), userId, state, deadline, out);
    }
  }

  /**
   * A bounded input (a batch run, the backfill): the runner may hand a user's events over in any
   * order, and whether a session is closed for an event depends on the events before it, so they
   * are kept until the input ends and then taken in the order a stream of their partitions gives
   * them ({@link #REPLAY_ORDER}). A user's events are held in memory until then: fine for a batch
   * run, and the streaming path ({@link StreamSessionsFn}) has none of it.
   */
  static final class BoundedSessionsFn extends SessionsFn {
    /**
     * Gate horizon first (a partition's horizons grow with its offsets, so each partition stays in
     * offset order and partitions interleave as their stream times do), then the position.
     */
    static final Comparator<ClickEvent> REPLAY_ORDER =
        Comparator.comparingLong(ClickEvent::gateWatermark)
            .thenComparing(
                e -> e.sourceTopic() == null ? "" : e.sourceTopic(), Comparator.naturalOrder())
            .thenComparingLong(ClickEvent::sourcePartition)
            .thenComparingLong(ClickEvent::sourceOffset)
            .thenComparingLong(e -> e.timestamp().getMillis());

    @StateId("user")
    private final StateSpec<ValueState<UserSessions>> userSpec = userSpec();

    @TimerId("deadline")
    private final TimerSpec deadlineSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    /** The user's events with their timestamps, which they go on with when they are taken. */
    @StateId("buffered")
    private final StateSpec<BagState<TimestampedValue<ClickEvent>>> bufferedSpec =
        StateSpecs.bag(TimestampedValue.TimestampedValueCoder.of(ClickEvent.ClickEventCoder.of()));

    /** The earliest buffered event's timestamp: where the timer holds the output watermark. */
    @StateId("bufferedFrom")
    private final StateSpec<ValueState<Long>> bufferedFromSpec =
        StateSpecs.value(VarLongCoder.of());

    BoundedSessionsFn(SessionizeConfig config, boolean archive) {
      super(config, archive);
    }

    @ProcessElement
    public void process(
        @Element KV<String, ClickEvent> element,
        @Timestamp Instant timestamp,
        @StateId("buffered") BagState<TimestampedValue<ClickEvent>> buffered,
        @StateId("bufferedFrom") ValueState<Long> bufferedFrom,
        @TimerId("deadline") Timer deadline) {
      // Kept until the input ends; the timer holds the output watermark at the earliest one, so
      // the accepted events are still on time downstream when they come out.
      buffered.add(TimestampedValue.of(element.getValue(), timestamp));
      Long from = bufferedFrom.read();
      if (from == null || timestamp.getMillis() < from) {
        bufferedFrom.write(timestamp.getMillis());
        deadline.withOutputTimestamp(timestamp).set(GlobalWindow.INSTANCE.maxTimestamp());
      }
    }

    /**
     * At the end of the input: the user's events in {@link #REPLAY_ORDER}, each judged as the
     * stream judges it before its watermark moves (by its gate horizon), then the sessions closed.
     */
    @OnTimer("deadline")
    public void onDeadline(
        OnTimerContext context,
        @Key String userId,
        @StateId("user") ValueState<UserSessions> state,
        @StateId("buffered") BagState<TimestampedValue<ClickEvent>> buffered,
        @StateId("bufferedFrom") ValueState<Long> bufferedFrom,
        @TimerId("deadline") Timer deadline,
        MultiOutputReceiver out) {
      if (bufferedFrom.read() != null) {
        bufferedFrom.clear();
        List<TimestampedValue<ClickEvent>> events = new ArrayList<>();
        buffered.read().forEach(events::add);
        buffered.clear();
        events.sort(Comparator.comparing(TimestampedValue::getValue, REPLAY_ORDER));
        for (TimestampedValue<ClickEvent> e : events) {
          accept(
              userId, e.getValue(), e.getTimestamp(), Long.MIN_VALUE, state, deadline, out, true);
        }
      }
      closeDue(context.fireTimestamp(), userId, state, deadline, out);
    }
  }

  /**
   * One open session: its accumulator (never changed once in state) and whether it holds events not
   * yet emitted (its end-of-window pane is due).
   */
  static final class Open {
    final SessionAccumulator acc;
    final boolean pending;

    Open(SessionAccumulator acc, boolean pending) {
      this.acc = acc;
      this.pending = pending;
    }

    /** The window's max timestamp: the last event time + gap - 1 ms. */
    long endOfWindow(long gapMillis) {
      return acc.endMillis() + gapMillis - 1;
    }

    /** Beam's garbage-collection time of the window: max timestamp + allowed lateness. */
    long expiry(long gapMillis, long allowedLatenessMillis) {
      return endOfWindow(gapMillis) + allowedLatenessMillis;
    }

    Open fired() {
      return new Open(acc, false);
    }
  }

  /** The state value of one user. */
  static final class UserSessions {
    /** Open sessions, by start. */
    final List<Open> sessions;

    /** Event ids seen (accepted), with their event time. */
    SeenIds seen;

    /** Emitted, not final sessions: [start, end, version] ({@link TrackSessionVersions}). */
    final List<long[]> emitted;

    /** Where the timer is armed, or {@link Long#MIN_VALUE}. */
    long timerAt = Long.MIN_VALUE;

    UserSessions() {
      this(new ArrayList<>(2), SeenIds.NONE, new ArrayList<>(1));
    }

    private UserSessions(List<Open> sessions, SeenIds seen, List<long[]> emitted) {
      this.sessions = sessions;
      this.seen = seen;
      this.emitted = emitted;
    }

    /** A copy to change: the lists are new; sessions and the ids are replaced, never changed. */
    UserSessions copy() {
      List<long[]> emittedCopy = new ArrayList<>(emitted.size());
      for (long[] e : emitted) {
        emittedCopy.add(e.clone());
      }
      UserSessions copy = new UserSessions(new ArrayList<>(sessions), seen, emittedCopy);
      copy.timerAt = timerAt;
      return copy;
    }

    boolean isEmpty() {
      return sessions.isEmpty() && seen.isEmpty() && emitted.isEmpty();
    }

    /** Hand-written coder: the accumulators in their own compact layout, times as varints. */
    static final class Coder extends CustomCoder<UserSessions> {
      private static final int LAYOUT_1 = 1;
      private final SessionAccumulator.Coder accumulators;
      private final int maxPages;

      Coder(int maxPages) {
        this.maxPages = maxPages;
        this.accumulators = new SessionAccumulator.Coder(maxPages);
      }

      @Override
      public void encode(UserSessions value, OutputStream out) throws IOException {
        ByteSink buffer = new ByteSink(256);
        buffer.write(LAYOUT_1);
        Wire.writeVarInt(value.sessions.size(), buffer);
        for (Open s : value.sessions) {
          buffer.write(s.pending ? 1 : 0);
          SessionAccumulator.Coder.encodeUnbuffered(s.acc, buffer);
        }
        value.seen.encode(buffer);
        Wire.writeVarInt(value.emitted.size(), buffer);
        for (long[] e : value.emitted) {
          Wire.writeSignedVarLong(e[0], buffer);
          Wire.writeVarLong(e[1] - e[0], buffer);
          Wire.writeVarLong(e[2], buffer);
        }
        Wire.writeSignedVarLong(value.timerAt, buffer);
        buffer.writeTo(out);
      }

      @Override
      public UserSessions decode(InputStream in) throws IOException {
        int layout = in.read();
        if (layout != LAYOUT_1) {
          throw new IOException("unknown user sessions layout " + layout);
        }
        int count = Wire.readVarInt(in);
        List<Open> sessions = new ArrayList<>(count + 1);
        for (int i = 0; i < count; i++) {
          int flags = in.read();
          if (flags < 0) {
            throw new IOException("truncated user sessions");
          }
          sessions.add(new Open(accumulators.decode(in), (flags & 1) != 0));
        }
        SeenIds seen = SeenIds.decode(in);
        int emittedCount = Wire.readVarInt(in);
        List<long[]> emitted = new ArrayList<>(emittedCount + 1);
        for (int i = 0; i < emittedCount; i++) {
          long start = Wire.readSignedVarLong(in);
          long end = start + Wire.readVarLong(in);
          emitted.add(new long[] {start, end, Wire.readVarLong(in)});
        }
        UserSessions value = new UserSessions(sessions, seen, emitted);
        value.timerAt = Wire.readSignedVarLong(in);
        return value;
      }

      @Override
      public void verifyDeterministic() {}

      @Override
      public boolean equals(@Nullable Object o) {
        return o instanceof Coder && ((Coder) o).maxPages == maxPages;
      }

      @Override
      public int hashCode() {
        return maxPages;
      }
    }
  }

  /**
   * The ids a user's accepted events carried, with their event times: two arrays sorted by id,
   * never changed (a change makes new arrays), so a copy of the state value shares them.
   */
  static final class SeenIds {
    static final SeenIds NONE = new SeenIds(new String[0], new long[0]);

    private final String[] ids;
    private final long[] times;

    private SeenIds(String[] ids, long[] times) {
      this.ids = ids;
      this.times = times;
    }

    int size() {
      return ids.length;
    }

    boolean isEmpty() {
      return ids.length == 0;
    }

    /** The event time the id was seen with, or {@link Long#MIN_VALUE}. */
    long timeOf(String id) {
      int at = Arrays.binarySearch(ids, id);
      return at >= 0 ? times[at] : Long.MIN_VALUE;
    }

    SeenIds with(String id, long time) {
      int at = Arrays.binarySearch(ids, id);
      if (at >= 0) {
        long[] newTimes = times.clone();
        newTimes[at] = time;
        return new SeenIds(ids, newTimes);
      }
      int insert = -at - 1;
      String[] newIds = new String[ids.length + 1];
      long[] newTimes = new long[ids.length + 1];
      System.arraycopy(ids, 0, newIds, 0, insert);
      System.arraycopy(times, 0, newTimes, 0, insert);
      newIds[insert] = id;
      newTimes[insert] = time;
      System.arraycopy(ids, insert, newIds, insert + 1, ids.length - insert);
      System.arraycopy(times, insert, newTimes, insert + 1, ids.length - insert);
      return new SeenIds(newIds, newTimes);
    }

    /** Without the ids whose event time + retention the watermark has passed. */
    SeenIds withoutExpired(long watermark, long retentionMillis) {
      int kept = 0;
      for (long t : times) {
        kept += t + retentionMillis < watermark ? 0 : 1;
      }
      if (kept == ids.length) {
        return this;
      }
      String[] newIds = new String[kept];
      long[] newTimes = new long[kept];
      int k = 0;
      for (int i = 0; i < ids.length; i++) {
        if (times[i] + retentionMillis >= watermark) {
          newIds[k] = ids[i];
          newTimes[k++] = times[i];
        }
      }
      return new SeenIds(newIds, newTimes);
    }

    long latest() {
      long latest = Long.MIN_VALUE;
      for (long t : times) {
        latest = Math.max(latest, t);
      }
      return latest;
    }

    /** The ids as a map, for tests. */
    Map<String, Long> asMap() {
      Map<String, Long> map = new java.util.TreeMap<>();
      for (int i = 0; i < ids.length; i++) {
        map.put(ids[i], times[i]);
      }
      return map;
    }

    void encode(OutputStream out) throws IOException {
      Wire.writeVarInt(ids.length, out);
      for (int i = 0; i < ids.length; i++) {
        Wire.writeString(ids[i], out);
        Wire.writeSignedVarLong(times[i], out);
      }
    }

    static SeenIds decode(InputStream in) throws IOException {
      int n = Wire.readVarInt(in);
      if (n == 0) {
        return NONE;
      }
      String[] ids = new String[n];
      long[] times = new long[n];
      for (int i = 0; i < n; i++) {
        ids[i] = Wire.readString(in);
        times[i] = Wire.readSignedVarLong(in);
      }
      return new SeenIds(ids, times); // written in id order
    }
  }
}
