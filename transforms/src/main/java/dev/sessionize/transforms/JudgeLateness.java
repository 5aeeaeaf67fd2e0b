package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Reason;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
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
 * The lateness gate, judged per source partition in the order of the partition, as Kafka Streams
 * judges lateness with its stream time. Returns {@link #ACCEPTED} events and {@link #TOO_LATE} dead
 * letters.
 *
 * <p>With {@code S} the highest event time of the earlier accepted events of the record's partition
 * (duplicates included) and {@code W = S - maxOutOfOrderness}, an event at {@code t} is TOO_LATE
 * when {@code t + gap + allowedLateness <= max(W, runner watermark)}. The runner's watermark counts
 * only where it is ahead of {@code W} (after an idle partition let it advance), so that no accepted
 * event can be dropped by a session or dashboard window downstream: their input watermark is never
 * ahead of this step's. Otherwise the verdict depends only on the partition's records and their
 * order, so the same partitions read in the same order give the same dead letters at any speed, on
 * any runner and at any parallelism.
 *
 * <p>Each accepted event leaves with its {@link ClickEvent#gateWatermark()} set to that horizon
 * (the sessions step treats sessions that expired before it as final for the event, for the same
 * reason) and without its payload, which only a TOO_LATE dead letter needs: the dead letter holds
 * the record's exact bytes.
 *
 * <p>State: one number per partition. The step is keyed by source partition ({@code topic/
 * partition}); events without a source position share one key.
 */
public class JudgeLateness extends PTransform<PCollection<ClickEvent>, PCollectionTuple> {
  public static final TupleTag<ClickEvent> ACCEPTED = new TupleTag<ClickEvent>("inTime") {};
  public static final TupleTag<DeadLetter> TOO_LATE = new TupleTag<DeadLetter>("tooLate") {};

  private final SessionizeConfig config;

  private JudgeLateness(SessionizeConfig config) {
    this.config = config;
  }

  public static JudgeLateness of(SessionizeConfig config) {
    return new JudgeLateness(config);
  }

  /** The key of an event's source partition. */
  static String partitionOf(ClickEvent event) {
    return (event.sourceTopic() == null ? "" : event.sourceTopic()) + "/" + event.sourcePartition();
  }

  @Override
  public PCollectionTuple expand(PCollection<ClickEvent> events) {
    KvCoder<String, ClickEvent> coder =
        KvCoder.of(StringUtf8Coder.of(), ClickEvent.ClickEventCoder.of());
    PCollection<KV<String, ClickEvent>> keyed =
        events
            .apply("InGlobalWindow", Window.into(new GlobalWindows()))
            .apply(
                "KeyBySourcePartition",
                WithKeys.of(JudgeLateness::partitionOf).withKeyType(TypeDescriptors.strings()))
            .setCoder(coder);
    PCollectionTuple result;
    if (events.isBounded() == PCollection.IsBounded.BOUNDED) {
      // A bounded input (files, a backfill) reaches a keyed step in no particular order: sort
      // each partition by offset (the runner sorts by timestamp for @RequiresTimeSortedInput).
      result =
          keyed
              .apply("StampOffsets", ParDo.of(new StampOffsetFn()))
              .setCoder(coder)
              .apply(
                  "JudgeByStreamTimeInOffsetOrder",
                  ParDo.of(new SortedGateFn(config))
                      .withOutputTags(ACCEPTED, TupleTagList.of(TOO_LATE)));
    } else {
      result =
          keyed.apply(
              "JudgeByStreamTime",
              ParDo.of(new GateFn(config)).withOutputTags(ACCEPTED, TupleTagList.of(TOO_LATE)));
    }
    result.get(ACCEPTED).setCoder(ClickEvent.ClickEventCoder.of());
    result.get(TOO_LATE).setCoder(DeadLetter.DeadLetterCoder.of());
    return result;
  }

  /** Stamps each event with its offset, the order {@link SortedGateFn} reads a partition in. */
  static class StampOffsetFn extends DoFn<KV<String, ClickEvent>, KV<String, ClickEvent>> {
    @ProcessElement
    public void process(
        @Element KV<String, ClickEvent> element,
        @Timestamp Instant timestamp,
        OutputReceiver<KV<String, ClickEvent>> out) {
      // Forward only (a bounded source stamps nothing, so this is the offset): an element moved
      // back in time could fall behind the watermark and be dropped.
      Instant offset = new Instant(element.getValue().sourceOffset());
      out.outputWithTimestamp(element, offset.isAfter(timestamp) ? offset : timestamp);
    }
  }

  /** {@link GateFn} over a bounded input: each partition in offset order. */
  static class SortedGateFn extends Judge {
    /** The partition's stream time: the highest event time accepted so far. */
    @StateId("streamTime")
    private final StateSpec<ValueState<Long>> streamTimeSpec = StateSpecs.value(VarLongCoder.of());

    SortedGateFn(SessionizeConfig config) {
      super(config);
    }

    /**
     * The runner's watermark is the offset clock here (each element comes when it passes), so only
     * the partition's stream time counts, as in a bounded run nothing else moves event time.
     */
    @ProcessElement
    @RequiresTimeSortedInput
    public void process(
        @Element KV<String, ClickEvent> element,
        @Timestamp Instant timestamp,
        @StateId("streamTime") ValueState<Long> streamTime,
        MultiOutputReceiver out) {
      judge(element.getValue(), timestamp, streamTime, Long.MIN_VALUE, out);
    }
  }

  /** {@link Judge} in arrival order: a partition's records arrive in offset order. */
  static class GateFn extends Judge {
    /** The partition's stream time: the highest event time accepted so far. */
    @StateId("streamTime")
    private final StateSpec<ValueState<Long>> streamTimeSpec = StateSpecs.value(VarLongCoder.of());

    /** Never set: its {@link Timer#getCurrentRelativeTime()} is this step's input watermark. */
    @TimerId("watermark")
    private final TimerSpec watermarkSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    @OnTimer("watermark")
    public void never() {
      // Never set: Beam wants a callback for every timer spec.
    }

    GateFn(SessionizeConfig config) {
      super(config);
    }

    @ProcessElement
    public void process(
        @Element KV<String, ClickEvent> element,
        @Timestamp Instant timestamp,
        @StateId("streamTime") ValueState<Long> streamTime,
        @TimerId("watermark") Timer watermark,
        MultiOutputReceiver out) {
      // For an event-time timer this is the input watermark of this step.
      judge(
          element.getValue(),
          timestamp,
          streamTime,
          watermark.getCurrentRelativeTime().getMillis(),
          out);
    }
  }

  /** The verdict on one event, with the partition's stream time in state. */
  abstract static class Judge extends DoFn<KV<String, ClickEvent>, ClickEvent> {
    private final long latenessMillis;
    private final long outOfOrdernessMillis;
    private final String latenessText;
    private final Clock clock;
    private final Counter tooLate = SessionizeMetrics.deadLetters(Reason.TOO_LATE);
    private final Counter watermarkAhead = SessionizeMetrics.counter("gate_watermark_ahead");
    private final Counter restamped = SessionizeMetrics.counter("timestamp_behind_source");

    Judge(SessionizeConfig config) {
      this.latenessMillis = config.lateness().getMillis();
      this.outOfOrdernessMillis = config.maxOutOfOrderness().getMillis();
      this.latenessText =
          "gap "
              + config.sessionGap().getStandardSeconds()
              + " s + allowed lateness "
              + config.allowedLateness().getStandardSeconds()
              + " s";
      this.clock = config.clock();
    }

    void judge(
        ClickEvent event,
        Instant timestamp,
        ValueState<Long> streamTime,
        long runnerWatermark,
        MultiOutputReceiver out) {
      long t = event.timestamp().getMillis();
      Long stream = streamTime.read();
      long partitionHorizon = partitionHorizonOf(stream);
      long horizon = Math.max(partitionHorizon, runnerWatermark);
      if (t + latenessMillis <= horizon) {
        if (runnerWatermark > partitionHorizon) {
          watermarkAhead.inc(); // judged by the runner's watermark, not by the partition alone
        }
        tooLate.inc();
        out.get(TOO_LATE).output(tooLate(event, stream, horizon, runnerWatermark));
        return;
      }
      if (stream == null || t > stream) {
        streamTime.write(t);
      }
      ClickEvent judged = event.toBuilder().setPayload(null).setGateWatermark(horizon).build();
      // Stamped with its event time; an element never moves back in time, so one whose source
      // stamped it later (a timestamp behind its record's) keeps that stamp.
      if (event.timestamp().isBefore(timestamp)) {
        restamped.inc();
        out.get(ACCEPTED).output(judged);
      } else {
        out.get(ACCEPTED).outputWithTimestamp(judged, event.timestamp());
      }
    }

    private long partitionHorizonOf(Long stream) {
      return stream == null ? Long.MIN_VALUE : stream - outOfOrdernessMillis;
    }

    /** The dead letter: the record's exact bytes (a re-serialized event only without them). */
    private DeadLetter tooLate(ClickEvent event, Long stream, long horizon, long runnerWatermark) {
      String against =
          runnerWatermark > partitionHorizonOf(stream)
              ? "the runner's watermark " + Json.formatInstant(new Instant(horizon))
              : "the partition's stream time "
                  + Json.formatInstant(new Instant(stream))
                  + " minus the out-of-orderness ("
                  + Json.formatInstant(new Instant(horizon))
                  + ")";
      byte[] payload = event.payload();
      return DeadLetter.builder()
          .setReason(Reason.TOO_LATE)
          .setDetail(
              "event time "
                  + Json.formatInstant(event.timestamp())
                  + " + "
                  + latenessText
                  + " is not after "
                  + against
                  + ": its session has expired")
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
  }
}
