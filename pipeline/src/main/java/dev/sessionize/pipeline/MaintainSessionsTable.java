package dev.sessionize.pipeline;

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
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.hadoop.fs.Path;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.exceptions.NotFoundException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.joda.time.Duration;

/**
 * Routine maintenance of the sessions table, for a cron job beside the streaming job: the job
 * commits every {@code --commitInterval}, so snapshots (and the files only they reference) pile up.
 *
 * <pre>
 * ./sessionize maintain --warehouse=/data/warehouse --expireOlderThan=24h --retainLast=100 \
 *     --orphanOlderThan=3d
 * </pre>
 *
 * <ol>
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
 *       the Hadoop FileSystem for a Hadoop catalog). If a file that is referenced does not show up
 *       in the listing, the paths do not compare and nothing is deleted.
 * </ol>
 *
 * <p>Safe to run while the job writes: the first two steps are Iceberg commits that retry on
 * conflict, and the orphan step never deletes a file younger than the window.
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
  }

  static final Duration MIN_ORPHAN_AGE = Duration.standardHours(1);
  static final Duration MAX_ORPHAN_AGE = Duration.standardDays(3650);

  private MaintainSessionsTable() {}

  public static void main(String[] args) {
    PipelineOptionsFactory.register(Options.class);
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    try {
      System.out.println(run(options));
    } catch (SessionizationPipeline.InvalidOptionsException e) {
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
    if (o.getRetainLast() < 1) {
      problems.add(
          "--retainLast=" + o.getRetainLast() + " is out of range: allowed values are 1 and more");
    }
    try {
      Duration d = DurationOption.parse(o.getOrphanOlderThan());
      if (d.isShorterThan(MIN_ORPHAN_AGE) || d.isLongerThan(MAX_ORPHAN_AGE)) {
        problems.add(
            "--orphanOlderThan="
                + o.getOrphanOlderThan()
                + " is out of range: allowed values are "
                + DurationOption.format(MIN_ORPHAN_AGE)
                + " to "
                + DurationOption.format(MAX_ORPHAN_AGE));
      }
    } catch (IllegalArgumentException e) {
      problems.add(
          "--orphanOlderThan=" + o.getOrphanOlderThan() + " is not valid: " + e.getMessage());
    }
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
      throw new SessionizationPipeline.InvalidOptionsException(problems);
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
        now);
  }

  /**
   * Expires snapshots before {@code expireBefore} (keeping the last {@code retainLast}) and deletes
   * what they alone referenced, rewrites the data manifests, and deletes orphan files last modified
   * before {@code now - orphanOlderThan}.
   */
  static Report maintain(
      String name,
      Table table,
      long expireBefore,
      int retainLast,
      Duration orphanOlderThan,
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
  record Report(
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
      long filesBefore,
      long bytesBefore,
      long filesAfter,
      long bytesAfter) {

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "sessionize: %s: snapshots %d -> %d, data manifests %d -> %d; deleted %d files no"
              + " remaining snapshot references (%d bytes) and %s; table location %d files, %d"
              + " bytes -> %d files, %d bytes",
          table,
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
            filesBefore,
            bytesBefore,
            filesAfter,
            bytesAfter);
      }
    }
  }
}
