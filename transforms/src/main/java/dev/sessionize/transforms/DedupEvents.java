package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Reason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.MapState;
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
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Instant;

/**
 * The gate in front of both windowed branches: routes too-late events to the dead-letter output,
 * then drops repeated {@code event_id}s per user. Returns {@link #ACCEPTED} events and {@link
 * #TOO_LATE} dead letters.
 *
 * <h3>Why too-late events are caught here</h3>
 *
 * Beam drops an element inside a GroupByKey when its window has expired ({@code window end +
 * allowed lateness < input watermark}) and only counts it. This step is a stateful DoFn keyed by
 * user; its event-time timer's {@link Timer#getCurrentRelativeTime()} is the step's own input
 * watermark, so it sees event-time progress exactly. An event with {@code t + gap + allowed
 * lateness <= watermark} (its own session window {@code [t, t + gap)} has expired) becomes a
 * TOO_LATE dead letter.
 *
 * <p><b>Guarantee.</b> Every event this step accepts reaches its session and its dashboard minute:
 * the session and dashboard GroupByKeys are downstream, so their input watermark is never ahead of
 * this step's at the moment it processed the event, and an event accepted here has {@code t + gap +
 * allowed lateness > watermark}, which is exactly the condition under which Beam keeps it in a
 * session window with that allowed lateness (and in a dashboard minute whose allowed lateness is
 * gap + allowed lateness). Hence nothing is dropped silently: read = in sessions + duplicates +
 * dead letters.
 *
 * <p><b>Dedup state.</b> Per user, a map from event id to event time, expired by one event-time
 * timer per user (aligned to the minute, output timestamp none so it never holds the watermark)
 * after gap + allowed lateness + out-of-orderness.
 */
public class DedupEvents extends PTransform<PCollection<ClickEvent>, PCollectionTuple> {
  public static final TupleTag<ClickEvent> ACCEPTED = new TupleTag<ClickEvent>("accepted") {};
  public static final TupleTag<DeadLetter> TOO_LATE = new TupleTag<DeadLetter>("tooLate") {};

  /**
   * With {@link #withArchive()}: every event that passed the lateness check, duplicates included
   * and as parsed ({@code opens_session} unset): the raw events archive of the batch layer.
   */
  public static final TupleTag<ClickEvent> ARCHIVE = new TupleTag<ClickEvent>("archive") {};

  private final SessionizeConfig config;
  private final boolean archive;

  private DedupEvents(SessionizeConfig config, boolean archive) {
    this.config = config;
    this.archive = archive;
  }

  public static DedupEvents of(SessionizeConfig config) {
    return new DedupEvents(config, false);
  }

