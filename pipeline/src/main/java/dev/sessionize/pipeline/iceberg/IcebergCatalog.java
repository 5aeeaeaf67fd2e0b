package dev.sessionize.pipeline.iceberg;

import java.io.File;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;

/**
 * Where the Iceberg tables live: a catalog type ({@code hadoop}, {@code jdbc} or {@code rest}), the
 * warehouse location and any further catalog properties, loaded with Iceberg's own {@link
 * CatalogUtil#buildIcebergCatalog}. Serializable, so a worker opens the same catalog as the
 * launcher. A property value may be {@code ${env:NAME}}: it is read from the environment of the
 * process that opens the catalog, so secrets (a JDBC password, a REST token) never appear on the
 * command line or in the pipeline options.
 */
public final class IcebergCatalog implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The catalog types this project is tested with. */
  public static final List<String> TYPES = List.of("hadoop", "jdbc", "rest");

  private static final Pattern ENV = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");

  private final String type;
  private final String warehouse;
  private final Map<String, String> properties;

  private IcebergCatalog(String type, String warehouse, Map<String, String> properties) {
    this.type = type;
    this.warehouse = warehouse;
    this.properties = Collections.unmodifiableMap(new TreeMap<>(properties));
  }

  /** A Hadoop catalog on a local (or any Hadoop file system) warehouse folder. */
  public static IcebergCatalog hadoop(String warehouse) {
    return new IcebergCatalog("hadoop", warehouse, Map.of());
  }

  public static IcebergCatalog of(String type, String warehouse, Map<String, String> properties) {
    return new IcebergCatalog(type, warehouse, properties);
  }

  /**
   * Parses {@code key=value,key=value} (the {@code --catalogProperties} option); throws {@link
   * IllegalArgumentException} naming the first entry without a key.
   */
  public static Map<String, String> parseProperties(String text) {
    Map<String, String> map = new TreeMap<>();
    if (text == null || text.isBlank()) {
      return map;
    }
    for (String entry : text.split(",")) {
      int eq = entry.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("'" + entry + "' is not key=value");
      }
      map.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
    }
    return map;
  }

  public String type() {
    return type;
  }

  public String warehouse() {
    return warehouse;
  }

  /** Problems of this configuration, one line each; empty when it can be opened. */
  public List<String> problems(UnaryOperator<String> env) {
    List<String> problems = new ArrayList<>();
    if (!TYPES.contains(type)) {
      problems.add(
          "--catalogType="
              + type
              + " is not supported: allowed values are "
              + String.join(", ", TYPES));
      return problems;
    }
    if ("hadoop".equals(type) && !warehouse.contains("://")) {
      File folder = new File(warehouse).getAbsoluteFile();
      File existing = folder;
      while (existing != null && !existing.exists()) {
        existing = existing.getParentFile();
      }
      if (existing == null || !existing.isDirectory() || !existing.canWrite()) {
        problems.add(
            "--warehouse="
                + warehouse
                + " cannot be created: "
                + (existing == null ? folder : existing)
                + " is not a writable folder");
      }
    }
    if (!"hadoop".equals(type) && !properties.containsKey(CatalogProperties.URI)) {
      problems.add(
          "--catalogProperties has no uri: a "
              + type
              + " catalog needs uri=... (e.g. jdbc:postgresql://host/db or http://host:8181)");
    }
    for (Map.Entry<String, String> p : properties.entrySet()) {
      Matcher m = ENV.matcher(p.getValue());
      while (m.find()) {
        if (env.apply(m.group(1)) == null) {
          problems.add(
              "--catalogProperties: "
                  + p.getKey()
                  + " reads the environment variable "
                  + m.group(1)
                  + ", which is not set");
        }
      }
    }
    return problems;
  }

  /** Opens the catalog, resolving {@code ${env:NAME}} values from this process's environment. */
  public Catalog load() {
    return CatalogUtil.buildIcebergCatalog("sessionize", resolvedProperties(), new Configuration());
  }

  /**
   * The catalog properties with {@code ${env:NAME}} resolved here, plus type and warehouse: for
   * IcebergIO's catalog config, which carries them to the workers (so they are resolved at launch).
   */
  public Map<String, String> resolvedProperties() {
    Map<String, String> resolved = new TreeMap<>();
    for (Map.Entry<String, String> p : properties.entrySet()) {
      Matcher m = ENV.matcher(p.getValue());
      StringBuilder value = new StringBuilder();
      while (m.find()) {
        String v = System.getenv(m.group(1));
        m.appendReplacement(value, Matcher.quoteReplacement(v == null ? "" : v));
      }
      m.appendTail(value);
      resolved.put(p.getKey(), value.toString());
    }
    resolved.put(CatalogUtil.ICEBERG_CATALOG_TYPE, type);
    resolved.put(CatalogProperties.WAREHOUSE_LOCATION, warehouse);
    return resolved;
  }

  /** For messages: the type, warehouse and property keys, never the values (they may be secret). */
  @Override
  public String toString() {
    return type
        + " catalog at "
        + warehouse
        + (properties.isEmpty() ? "" : " " + properties.keySet());
  }
}
