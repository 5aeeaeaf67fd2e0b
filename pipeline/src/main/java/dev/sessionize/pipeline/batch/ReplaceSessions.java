package dev.sessionize.pipeline.batch;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergFiles;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.Session;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.OverwriteFiles;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.joda.time.Instant;

/**
 * The backfill's sink: replaces every session of the {@code sessions} table whose start lies in
 * {@code [from, to)} (whole days, so whole partitions) by the given ones, in one Iceberg commit.
 *
 * <p>Each day's sessions are written to one Parquet file in parallel; one committer then applies an
 * {@link OverwriteFiles} whose row filter {@code from <= start_time < to} removes every data file
 * and delete file of those partitions and adds the new files. Readers see the old rows or the new
 * ones, never both, and exactly one row per session either way; rows of sessions that no longer
 * exist in the range (a stale or corrupted row) go with their partition. The commit is validated
 * against the snapshot current at launch: if the streaming job committed into those days since, the
 * backfill fails instead of dropping that commit (run it again). A retried commit with the same
 * files is skipped (the commit id in the snapshot summary).
 */
public class ReplaceSessions extends PTransform<PCollection<Session>, PDone> {
  private final IcebergCatalog catalog;
  private final String tableName;
  private final Instant from;
  private final Instant to;
  private final Long launchSnapshotId;
  private final PCollectionView<String> precondition;

  /**
   * The commit waits for {@code precondition}, a singleton the caller computes from the whole run
   * (and fails the run instead of producing when the run must not commit), so that even a run with
   * no session to write cannot empty the range before it is known to be right.
   */
  ReplaceSessions(
      IcebergCatalog catalog,
      String tableName,
      Instant from,
      Instant to,
      Long launchSnapshotId,
      PCollectionView<String> precondition) {
    this.catalog = catalog;
    this.tableName = tableName;
    this.from = from;
    this.to = to;
    this.launchSnapshotId = launchSnapshotId;
    this.precondition = precondition;
  }

  /** A written data file and its row count, between the writers and the committer. */
  record WrittenFile(DataFile file, long rows) implements Serializable {}

