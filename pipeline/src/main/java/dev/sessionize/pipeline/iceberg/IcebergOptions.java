package dev.sessionize.pipeline.iceberg;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** Where the sessions table is: the options shared by the jobs and tools that open it. */
public interface IcebergOptions extends PipelineOptions {
  /** The sessions table unless {@code --sessionsTable} says otherwise. */
  String SESSIONS_TABLE = "sessionize.sessions";

  /** The events archive unless {@code --eventsTable} says otherwise. */
  String EVENTS_TABLE = "sessionize.events";

  @Description(
      "Iceberg catalog type: 'hadoop' (tables in folders under --warehouse, no server), 'jdbc'"
          + " (PostgreSQL, SQLite, ...: --catalogProperties=uri=jdbc:...) or 'rest'.")
  @Default.String("hadoop")
  String getCatalogType();

  void setCatalogType(String value);

  @Description("Iceberg warehouse location: a folder or a file system URI.")
  @Default.String("warehouse")
  String getWarehouse();

  void setWarehouse(String value);

  @Description(
      "Further Iceberg catalog properties as key=value,key=value (e.g. uri=jdbc:postgresql://db/"
          + "iceberg,jdbc.user=sessionize,jdbc.password=${env:ICEBERG_PASSWORD}); a value"
          + " ${env:NAME} is read from the environment, so secrets stay off the command line.")
  @Default.String("")
  String getCatalogProperties();

  void setCatalogProperties(String value);

  @Description("Iceberg table of the sessions, as namespace.table.")
  @Default.String(SESSIONS_TABLE)
  String getSessionsTable();

  void setSessionsTable(String value);

  @Description(
      "Iceberg table of the raw archive, every record read (partitioned by day(ingested_at)),"
          + " as namespace.table: written by the job with --archiveEvents, read by the backfill.")
  @Default.String(EVENTS_TABLE)
  String getEventsTable();

  void setEventsTable(String value);

  /** The Iceberg catalog the options name (a local warehouse folder made absolute). */
  static IcebergCatalog catalog(IcebergOptions options) {
    String warehouse = options.getWarehouse();
    if ("hadoop".equals(options.getCatalogType()) && !warehouse.contains("://")) {
      warehouse = new File(warehouse).getAbsolutePath();
    }
    return IcebergCatalog.of(
        options.getCatalogType(),
        warehouse,
        IcebergCatalog.parseProperties(options.getCatalogProperties()));
  }

  /** One line per bad option of the catalog and table; empty when they are fine. */
  static List<String> validate(IcebergOptions o) {
    List<String> problems = new ArrayList<>();
    try {
      problems.addAll(catalog(o).problems(System::getenv));
    } catch (IllegalArgumentException e) {
      problems.add("--catalogProperties is not valid: " + e.getMessage());
    }
    if (o.getSessionsTable() == null
        || !o.getSessionsTable().matches("[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)+")) {
      problems.add(
          "--sessionsTable=" + o.getSessionsTable() + " is not valid: use namespace.table");
    }
    if (o.getEventsTable() == null
        || !o.getEventsTable().matches("[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)+")) {
      problems.add("--eventsTable=" + o.getEventsTable() + " is not valid: use namespace.table");
    }
    return problems;
  }
}
