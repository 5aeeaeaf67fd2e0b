package dev.sessionize.pipeline.iceberg;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.SchemaProvider;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Schemas whose encoded form does not depend on the JVM. Beam infers an AutoValue class's schema
 * with its fields in the order the JVM lists the class's methods, which changes from one JVM start
 * to the next (apache/beam#30276), and a schema coder writes the fields in that order. State
 * written by one JVM is then unreadable by the next: restoring a checkpoint in which IcebergIO's
 * {@code AppendFilesToTables} holds {@code FileWriteResult}s (the events archive, between two
 * commits) failed with {@code CoderException: EOFException} and the job restarted forever ({@code
 * FlinkRecoveryIT}, the restore of an older checkpoint).
 *
 * <p>{@link #registerIcebergIo} registers, for IcebergIO's {@code FileWriteResult}, the same
 * AutoValue schema with encoding positions in field-name order, nested schemas too; the field order
 * within a JVM (and so the conversions to and from rows) is unchanged, only the byte layout becomes
 * the same in every JVM.
 */
public final class StableEncodingSchemas implements SchemaProvider {
  private static final long serialVersionUID = 1L;
  private static final String FILE_WRITE_RESULT = "org.apache.beam.sdk.io.iceberg.FileWriteResult";

  private final SchemaProvider inferred = new AutoValueSchema();

  private StableEncodingSchemas() {}

  /** Registers stable encodings for IcebergIO's state types in {@code pipeline}. */
  public static void registerIcebergIo(Pipeline pipeline) {
    try {
      pipeline
          .getSchemaRegistry()
          .registerSchemaProvider(Class.forName(FILE_WRITE_RESULT), new StableEncodingSchemas());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("IcebergIO is not on the class path", e);
    }
  }

  @Override
  public <T> @Nullable Schema schemaFor(TypeDescriptor<T> typeDescriptor) {
    Schema schema = inferred.schemaFor(typeDescriptor);
    return schema == null ? null : byName(schema);
  }

  @Override
  public <T> @Nullable SerializableFunction<T, Row> toRowFunction(
      TypeDescriptor<T> typeDescriptor) {
    return inferred.toRowFunction(typeDescriptor);
  }

  @Override
  public <T> @Nullable SerializableFunction<Row, T> fromRowFunction(
      TypeDescriptor<T> typeDescriptor) {
    return inferred.fromRowFunction(typeDescriptor);
  }

  /**
   * A copy of {@code schema} (same fields, same order) whose encoding positions follow the field
   * names, in nested row schemas too.
   */
  static Schema byName(Schema schema) {
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : schema.getFields()) {
      fields.add(f.withType(byName(f.getType())));
    }
    Schema copy = new Schema(fields, schema.getOptions());
    Map<String, Integer> positions = new TreeMap<>();
    for (Schema.Field f : fields) {
      positions.put(f.getName(), 0);
    }
    int position = 0;
    for (Map.Entry<String, Integer> e : positions.entrySet()) {
      e.setValue(position++);
    }
    copy.setEncodingPositions(positions);
    return copy;
  }

  private static Schema.FieldType byName(Schema.FieldType type) {
    switch (type.getTypeName()) {
      case ROW:
        return Schema.FieldType.row(byName(type.getRowSchema())).withNullable(type.getNullable());
      case ARRAY:
        return Schema.FieldType.array(byName(type.getCollectionElementType()))
            .withNullable(type.getNullable());
      case ITERABLE:
        return Schema.FieldType.iterable(byName(type.getCollectionElementType()))
            .withNullable(type.getNullable());
      case MAP:
        return Schema.FieldType.map(byName(type.getMapKeyType()), byName(type.getMapValueType()))
            .withNullable(type.getNullable());
      default:
        return type;
    }
  }
}
