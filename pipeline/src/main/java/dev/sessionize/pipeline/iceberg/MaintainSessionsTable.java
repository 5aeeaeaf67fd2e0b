package dev.sessionize.pipeline.iceberg;

import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.transforms.options.OptionsParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.hadoop.fs.Path;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.NotFoundException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.util.PropertyUtil;
import org.joda.time.Duration;

/**
 * Routine maintenance of the sessions table, for a cron job beside the streaming job (say daily).
 * Every upsert of the job adds a data file and an equality-delete file per partition it touches and
 * removes none, and every commit adds a snapshot, so without this the table's storage and read cost
 * grow with every commit.
 *
 * <pre>
 * ./sessionize maintain --warehouse=/data/warehouse --expireOlderThan=24h --retainLast=100 \
 *     --orphanOlderThan=3d --compact=true
 * </pre>
 *
 * <ol>
 *   <li>Compacts: each partition with more than one data file or any delete file is rewritten into
 *       data files of its live rows, in one {@code RewriteFiles} commit (see {@link #compact}). The
 *       replaced files stay as long as a snapshot from before the compaction does.
 *   <li>Expires snapshots older than {@code --expireOlderThan} while keeping the last {@code
 *       --retainLast}, and deletes the files no remaining snapshot references (data and delete
 *       files, manifests, manifest lists, statistics), with Iceberg's own {@code ExpireSnapshots}
 *       clean-up; each deletion is counted with the file's size.
 *   <li>Rewrites the data manifests into one per partition.
 *   <li>Deletes orphan files: files under the table's location that neither a remaining snapshot
 *       (manifest list, manifests, their live data and delete files, statistics) nor the metadata
 *       (current and logged metadata files, the version hint) references, and that are older than
 *       {@code --orphanOlderThan}, so files of a write still in progress (written before its
 *       commit) are never touched. Iceberg's own action for this runs on Spark only; here the
 *       location is listed through the table's {@link FileIO} ({@link SupportsPrefixOperations}:
 *       the Hadoop FileSystem for a Hadoop catalog). If the current metadata file or manifest list
 *       does not show up in the listing, the paths do not compare and nothing is deleted.
 * </ol>
 *
 * <p>Safe to run while the job writes: the first three steps are Iceberg commits that retry on
 * conflict (the job's commits never fail because of them), and the orphan step never deletes a file
 * younger than the window. A backfill committing while a compaction of the same days commits fails
 * Iceberg's validation and can be run again.
 */
public final class MaintainSessionsTable {
  public interface Options extends IcebergOptions {
    @Description("Expire snapshots older than this (a duration: 24h, 7d, ...).")
    @Default.String("24h")
    String getExpireOlderThan();

    void setExpireOlderThan(String value);

    @Description("Always keep at least this many of the newest snapshots.")
    @Default.Integer(100)
    int getRetainLast();

    void setRetainLast(int value);

    @Description(
        "Delete files under the table's location that nothing references (left by failed or"
            + " interrupted writes) once they are older than this: a safety window for writes"
            + " still in progress (1h to 3650d).")
    @Default.String("3d")
    String getOrphanOlderThan();

    void setOrphanOlderThan(String value);

    @Description(
        "Compact first: rewrite each partition that has more than one data file or any delete file"
            + " into data files of its live rows only, so the files of replaced rows can be"
            + " deleted once the snapshots before the compaction expire.")
    @Default.Boolean(true)
    boolean getCompact();

    void setCompact(boolean value);
  }

  static final Duration MIN_ORPHAN_AGE = Duration.standardHours(1);
  static final Duration MAX_ORPHAN_AGE = Duration.standardDays(3650);

  private MaintainSessionsTable() {}

  public static void main(String[] args) {
    Options options = OptionsParser.parseOrExit("sessionize", args, Options.class);
    try {
      System.out.println(run(options));
    } catch (InvalidOptionsException e) {
      e.problems().forEach(p -> System.err.println("sessionize: " + p));
      System.exit(2);
    }
  }