  @Override
  public PDone expand(PCollection<Session> sessions) {
    PCollection<WrittenFile> files =
        sessions
            .apply("InGlobalWindow", Window.into(new GlobalWindows()))
            .apply(
                "KeyByDay",
                WithKeys.of((Session s) -> s.startTime().toString().substring(0, 10))
                    .withKeyType(TypeDescriptors.strings()))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), Session.SessionCoder.of()))
            .apply("GroupByDay", GroupByKey.create())
            .apply("WriteDayFiles", ParDo.of(new WriteDayFn(catalog, tableName)))
            .setCoder(SerializableCoder.of(WrittenFile.class));
    files
        .apply("CollectFiles", Combine.globally(new ListFn()))
        .apply(
            "CommitReplace",
            ParDo.of(new CommitFn(catalog, tableName, from, to, launchSnapshotId))
                .withSideInput(CommitFn.PRECONDITION, precondition));
    return PDone.in(sessions.getPipeline());
  }

  /** All written files in one list; an empty list when nothing was written (the range empties). */
  static class ListFn
      extends Combine.CombineFn<WrittenFile, ArrayList<WrittenFile>, List<WrittenFile>> {
    @Override
    public ArrayList<WrittenFile> createAccumulator() {
      return new ArrayList<>();
    }

    @Override
    public ArrayList<WrittenFile> addInput(ArrayList<WrittenFile> acc, WrittenFile f) {
      acc.add(f);
      return acc;
    }

    @Override
    public ArrayList<WrittenFile> mergeAccumulators(Iterable<ArrayList<WrittenFile>> accs) {
      ArrayList<WrittenFile> all = new ArrayList<>();
      accs.forEach(all::addAll);
      return all;
    }

    @Override
    public List<WrittenFile> extractOutput(ArrayList<WrittenFile> acc) {
      return acc;
    }

    @Override
    public Coder<ArrayList<WrittenFile>> getAccumulatorCoder(
        CoderRegistry registry, Coder<WrittenFile> input) {
      return SerializableCoder.of(new TypeDescriptor<ArrayList<WrittenFile>>() {});
    }

    @Override
    public Coder<List<WrittenFile>> getDefaultOutputCoder(
        CoderRegistry registry, Coder<WrittenFile> input) {
      return ListCoder.of(input);
    }
  }

  /** The row filter of the replaced range. */
  static Expression range(Instant from, Instant to) {
    return Expressions.and(
        Expressions.greaterThanOrEqual("start_time", from.getMillis() * 1000),
        Expressions.lessThan("start_time", to.getMillis() * 1000));
  }

  static class WriteDayFn extends DoFn<KV<String, Iterable<Session>>, WrittenFile> {
    private final IcebergCatalog catalog;
    private final String tableName;
    private transient Table table;

    WriteDayFn(IcebergCatalog catalog, String tableName) {
      this.catalog = catalog;
      this.tableName = tableName;
    }

    @Setup
    public void setup() {
      table = SessionsTable.openOrCreate(catalog, tableName);
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<Session>> day, OutputReceiver<WrittenFile> out)
        throws IOException {
      // One row per session: the latest emission, without the ones it superseded.
      Map<String, Session> latest = new HashMap<>();
      Set<String> superseded = new HashSet<>();
      for (Session s : day.getValue()) {
        latest.merge(s.sessionId(), s, (a, b) -> a.version() >= b.version() ? a : b);
        superseded.addAll(s.supersededSessionIds());
      }
      latest.keySet().removeAll(superseded);
      if (latest.isEmpty()) {
        return;
      }
      List<Record> records = new ArrayList<>();
      for (Session s : latest.values()) {
        records.add(SessionsTable.toRecord(s));
      }
      PartitionKey key = new PartitionKey(SessionsTable.SPEC, SessionsTable.SCHEMA);
      key.partition(
          new InternalRecordWrapper(SessionsTable.SCHEMA.asStruct()).wrap(records.get(0)));
      out.output(
          new WrittenFile(
              IcebergFiles.writeData(
                  table,
                  SessionsTable.SCHEMA,
                  SessionsTable.SPEC,
                  key,
                  "backfill-" + UUID.randomUUID() + ".parquet",
                  records),
              records.size()));
    }
  }

  static class CommitFn extends DoFn<List<WrittenFile>, Void> {
    static final String PRECONDITION = "precondition";

    private final IcebergCatalog catalog;
    private final String tableName;
    private final Instant from;
    private final Instant to;
    private final Long launchSnapshotId;
    private final Counter commits = SessionizeMetrics.counter("backfill_commits");
    private final Counter rows = SessionizeMetrics.counter("backfill_sessions_written");

    CommitFn(
        IcebergCatalog catalog, String tableName, Instant from, Instant to, Long launchSnapshotId) {
      this.catalog = catalog;
      this.tableName = tableName;
      this.from = from;
      this.to = to;
      this.launchSnapshotId = launchSnapshotId;
    }

    @ProcessElement
    public void process(
        @Element List<WrittenFile> files, @SideInput(PRECONDITION) String precondition) {
      Table table = SessionsTable.openOrCreate(catalog, tableName);
      String commitId = commitId(files);
      for (Snapshot snapshot : table.snapshots()) {
        if (commitId.equals(snapshot.summary().get(SessionsTable.COMMIT_ID))) {
          return; // a retry of a commit that went through
        }
      }
      Expression range = range(from, to);
      OverwriteFiles overwrite = table.newOverwrite().overwriteByRowFilter(range);
      long written = 0;
      for (WrittenFile f : files) {
        overwrite.addFile(f.file());
        written += f.rows();
      }
      if (launchSnapshotId != null) {
        overwrite
            .validateFromSnapshot(launchSnapshotId)
            .conflictDetectionFilter(range)
            .validateNoConflictingData()
            .validateNoConflictingDeletes();
      }
      overwrite.set(SessionsTable.COMMIT_ID, commitId).set("sessionize.backfill", from + "/" + to);
      overwrite.commit();
      commits.inc();
      rows.inc(written);
    }

    private String commitId(List<WrittenFile> files) {
      List<String> keys = new ArrayList<>();
      for (WrittenFile f : files) {
        keys.add(f.file().path().toString());
      }
      return IcebergFiles.commitId(
          "", "backfill " + from + " " + to + " " + launchSnapshotId, keys);
    }
  }
}
