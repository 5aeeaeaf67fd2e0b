package dev.sessionize.runners.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.junit.Assert.assertEquals;

import dev.sessionize.pipeline.LocalServersRule;
import dev.sessionize.pipeline.SessionizationPipeline;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The production preset ({@link FlinkProduction}) on a local Flink mini-cluster with real Kafka,
 * redis-server and an Iceberg catalog on disk; only the parallelism (2) and the checkpoint timing
 * (every second) are overridden. Sessions close although half of the topic's partitions stay empty,
 * checkpoints complete into the RocksDB backend's storage path, and Kafka offsets are committed
 * when a checkpoint finalizes.
 */
@RunWith(JUnit4.class)
public class FlinkProductionIT {
  private static volatile Throwable failure;

  @ClassRule public static final LocalServersRule servers = new LocalServersRule();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void thePresetCheckpointsIntoRocksDbStorageAndCommitsOffsets() throws Exception {
    String testdata = System.getProperty("sessionize.testdata", "../../testdata");
    List<byte[]> values = new ArrayList<>();
    for (String line : Files.readAllLines(Paths.get(testdata, "events", "happy-path.jsonl"))) {
      values.add(line.getBytes(StandardCharsets.UTF_8));
    }
    // Four partitions, records in two of them: the empty ones must not hold the watermark back
    // (the idle rule), or the sessions would never close.
    servers.kafka().createTopic("clickstream_events", 4);
    servers.kafka().createTopic("clickstream_events_dlq", 1);
    servers.kafka().produce("clickstream_events", 2, values);

    File warehouse = tmp.newFolder("warehouse");
    File checkpoints = tmp.newFolder("checkpoints");
    FlinkProduction.Options options =
        FlinkProduction.parse(
            new String[] {
              "--flinkMaster=[local]",
              "--parallelism=2",
              "--checkpointingInterval=1000",
              "--minPauseBetweenCheckpoints=500",
              "--stateBackendStoragePath=" + checkpoints.toURI(),
              "--bootstrapServers=" + servers.kafka().bootstrapServers(),
              "--groupId=production-it",
              "--idleTimeout=2s",
              "--commitInterval=1s",
              "--warehouse=" + warehouse,
              "--redisPort=" + servers.redis().port(),
              "--output=" + tmp.newFolder("out")
            });
    assertEquals(List.of(), FlinkProduction.validate(options));
    Thread job =
        new Thread(
            () -> {
              try {
                SessionizationPipeline.run(options).waitUntilFinish();
              } catch (Throwable t) {
                failure = t;
              }
            },
            "production-job");
    job.setDaemon(true);
    job.start();

    Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
    await("the 5 sessions of the happy path, final", () -> finalSessions(table).size() == 5);
    assertThat(
        finalSessions(table),
        contains(
            "alice 2026-11-24T10:00Z 4",
            "alice 2026-11-24T11:00Z 2",
            "bob 2026-11-24T10:01Z 3",
            "bob 2026-11-24T11:20Z 1",
            "carol 2026-11-24T10:30Z 1"));
    await("a completed checkpoint in " + checkpoints, () -> completed(checkpoints.toPath()) > 0);
    // KafkaIO commits the offsets of a checkpoint once it completes: all 11 records are committed.
    await("offsets committed for every record", () -> committed() == values.size());
  }

  private static List<String> finalSessions(Table table) throws Exception {
    table.refresh();
    List<String> rows = new ArrayList<>();
    if (table.currentSnapshot() == null) {
      return rows;
    }
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        if (Boolean.TRUE.equals(r.getField("is_final"))) {
          rows.add(
              r.getField("user_id")
                  + " "
                  + r.getField("start_time")
                  + " "
                  + r.getField("event_count"));
        }
      }
    }
    rows.sort(null);
    return rows;
  }

  /** Completed checkpoints: {@code <storage>/<job id>/chk-N/_metadata}. */
  private static long completed(Path storage) throws Exception {
    try (Stream<Path> files = Files.walk(storage)) {
      return files.filter(p -> p.getFileName().toString().equals("_metadata")).count();
    }
  }

  private static long committed() throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers.kafka().bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets("production-it").partitionsToOffsetAndMetadata().get();
      long sum = 0;
      for (OffsetAndMetadata o : offsets.values()) {
        if (o != null) {
          sum += o.offset();
        }
      }
      return sum;
    }
  }

  private static void await(String what, Callable<Boolean> condition) throws Exception {
    long deadline = System.currentTimeMillis() + 180_000;
    while (!condition.call()) {
      if (failure != null) {
        throw new AssertionError("the job failed", failure);
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(1_000);
    }
  }
}
