package dev.sessionize.pipeline.iceberg;

import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Session;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
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
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.iceberg.Table;
import org.joda.time.Duration;

/**
 * Session rows to the Iceberg {@code sessions} table: the emissions are buffered in state and
 * committed by one writer as one {@link SessionsTable#commit upsert} every {@code commitInterval}
 * of processing time (and when the input ends), so files stay few and each commit is atomic.
 *
 * <p>A batch flushed again after a restore (the buffer is part of the checkpoint) cannot roll the
 * table back, and one that got in is not applied twice: see {@link SessionsTable}. An unreachable
 * catalog or storage is waited out in place, with backoff, for up to {@code maxOutage} (counter
 * {@code iceberg_commit_retries}); past it the bundle fails with one line saying so, and the runner
 * restarts from the last checkpoint.
 */
public class WriteSessionsToIceberg extends PTransform<PCollection<Session>, PDone> {
  private final IcebergCatalog catalog;
  private final String tableName;
  private final Duration commitInterval;
  private final Duration maxOutage;
  private final SessionsTable.Committer committer;

  private WriteSessionsToIceberg(
      IcebergCatalog catalog, String tableName, Duration commitInterval, Duration maxOutage) {
    this.catalog = catalog;
    this.tableName = tableName;
    this.commitInterval = commitInterval;
    this.maxOutage = maxOutage;
    this.committer = new SessionsTable.Committer(SessionsTable.STREAM_WRITER, maxOutage);
  }

  /** Into {@code tableName} of {@code catalog}: a commit every 60 s, a 5 min outage waited out. */
  public static WriteSessionsToIceberg to(IcebergCatalog catalog, String tableName) {
    return new WriteSessionsToIceberg(
        catalog, tableName, Duration.standardSeconds(60), Duration.standardMinutes(5));
  }

  /** Time between commits. */
  public WriteSessionsToIceberg withCommitInterval(Duration interval) {
    return new WriteSessionsToIceberg(catalog, tableName, interval, maxOutage);
  }

  /** How long an unreachable catalog or storage is retried before the job fails (0: no retry). */
  public WriteSessionsToIceberg withMaxOutage(Duration outage) {
    return new WriteSessionsToIceberg(catalog, tableName, commitInterval, outage);
  }

  @Override
  public PDone expand(PCollection<Session> sessions) {
    SessionsTable.openOrCreate(catalog, tableName); // fail at launch, not on a worker
    sessions
        .apply("InGlobalWindow", Window.into(new GlobalWindows()))
        .apply(
            "OneWriter", WithKeys.<Integer, Session>of(0).withKeyType(TypeDescriptors.integers()))
        .setCoder(KvCoder.of(VarIntCoder.of(), Session.SessionCoder.of()))
        .apply(
            "CommitUpserts", ParDo.of(new CommitFn(catalog, tableName, commitInterval, committer)));
    return PDone.in(sessions.getPipeline());
  }

  static class CommitFn extends DoFn<KV<Integer, Session>, Void> {
    private final IcebergCatalog catalog;
    private final String tableName;
    private final Duration commitInterval;
    private final SessionsTable.Committer committer;
    private final Counter commits = SessionizeMetrics.counter("iceberg_commits");
    private final Counter rows = SessionizeMetrics.counter("iceberg_rows_committed");
    private final Counter alreadyCommitted =
        SessionizeMetrics.counter("iceberg_batches_already_committed");
    private final Counter nothingNew = SessionizeMetrics.counter("iceberg_batches_nothing_new");
    private final Counter stale = SessionizeMetrics.counter("iceberg_rows_stale_skipped");
    private final Counter unchanged = SessionizeMetrics.counter("iceberg_rows_unchanged_skipped");
    private final Counter retries = SessionizeMetrics.counter("iceberg_commit_retries");
    private transient Table table;

    @StateId("buffer")
    private final StateSpec<BagState<Session>> bufferSpec =
        StateSpecs.bag(Session.SessionCoder.of());

    /**
     * Whether the buffer's commit is scheduled. Not {@code buffer.isEmpty()}: on the FlinkRunner
     * with RocksDB that reads and decodes the whole bag, once per row (the soak fell from 5 000 to
     * about 2 300 events/s when sessions began to close, a commit interval's rows decoded for each
     * new one).
     */
    @StateId("scheduled")
    private final StateSpec<ValueState<Boolean>> scheduledSpec =
        StateSpecs.value(BooleanCoder.of());

    @TimerId("commit")
    private final TimerSpec commitSpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

    CommitFn(
        IcebergCatalog catalog,
        String tableName,
        Duration commitInterval,
        SessionsTable.Committer committer) {
      this.catalog = catalog;
      this.tableName = tableName;
      this.commitInterval = commitInterval;
      this.committer = committer;
    }

    /**
     * The table, opened on first use and again after a failed attempt (inside the commit's retries:
     * the catalog may be down).
     */
    private Table table(boolean again) {
      if (table == null || again) {
        table = null;
        table = SessionsTable.openOrCreate(catalog, tableName);
      }
      return table;
    }

    @ProcessElement
    public void process(
        @Element KV<Integer, Session> element,
        @StateId("buffer") BagState<Session> buffer,
        @StateId("scheduled") ValueState<Boolean> scheduled,
        @TimerId("commit") Timer commit) {
      // The first row of a batch schedules its commit; the flush empties the buffer.
      if (scheduled.read() == null) {
        commit.offset(commitInterval).setRelative();
        scheduled.write(true);
      }
      buffer.add(element.getValue());
    }

    @OnTimer("commit")
    public void onCommit(
        @StateId("buffer") BagState<Session> buffer,
        @StateId("scheduled") ValueState<Boolean> scheduled) {
      scheduled.clear();
      flush(buffer);
    }

    @OnWindowExpiration
    public void onExpiration(
        @StateId("buffer") BagState<Session> buffer,
        @StateId("scheduled") ValueState<Boolean> scheduled) {
      scheduled.clear();
      flush(buffer);
    }

    private void flush(BagState<Session> buffer) {
      List<Session> batch = new ArrayList<>();
      buffer.read().forEach(batch::add);
      if (!batch.isEmpty()) {
        SessionsTable.Outcome outcome =
            SessionsTable.commit(
                this::table, batch, SessionsTable.commitId(batch), committer, retries::inc);
        switch (outcome.result()) {
          case COMMITTED:
            commits.inc();
            rows.inc(outcome.rowsWritten());
            break;
          case ALREADY_COMMITTED:
            alreadyCommitted.inc();
            break;
          case NOTHING_NEW:
            nothingNew.inc();
            break;
        }
        stale.inc(outcome.staleRows());
        unchanged.inc(outcome.unchangedRows());
      }
      buffer.clear();
    }
  }
}
