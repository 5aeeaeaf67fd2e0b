package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Session;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Everything between the source and the sinks, as in the spec's data flow:
 *
 * <pre>
 * raw records ─► ParseEvents ─┬─► dead letters ───────────────────────────────────┐
 *                             └─► JudgeLateness ─┬─► too late ─────────────────────┼─► DEAD_LETTERS
 *                                 (per partition)└─► sessions step ─┬─► rows ─────────► SESSIONS
 *                                                    (state or      ├─► accepted ─► AggregateDashboard ─► DASHBOARD
 *                                                     windows)      └─► (withEventArchive) ───────────► ARCHIVE
 * </pre>
 *
 * The sessions step is {@link StatefulSessions} ({@link SessionImpl#STATE}, the default) or {@link
 * DedupEvents} then {@link Sessionize} ({@link SessionImpl#WINDOWS}, Beam's session windows: the
 * reference semantics).
 */
public class SessionizeClickstream extends PTransform<PCollection<RawRecord>, PCollectionTuple> {
  public static final TupleTag<Session> SESSIONS = new TupleTag<Session>("sessions") {};
  public static final TupleTag<DashboardMinute> DASHBOARD =
      new TupleTag<DashboardMinute>("dashboard") {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS =
      new TupleTag<DeadLetter>("deadLetters") {};

  /** With {@link #withEventArchive()}: {@link DedupEvents#ARCHIVE}, the events to archive. */
  public static final TupleTag<ClickEvent> ARCHIVE = DedupEvents.ARCHIVE;

  private final SessionizeConfig config;
  private final ParseEvents parse;
  private final boolean archive;
  private final SessionImpl impl;

  private SessionizeClickstream(
      SessionizeConfig config, ParseEvents parse, boolean archive, SessionImpl impl) {
    this.config = config;
    this.parse = parse;
    this.archive = archive;
    this.impl = impl;
  }

  public static SessionizeClickstream of(SessionizeConfig config, ParseEvents parse) {
    return new SessionizeClickstream(
        config, parse.withClock(config.clock()), false, SessionImpl.STATE);
  }

  /** Also outputs {@link #ARCHIVE}: every event past the lateness gate, before dedup. */
  public SessionizeClickstream withEventArchive() {
    return new SessionizeClickstream(config, parse, true, impl);
  }

  /** The implementation of the sessions step (default {@link SessionImpl#STATE}). */
  public SessionizeClickstream withSessionImpl(SessionImpl impl) {
    return new SessionizeClickstream(config, parse, archive, impl);
  }

  @Override
  public PCollectionTuple expand(PCollection<RawRecord> records) {
    PCollectionTuple parsed = records.apply("ParseEvents", parse);
    PCollectionTuple judged =
        parsed.get(ParseEvents.VALID).apply("JudgeLateness", JudgeLateness.of(config));
    PCollection<ClickEvent> inTime = judged.get(JudgeLateness.ACCEPTED);

    PCollectionTuple stepped;
    PCollection<Session> sessions;
    if (impl == SessionImpl.STATE) {
      StatefulSessions step = StatefulSessions.of(config);
      stepped = inTime.apply("DedupAndSessionize", archive ? step.withArchive() : step);
      sessions = stepped.get(StatefulSessions.SESSIONS);
    } else {
      DedupEvents dedup = DedupEvents.of(config);
      stepped = inTime.apply("DedupEvents", archive ? dedup.withArchive() : dedup);
      sessions = stepped.get(DedupEvents.ACCEPTED).apply("Sessionize", Sessionize.of(config));
    }
    PCollection<ClickEvent> accepted = stepped.get(DedupEvents.ACCEPTED);
    PCollection<DashboardMinute> dashboard =
        accepted.apply("AggregateDashboard", AggregateDashboard.of(config));
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTER))
            .and(judged.get(JudgeLateness.TOO_LATE))
            .and(stepped.get(DedupEvents.TOO_LATE))
            .apply("CollectDeadLetters", Flatten.pCollections());

    PCollectionTuple out =
        PCollectionTuple.of(SESSIONS, sessions)
            .and(DASHBOARD, dashboard)
            .and(DEAD_LETTERS, deadLetters);
    return archive ? out.and(ARCHIVE, stepped.get(DedupEvents.ARCHIVE)) : out;
  }
}
