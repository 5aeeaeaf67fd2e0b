package dev.sessionize.pipeline.iceberg;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link StableEncodingSchemas}: a schema whose fields come in another order (as Beam's inference
 * gives in another JVM, apache/beam#30276) encodes a value to the same bytes, and reads bytes
 * written under the other order back to the same value.
 */
@RunWith(JUnit4.class)
public class StableEncodingSchemasTest {
  private static final Schema NESTED =
      Schema.builder()
          .addStringField("path")
          .addInt64Field("recordCount")
          .addNullableField(
              "columnSizes", Schema.FieldType.map(Schema.FieldType.INT32, Schema.FieldType.INT64))
          .addNullableField("splitOffsets", Schema.FieldType.array(Schema.FieldType.INT64))
          .addNullableField("keyMetadata", Schema.FieldType.BYTES)
          .build();

  @Test
  public void fieldsInAnotherOrderEncodeToTheSameBytes() throws Exception {
    Schema one = withNested(NESTED, false);
    Schema other = withNested(reversed(NESTED), true);
    Schema stableOne = StableEncodingSchemas.byName(one);
    Schema stableOther = StableEncodingSchemas.byName(other);

    byte[] fromOne = CoderUtils.encodeToByteArray(RowCoder.of(stableOne), value(stableOne));
    byte[] fromOther = CoderUtils.encodeToByteArray(RowCoder.of(stableOther), value(stableOther));
    assertArrayEquals(fromOne, fromOther);
    Row back = CoderUtils.decodeFromByteArray(RowCoder.of(stableOther), fromOne);
    assertEquals("sessionize.events", back.getString("table"));
    Row file = back.getRow("file");
    assertEquals("/w/data/00001.parquet", file.getString("path"));
    assertEquals(Long.valueOf(42L), file.getInt64("recordCount"));
    assertEquals(Map.of(1, 10L, 2, 20L), file.getMap("columnSizes"));
    assertEquals(List.of(4L, 400L), file.getArray("splitOffsets"));
    assertEquals(null, file.getBytes("keyMetadata"));

    // Without the stable positions the two layouts differ: this is what broke the restore.
    byte[] plainOne = CoderUtils.encodeToByteArray(RowCoder.of(one), value(one));
    byte[] plainOther = CoderUtils.encodeToByteArray(RowCoder.of(other), value(other));
    assertTrue(!java.util.Arrays.equals(plainOne, plainOther));
  }

  @Test
  public void icebergIoFileWriteResultGetsTheStableSchema() throws Exception {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    StableEncodingSchemas.registerIcebergIo(pipeline);
    Schema schema =
        pipeline
            .getSchemaRegistry()
            .getSchema(Class.forName("org.apache.beam.sdk.io.iceberg.FileWriteResult"));
    assertTrue(schema.isEncodingPositionsOverridden());
    Schema nested = schema.getField("serializableDataFile").getType().getRowSchema();
    List<String> byPosition = new ArrayList<>(nested.getFieldNames());
    byPosition.sort(
        (a, b) -> nested.getEncodingPositions().get(a) - nested.getEncodingPositions().get(b));
    List<String> sorted = new ArrayList<>(nested.getFieldNames());
    Collections.sort(sorted);
    assertEquals(sorted, byPosition);
  }

  private static Schema withNested(Schema nested, boolean nestedFirst) {
    Schema.Builder b = Schema.builder();
    if (nestedFirst) {
      b.addRowField("file", nested).addStringField("table");
    } else {
      b.addStringField("table").addRowField("file", nested);
    }
    return b.build();
  }

  private static Schema reversed(Schema schema) {
    List<Schema.Field> fields = new ArrayList<>(schema.getFields());
    Collections.reverse(fields);
    return new Schema(fields);
  }

  private static Row value(Schema schema) {
    Schema nested = schema.getField("file").getType().getRowSchema();
    Row file =
        Row.withSchema(nested)
            .withFieldValue("path", "/w/data/00001.parquet")
            .withFieldValue("recordCount", 42L)
            .withFieldValue("columnSizes", Map.of(1, 10L, 2, 20L))
            .withFieldValue("splitOffsets", List.of(4L, 400L))
            .withFieldValue("keyMetadata", null)
            .build();
    return Row.withSchema(schema)
        .withFieldValue("table", "sessionize.events")
        .withFieldValue("file", file)
        .build();
  }
}