  /** One line per bad option; empty when all are fine. */
  static List<String> validate(Options o) {
    List<String> problems = new ArrayList<>(IcebergOptions.validate(o));
    try {
      Duration d = DurationOption.parse(o.getExpireOlderThan());
      if (d.isShorterThan(Duration.ZERO)) {
        problems.add("--expireOlderThan=" + o.getExpireOlderThan() + " is negative");
      }
    } catch (IllegalArgumentException e) {
      problems.add(
          "--expireOlderThan=" + o.getExpireOlderThan() + " is not valid: " + e.getMessage());
    }
    OptionChecks.atLeast(problems, "retainLast", o.getRetainLast(), 1);
    OptionChecks.duration(
        problems, "orphanOlderThan", o.getOrphanOlderThan(), MIN_ORPHAN_AGE, MAX_ORPHAN_AGE);
    return problems;
  }

  /** Runs the maintenance; returns a one-line report of what it changed. */
  public static String run(Options options) {
    return maintain(options).toString();
  }

  /** Runs the maintenance of the sessions table; throws on bad options. */
  static Report maintain(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    Table table =
        SessionsTable.openOrCreate(IcebergOptions.catalog(options), options.getSessionsTable());
    long now = System.currentTimeMillis();
    return maintain(
        options.getSessionsTable(),
        table,
        now - DurationOption.parse(options.getExpireOlderThan()).getMillis(),
        options.getRetainLast(),
        DurationOption.parse(options.getOrphanOlderThan()),
        options.getCompact(),
        now);
  }

  /**
   * Compacts (when asked), expires snapshots before {@code expireBefore} (keeping the last {@code
   * retainLast}) and deletes what they alone referenced, rewrites the data manifests, and deletes
   * orphan files last modified before {@code now - orphanOlderThan}.
   */
  static Report maintain(
      String name,
      Table table,
      long expireBefore,
      int retainLast,
      Duration orphanOlderThan,
      boolean compact,
      long now) {
    Report.Builder report = new Report.Builder(name, orphanOlderThan);
    table.refresh();
    FileIO io = table.io();
    Map<String, FileInfo> before = listing(table);
    if (before != null) {
      report.filesBefore = before.size();
      report.bytesBefore = before.values().stream().mapToLong(FileInfo::size).sum();
    }
    report.snapshotsBefore = count(table.snapshots());
    report.manifestsBefore = manifests(table);
    if (compact) {
      compact(table, report);
      table.refresh();
    } else {
      report.compactionSkipped = "not compacted (--compact=false)";
    }

    AtomicLong expiredFiles = new AtomicLong();
    AtomicLong expiredBytes = new AtomicLong();
    table
        .expireSnapshots()
        .expireOlderThan(expireBefore)
        .retainLast(retainLast)
        .deleteWith(
            path -> {
              long size = sizeOf(io, before, path);
              io.deleteFile(path);
              if (size >= 0) {
                expiredFiles.incrementAndGet();
                expiredBytes.addAndGet(size);
              }
            })
        .commit();
    report.expiredFiles = expiredFiles.get();
    report.expiredBytes = expiredBytes.get();
    table.refresh();
    if (table.currentSnapshot() != null) {
      table.rewriteManifests().clusterBy(file -> file.partition().toString()).commit();
      table.refresh();
    }
    report.snapshotsAfter = count(table.snapshots());
    report.manifestsAfter = manifests(table);

    removeOrphans(table, now - orphanOlderThan.getMillis(), report);

    Map<String, FileInfo> after = listing(table);
    if (after != null) {
      report.filesAfter = after.size();
      report.bytesAfter = after.values().stream().mapToLong(FileInfo::size).sum();
    }
    return report.build();
  }

  /**
   * Rewrites every partition of the current snapshot that has more than one data file or any delete
   * file into data files holding its live rows (rolled at the table's target file size), in one
   * {@code RewriteFiles} commit that removes the partition's data and delete files. The new files
   * keep the snapshot's data sequence number, so equality deletes the job commits meanwhile (newer)
   * still apply to them, and Iceberg checks that the removed files are still there. A partition
   * whose spec is not a {@code day} transform of a timestamp (none here) is left alone.
   */
  static void compact(Table table, Report.Builder report) {
    compact(table, report, () -> {});
  }