  /** Also outputs {@link #ARCHIVE}: the events after the lateness check, before dedup. */
  public DedupEvents withArchive() {
    return new DedupEvents(config, true);
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
                "JudgeLatenessAndDedup",
                ParDo.of(new GateFn(config, archive))
                    .withOutputTags(ACCEPTED, TupleTagList.of(TOO_LATE).and(ARCHIVE)));
    result.get(ACCEPTED).setCoder(ClickEvent.ClickEventCoder.of());
    result.get(TOO_LATE).setCoder(DeadLetter.DeadLetterCoder.of());
    result.get(ARCHIVE).setCoder(ClickEvent.ClickEventCoder.of());
    return result;
  }

  static class GateFn extends DoFn<KV<String, ClickEvent>, ClickEvent> {
    private static final long ALIGN_MILLIS = 60_000L;

    private final long latenessMillis;
    private final long gapMillis;
    private final long retentionMillis;
    private final String latenessText;
    private final Clock clock;
    private final boolean archive;

    private final Counter accepted = SessionizeMetrics.counter("accepted");
    private final Counter duplicates = SessionizeMetrics.counter("duplicates");
    private final Counter tooLate = SessionizeMetrics.deadLetters(Reason.TOO_LATE);

    @StateId("seen")
    private final StateSpec<MapState<String, Long>> seenSpec =
        StateSpecs.map(StringUtf8Coder.of(), VarLongCoder.of());

    @StateId("latest")
    private final StateSpec<ValueState<Long>> latestSpec = StateSpecs.value(VarLongCoder.of());

    @StateId("timerAt")
    private final StateSpec<ValueState<Long>> timerAtSpec = StateSpecs.value(VarLongCoder.of());

    @TimerId("expiry")
    private final TimerSpec expirySpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    GateFn(SessionizeConfig config, boolean archive) {
      this.archive = archive;
      this.latenessMillis = config.lateness().getMillis();
      this.gapMillis = config.sessionGap().getMillis();
      this.retentionMillis = config.dedupRetention().getMillis();
      this.latenessText =
          "gap "
              + config.sessionGap().getStandardSeconds()
              + " s + allowed lateness "
              + config.allowedLateness().getStandardSeconds()
              + " s";
      this.clock = config.clock();
    }

    @ProcessElement
    public void process(
        @Element KV<String, ClickEvent> element,
        @StateId("seen") MapState<String, Long> seen,
        @StateId("latest") ValueState<Long> latest,
        @StateId("timerAt") ValueState<Long> timerAt,
        @TimerId("expiry") Timer expiry,
        MultiOutputReceiver out) {
      ClickEvent event = element.getValue();
      long t = event.timestamp().getMillis();
      // For an event-time timer this is the input watermark of this step.
      Instant watermark = expiry.getCurrentRelativeTime();
      if (t + latenessMillis <= watermark.getMillis()) {
        tooLate.inc();
        out.get(TOO_LATE).output(tooLate(event, watermark));
        return;
      }
      if (archive) {
        out.get(ARCHIVE).output(event);
      }
      String eventId = event.eventId();
      if (eventId != null) {
        if (seen.get(eventId).read() != null) {
          duplicates.inc();
          return;
        }
        seen.put(eventId, t);
      }
      Long last = latest.read();
      boolean opensSession = last == null || t >= last + gapMillis;
      if (last == null || t > last) {
        latest.write(t);
      }
      if (timerAt.read() == null) {
        long at = alignUp(t + retentionMillis);
        expiry.withNoOutputTimestamp().set(new Instant(at));
        timerAt.write(at);
      }
      accepted.inc();
      out.get(ACCEPTED)
          .output(opensSession ? event.toBuilder().setOpensSession(true).build() : event);
    }

    @OnTimer("expiry")
    public void onExpiry(
        OnTimerContext context,
        @StateId("seen") MapState<String, Long> seen,
        @StateId("latest") ValueState<Long> latest,
        @StateId("timerAt") ValueState<Long> timerAt,
        @TimerId("expiry") Timer expiry) {
      // The firing time: the timer has no output timestamp, so @Timestamp would not be it.
      long horizon = context.fireTimestamp().getMillis() - retentionMillis;
      long oldestKept = Long.MAX_VALUE;
      List<String> expired = new ArrayList<>();
      for (Map.Entry<String, Long> entry : seen.entries().read()) {
        if (entry.getValue() <= horizon) {
          expired.add(entry.getKey());
        } else {
          oldestKept = Math.min(oldestKept, entry.getValue());
        }
      }
      for (String id : expired) {
        seen.remove(id);
      }
      Long last = latest.read();
      if (last != null && last <= horizon) {
        latest.clear();
      } else if (last != null) {
        oldestKept = Math.min(oldestKept, last);
      }
      if (oldestKept == Long.MAX_VALUE) {
        timerAt.clear();
      } else {
        long at = alignUp(oldestKept + retentionMillis);
        expiry.withNoOutputTimestamp().set(new Instant(at));
        timerAt.write(at);
      }
    }

    private DeadLetter tooLate(ClickEvent event, Instant watermark) {
      return DeadLetter.builder()
          .setReason(Reason.TOO_LATE)
          .setDetail(
              "event time "
                  + Json.formatInstant(event.timestamp())
                  + " + "
                  + latenessText
                  + " is not after the watermark "
                  + Json.formatInstant(watermark)
                  + ": its session window has expired")
          .setPayload(
              event.payload() != null
                  ? event.payload()
                  : EventJson.toJson(event).getBytes(StandardCharsets.UTF_8))
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
}
