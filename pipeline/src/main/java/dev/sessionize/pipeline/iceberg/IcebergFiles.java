package dev.sessionize.pipeline.iceberg;

import dev.sessionize.pipeline.batch.EventsTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.parquet.Parquet;

/**
 * What the project's Iceberg tables ({@link SessionsTable}, {@link EventsTable}) and their writers
 * share: opening or creating a table, writing a partition's rows as one Parquet data file, and the
 * deterministic commit ids that make a retried commit detectable.
 */
public final class IcebergFiles {
  private IcebergFiles() {}

  /**
   * The table in {@code catalog}, created when missing (format v2, its namespace too, metadata
   * files capped at 100: a commit a minute writes a metadata file a minute).
   */
  public static Table openOrCreate(
      IcebergCatalog catalog, String tableName, Schema schema, PartitionSpec spec) {
    Catalog opened = catalog.load();
    TableIdentifier id = TableIdentifier.parse(tableName);
    if (opened.tableExists(id)) {
      return opened.loadTable(id);
    }
    if (opened instanceof SupportsNamespaces namespaces) {
      try {
        if (!namespaces.namespaceExists(id.namespace())) {
          namespaces.createNamespace(id.namespace());
        }
      } catch (AlreadyExistsException e) {
        // another launcher or worker made it
      }
    }
    try {
      return opened.createTable(
          id,
          schema,
          spec,
          Map.of(
              TableProperties.FORMAT_VERSION,
              "2",
              TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED,
              "true",
              TableProperties.METADATA_PREVIOUS_VERSIONS_MAX,
              "100"));
    } catch (AlreadyExistsException e) {
      return opened.loadTable(id);
    }
  }

  /** A new file named {@code name} in the table's data location for {@code partition}. */
  static OutputFile newFile(Table table, PartitionSpec spec, PartitionKey partition, String name) {
    return table
        .io()
        .newOutputFile(table.locationProvider().newDataLocation(spec, partition, name));
  }

  /**
   * One Parquet data file with {@code rows} of {@code schema}, all of them in {@code partition}.
   */
  public static DataFile writeData(
      Table table,
      Schema schema,
      PartitionSpec spec,
      PartitionKey partition,
      String name,
      Collection<Record> rows)
      throws IOException {
    DataWriter<Record> writer =
        Parquet.writeData(newFile(table, spec, partition, name))
            .schema(schema)
            .withSpec(spec)
            .withPartition(partition)
            .createWriterFunc(GenericParquetWriter::buildWriter)
            .overwrite()
            .build();
    try (DataWriter<Record> w = writer) {
      for (Record r : rows) {
        w.write(r);
      }
    }
    return writer.toDataFile();
  }

  /**
   * {@code prefix} and the SHA-256 (hex) of the keys in sorted order, after {@code header}: the
   * same keys give the same id whatever their order.
   */
  public static String commitId(String prefix, String header, Collection<String> keys) {
    List<String> sorted = new ArrayList<>(keys);
    sorted.sort(null);
    if (header != null) {
      sorted.add(0, header);
    }
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String k : sorted) {
        sha.update(k.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
      }
      StringBuilder hex = new StringBuilder(prefix);
      for (byte b : sha.digest()) {
        hex.append(String.format("%02x", b));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