  /**
   * As {@link #compact(Table, Report.Builder)}; {@code beforeCommit} runs just before the commit.
   */
  static void compact(Table table, Report.Builder report, Runnable beforeCommit) {
    Snapshot snapshot = table.currentSnapshot();
    if (snapshot == null) {
      return;
    }
    PartitionSpec spec = table.spec();
    FileIO io = table.io();
    Map<String, StructLike> partitions = new TreeMap<>();
    Map<String, List<DataFile>> data = new HashMap<>();
    Map<String, List<DeleteFile>> deletes = new HashMap<>();
    try {
      for (ManifestFile manifest : snapshot.dataManifests(io)) {
        try (ManifestReader<DataFile> files = ManifestFiles.read(manifest, io, table.specs())) {
          for (DataFile file : files) {
            if (file.specId() == spec.specId()) {
              String key = spec.partitionToPath(file.partition());
              DataFile copy = file.copyWithoutStats();
              partitions.putIfAbsent(key, copy.partition());
              data.computeIfAbsent(key, k -> new ArrayList<>()).add(copy);
            }
          }
        }
      }
      for (ManifestFile manifest : snapshot.deleteManifests(io)) {
        try (ManifestReader<DeleteFile> files =
            ManifestFiles.readDeleteManifest(manifest, io, table.specs())) {
          for (DeleteFile file : files) {
            if (file.specId() == spec.specId()) {
              String key = spec.partitionToPath(file.partition());
              DeleteFile copy = file.copyWithoutStats();
              partitions.putIfAbsent(key, copy.partition());
              deletes.computeIfAbsent(key, k -> new ArrayList<>()).add(copy);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Set<DataFile> removedData = new HashSet<>();
    Set<DeleteFile> removedDeletes = new HashSet<>();
    Set<DataFile> added = new HashSet<>();
    int compacted = 0;
    try {
      for (Map.Entry<String, StructLike> partition : partitions.entrySet()) {
        List<DataFile> dataHere = data.getOrDefault(partition.getKey(), List.of());
        List<DeleteFile> deletesHere = deletes.getOrDefault(partition.getKey(), List.of());
        if (dataHere.size() <= 1 && deletesHere.isEmpty()) {
          continue;
        }
        Expression filter = filter(table, spec, partition.getValue());
        if (filter == null) {
          continue;
        }
        added.addAll(rewrite(table, spec, snapshot, filter));
        removedData.addAll(dataHere);
        removedDeletes.addAll(deletesHere);
        compacted++;
      }
    } catch (IOException e) {
      added.forEach(f -> io.deleteFile(f.path().toString()));
      throw new UncheckedIOException(e);
    }
    if (compacted == 0) {
      return;
    }
    beforeCommit.run();
    try {
      table
          .newRewrite()
          .validateFromSnapshot(snapshot.snapshotId())
          .dataSequenceNumber(snapshot.sequenceNumber())
          .rewriteFiles(removedData, removedDeletes, added, Set.of())
          .set("sessionize.maintenance", "compaction")
          .commit();
    } catch (ValidationException | CommitFailedException e) {
      // Another writer removed some of these files meanwhile (a backfill): try again next run.
      added.forEach(f -> io.deleteFile(f.path().toString()));
      report.compactionSkipped = "compaction not committed: " + firstLine(e.getMessage());
      return;
    }
    report.compactedPartitions = compacted;
    report.compactedDataFiles = removedData.size();
    report.compactedDeleteFiles = removedDeletes.size();
    report.compactedInto = added.size();
  }

  /** The rows of one partition at {@code snapshot}, written anew; the data files written. */
  private static List<DataFile> rewrite(
      Table table, PartitionSpec spec, Snapshot snapshot, Expression filter) throws IOException {
    long target =
        PropertyUtil.propertyAsLong(
            table.properties(),
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    InternalRecordWrapper wrapper = new InternalRecordWrapper(table.schema().asStruct());
    String prefix = "compacted-" + UUID.randomUUID();
    List<DataFile> written = new ArrayList<>();
    DataWriter<Record> writer = null;
    long rows = 0;
    try (CloseableIterable<Record> records =
        IcebergGenerics.read(table).useSnapshot(snapshot.snapshotId()).where(filter).build()) {
      for (Record record : records) {
        if (writer == null) {
          PartitionKey key = new PartitionKey(spec, table.schema());
          key.partition(wrapper.wrap(record));
          writer =
              Parquet.writeData(
                      IcebergFiles.newFile(
                          table, spec, key, prefix + "-" + written.size() + ".parquet"))
                  .schema(table.schema())
                  .withSpec(spec)
                  .withPartition(key)
                  .createWriterFunc(GenericParquetWriter::buildWriter)
                  .overwrite()
                  .build();
        }
        writer.write(record);
        if (++rows % 1_000 == 0 && writer.length() >= target) {
          writer.close();
          written.add(writer.toDataFile());
          writer = null;
        }
      }
    } catch (IOException | RuntimeException e) {
      if (writer != null) {
        writer.close();
        written.add(writer.toDataFile());
      }
      written.forEach(f -> table.io().deleteFile(f.path().toString()));
      throw e;
    }
    if (writer != null) {
      writer.close();
      written.add(writer.toDataFile());
    }
    return written;
  }

  /**
   * The rows of one partition of a {@code day(timestamp)} spec as a filter on the source column;
   * null for any other spec.
   */
  private static Expression filter(Table table, PartitionSpec spec, StructLike partition) {
    if (spec.fields().size() != 1 || !"day".equals(spec.fields().get(0).transform().toString())) {
      return null;
    }
    PartitionField field = spec.fields().get(0);
    Integer day = partition.get(0, Integer.class);
    String column = table.schema().findColumnName(field.sourceId());
    if (day == null) {
      return Expressions.isNull(column);
    }
    long micros = day * 86_400_000_000L;
    return Expressions.and(
        Expressions.greaterThanOrEqual(column, micros),
        Expressions.lessThan(column, micros + 86_400_000_000L));
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  /**
   * Deletes the files under the table's location that nothing references and that were last
   * modified before {@code olderThan}.
   */
  private static void removeOrphans(Table table, long olderThan, Report.Builder report) {
    // The references are read from this version of the metadata and the listing is taken after
    // it: a file a later commit adds is either not listed or younger than the window.
    table.refresh();
    Map<String, FileInfo> files = listing(table);
    if (files == null) {
      report.orphansSkipped =
          "orphans not checked: " + table.io().getClass().getSimpleName() + " cannot list files";
      return;
    }
    Set<String> referenced = referenced(table);
    // The current metadata file and manifest list must be in the listing, else the listing and
    // the metadata name files differently and no file can be called an orphan.
    List<String> mustBeListed = new ArrayList<>();
    mustBeListed.add(((HasTableOperations) table).operations().current().metadataFileLocation());
    if (table.currentSnapshot() != null) {
      mustBeListed.add(table.currentSnapshot().manifestListLocation());
    }
    for (String path : mustBeListed) {
      if (!files.containsKey(key(path))) {
        report.orphansSkipped =
            "orphans not deleted: " + path + " is not in the listing of " + table.location();
        return;
      }
    }
    for (Map.Entry<String, FileInfo> file : files.entrySet()) {
      if (referenced.contains(file.getKey())) {
        continue;
      }
      FileInfo info = file.getValue();
      if (info.createdAtMillis() >= olderThan) {
        report.youngOrphansKept++;
        continue;
      }
      table.io().deleteFile(info.location());
      report.orphanFiles++;
      report.orphanBytes += info.size();
    }
  }

  /**
   * Every file the table's metadata references, as {@link #key}s: the current and logged metadata
   * files, the version hint, and for every snapshot its manifest list, its manifests, their live
   * data and delete files, and the statistics files.
   */
  static Set<String> referenced(Table table) {
    Set<String> paths = new HashSet<>();
    FileIO io = table.io();
    ReachableFileUtil.metadataFileLocations(table, true).forEach(p -> paths.add(key(p)));
    paths.add(key(ReachableFileUtil.versionHintLocation(table)));
    ReachableFileUtil.manifestListLocations(table).forEach(p -> paths.add(key(p)));
    ReachableFileUtil.statisticsFilesLocations(table).forEach(p -> paths.add(key(p)));
    Set<String> manifestsRead = new HashSet<>();
    for (Snapshot snapshot : table.snapshots()) {
      for (ManifestFile manifest : snapshot.allManifests(io)) {
        if (!manifestsRead.add(manifest.path())) {
          continue;
        }
        paths.add(key(manifest.path()));
        try (ManifestReader<? extends ContentFile<?>> entries =
            manifest.content() == ManifestContent.DATA
                ? ManifestFiles.read(manifest, io, table.specs())
                : ManifestFiles.readDeleteManifest(manifest, io, table.specs())) {
          for (ContentFile<?> file : entries) {
            paths.add(key(file.path().toString()));
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return paths;
  }

  /**
   * A location without its scheme and authority ({@code file:/w/t}, {@code file:///w/t} and {@code
   * /w/t} are one file): manifests keep locations as they were written, listings give them as the
   * file system names them. All files compared lie under one table location.
   */
  static String key(String location) {
    URI uri = new Path(location).toUri();
    String path = uri.getPath();
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  /** The files under the table's location by {@link #key}; null if its FileIO cannot list. */
  private static Map<String, FileInfo> listing(Table table) {
    if (!(table.io() instanceof SupportsPrefixOperations)) {
      return null;
    }
    Map<String, FileInfo> files = new HashMap<>();
    String prefix = table.location().endsWith("/") ? table.location() : table.location() + "/";
    for (FileInfo info : ((SupportsPrefixOperations) table.io()).listPrefix(prefix)) {
      files.put(key(info.location()), info);
    }
    return files;
  }

  /** The size of a file about to be deleted: from the listing, else asked; -1 if it is gone. */
  private static long sizeOf(FileIO io, Map<String, FileInfo> listing, String path) {
    if (listing != null) {
      FileInfo info = listing.get(key(path));
      if (info != null) {
        return info.size();
      }
    }
    try {
      return io.newInputFile(path).getLength();
    } catch (NotFoundException | UncheckedIOException e) {
      return -1;
    }
  }

  private static int count(Iterable<Snapshot> snapshots) {
    int n = 0;
    for (Snapshot ignored : snapshots) {
      n++;
    }
    return n;
  }

  private static int manifests(Table table) {
    Snapshot current = table.currentSnapshot();
    if (current == null) {
      return 0;
    }
    List<ManifestFile> data = current.dataManifests(table.io());
    return data.size();
  }

  /** What one maintenance run did, measured: the figures of its one-line report. */
  public record Report(
      String table,
      int snapshotsBefore,
      int snapshotsAfter,
      int manifestsBefore,
      int manifestsAfter,
      long expiredFiles,
      long expiredBytes,
      long orphanFiles,
      long orphanBytes,
      long youngOrphansKept,
      String orphanWindow,
      String orphansSkipped,
      int compactedPartitions,
      int compactedDataFiles,
      int compactedDeleteFiles,
      int compactedInto,
      String compactionSkipped,
      long filesBefore,
      long bytesBefore,
      long filesAfter,
      long bytesAfter) {

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "sessionize: %s: %s; snapshots %d -> %d, data manifests %d -> %d; deleted %d files no"
              + " remaining snapshot references (%d bytes) and %s; table location %d files, %d"
              + " bytes -> %d files, %d bytes",
          table,
          compactionSkipped != null
              ? compactionSkipped
              : compactedPartitions == 0
                  ? "nothing to compact"
                  : String.format(
                      Locale.ROOT,
                      "compacted %d partitions (%d data and %d delete files into %d data files)",
                      compactedPartitions,
                      compactedDataFiles,
                      compactedDeleteFiles,
                      compactedInto),
          snapshotsBefore,
          snapshotsAfter,
          manifestsBefore,
          manifestsAfter,
          expiredFiles,
          expiredBytes,
          orphansSkipped != null
              ? orphansSkipped
              : String.format(
                  Locale.ROOT,
                  "%d orphan files older than %s (%d bytes), keeping %d younger",
                  orphanFiles,
                  orphanWindow,
                  orphanBytes,
                  youngOrphansKept),
          filesBefore,
          bytesBefore,
          filesAfter,
          bytesAfter);
    }

    static final class Builder {
      final String table;
      final String orphanWindow;
      int snapshotsBefore;
      int snapshotsAfter;
      int manifestsBefore;
      int manifestsAfter;
      long expiredFiles;
      long expiredBytes;
      long orphanFiles;
      long orphanBytes;
      long youngOrphansKept;
      String orphansSkipped;
      int compactedPartitions;
      int compactedDataFiles;
      int compactedDeleteFiles;
      int compactedInto;
      String compactionSkipped;
      long filesBefore = -1;
      long bytesBefore = -1;
      long filesAfter = -1;
      long bytesAfter = -1;

      Builder(String table, Duration orphanWindow) {
        this.table = table;
        this.orphanWindow = DurationOption.format(orphanWindow);
      }

      Report build() {
        return new Report(
            table,
            snapshotsBefore,
            snapshotsAfter,
            manifestsBefore,
            manifestsAfter,
            expiredFiles,
            expiredBytes,
            orphanFiles,
            orphanBytes,
            youngOrphansKept,
            orphanWindow,
            orphansSkipped,
            compactedPartitions,
            compactedDataFiles,
            compactedDeleteFiles,
            compactedInto,
            compactionSkipped,
            filesBefore,
            bytesBefore,
            filesAfter,
            bytesAfter);
      }
    }
  }
}
