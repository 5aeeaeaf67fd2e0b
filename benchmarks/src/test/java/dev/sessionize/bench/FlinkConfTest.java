package dev.sessionize.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.contrib.streaming.state.RocksDBConfigurableOptions;
import org.apache.flink.contrib.streaming.state.RocksDBStateBackend;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The RocksDB settings of the A/B pairs reach the backend the FlinkRunner creates: {@code
 * --flink.KEY=VALUE} arguments, written by {@link BenchRun} to the {@code flink-conf.yaml} of
 * {@code --flinkConfDir}, loaded as the FlinkRunner loads it, then applied as Flink applies the
 * job/cluster configuration to the application's {@code RocksDBStateBackend} (the one {@code
 * --stateBackend=rocksdb} makes), give heap timers, incremental checkpoints and bloom filters; the
 * baseline has none of them.
 */
public class FlinkConfTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  private RocksDBStateBackend configured(List<String> args) throws Exception {
    Map<String, String> settings = BenchOptions.flinkConf(args.toArray(String[]::new));
    Configuration conf = new Configuration();
    if (!settings.isEmpty()) {
      Path dir = BenchRun.writeFlinkConf(settings, folder.getRoot().toPath());
      conf = GlobalConfiguration.loadConfiguration(dir.toString());
    }
    return new RocksDBStateBackend(folder.getRoot().toURI().toString())
        .configure(conf, getClass().getClassLoader());
  }

  private static boolean bloomFilter(RocksDBStateBackend backend) throws Exception {
    Field inner = RocksDBStateBackend.class.getDeclaredField("rocksDBStateBackend");
    inner.setAccessible(true);
    Field options = EmbeddedRocksDBStateBackend.class.getDeclaredField("configurableOptions");
    options.setAccessible(true);
    ReadableConfig config = (ReadableConfig) options.get(inner.get(backend));
    return config.get(RocksDBConfigurableOptions.USE_BLOOM_FILTER);
  }

  @Test
  public void eachSettingOfTheRocksDbPairsReachesTheBackend() throws Exception {
    RocksDBStateBackend base = configured(List.of("--runner=flink"));
    assertEquals(
        RocksDBStateBackend.PriorityQueueStateType.ROCKSDB, base.getPriorityQueueStateType());
    assertFalse(base.isIncrementalCheckpointsEnabled());
    assertFalse(bloomFilter(base));

    Map<String, List<String>> settings = BenchSuite.ROCKSDB_SETTINGS;
    assertEquals(
        RocksDBStateBackend.PriorityQueueStateType.HEAP,
        configured(settings.get("timers-on-heap")).getPriorityQueueStateType());
    assertTrue(
        configured(settings.get("incremental-checkpoints")).isIncrementalCheckpointsEnabled());
    assertTrue(bloomFilter(configured(settings.get("bloom-filter"))));
    // The write-buffer ratio is a memory setting of the backend: it must at least be a valid one.
    configured(settings.get("write-buffer-ratio-0.8"));
  }
}
