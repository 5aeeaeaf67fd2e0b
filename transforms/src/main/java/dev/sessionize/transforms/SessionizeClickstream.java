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
 * raw records ─► ParseEvents ─┬─► dead letters ─────────────────────────────┐
 *                             └─► DedupEvents ─┬─► too late ────────────────┼─► DEAD_LETTERS
 *                                              ├─► Sessionize ────────────────────────► SESSIONS
 *                                              ├─► AggregateDashboard ─────────────────► DASHBOARD
 *                                              └─► (withEventArchive) past the gate ────► ARCHIVE
 * </pre>
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

  private SessionizeClickstream(SessionizeConfig config, ParseEvents parse, boolean archive) {
    this.config = config;
    this.parse = parse;
    this.archive = archive;
  }

  public static SessionizeClickstream of(SessionizeConfig config, ParseEvents parse) {
    return new SessionizeClickstream(config, parse.withClock(config.clock()), false);
  }

  /** Also outputs {@link #ARCHIVE}: every event past the lateness gate, before dedup. */
  public SessionizeClickstream withEventArchive() {
    return new SessionizeClickstream(config, parse, true);
  }

  @Override
  public PCollectionTuple expand(PCollection<RawRecord> records) {
    PCollectionTuple parsed = records.apply("ParseEvents", parse);
    PCollectionTuple gated =
        parsed
            .get(ParseEvents.VALID)
            .apply(
                "DedupEvents",
                archive ? DedupEvents.of(config).withArchive() : DedupEvents.of(config));
    PCollection<ClickEvent> accepted = gated.get(DedupEvents.ACCEPTED);

    PCollection<Session> sessions = accepted.apply("Sessionize", Sessionize.of(config));
    PCollection<DashboardMinute> dashboard =
        accepted.apply("AggregateDashboard", AggregateDashboard.of(config));
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTER))
            .and(gated.get(DedupEvents.TOO_LATE))
            .apply("CollectDeadLetters", Flatten.pCollections());

    PCollectionTuple out =
        PCollectionTuple.of(SESSIONS, sessions)
            .and(DASHBOARD, dashboard)
            .and(DEAD_LETTERS, deadLetters);
    return archive ? out.and(ARCHIVE, gated.get(DedupEvents.ARCHIVE)) : out;
  }
}
