package dev.sessionize.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import java.util.function.Function;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The benchmarks' mains read their flags through the project's parser with the names and defaults
 * the hand parser had (benchmarks/README.md, the suite's command lines): the defaults below are
 * those of the former {@code Args}-based code.
 */
@RunWith(JUnit4.class)
public class BenchOptionsTest {
  @Test
  public void benchRunDefaults() {
    BenchRun.Options o =
        BenchOptions.parse(
            new String[] {"--input=in/part-*.jsonl", "--result=r"}, BenchRun.Options.class);
    assertEquals("direct", BenchRun.runner(o));
    assertEquals(1, BenchOptions.parallelism(o));
    assertFalse(o.isStreaming());
    assertEquals(0, o.getCheckpointing());
    assertEquals("heap", BenchOptions.stateBackend(o));
    assertEquals("target/bench-work", BenchOptions.orElse(o.getWork(), "target/bench-work"));
    assertNull(o.getWork());
    assertEquals("state", o.getSessionImpl());
    assertEquals("auto", o.getSource());
    assertEquals("full", o.getStage());
    assertEquals("", o.getExtra());
    assertEquals("in/part-*.jsonl", o.getInput());
    assertEquals("r", o.getResult());
  }

  @Test
  public void benchRunReadsWhatTheSuitePasses() {
    String[] args = {
      "--runner=flink",
      "--parallelism=2",
      "--streaming=true",
      "--checkpointing=10000",
      "--stateBackend=rocksdb",
      "--input=/data/part-*.jsonl",
      "--work=/w/runs",
      "--extra=--fasterCopy=true,--maxBundleSize=1000",
      "--sessionImpl=windows",
      "--flink.state.backend.incremental=true",
      "--flink.state.backend.rocksdb.timer-service.factory=HEAP",
      "--result=/w/r.properties"
    };
    BenchRun.Options o = BenchOptions.parse(args, BenchRun.Options.class);
    assertEquals("flink", BenchRun.runner(o));
    assertEquals(2, BenchOptions.parallelism(o));
    assertTrue(o.isStreaming());
    assertEquals(10_000, o.getCheckpointing());
    assertEquals("rocksdb", BenchOptions.stateBackend(o));
    assertEquals("/w/runs", o.getWork());
    assertEquals("--fasterCopy=true,--maxBundleSize=1000", o.getExtra());
    assertEquals("windows", o.getSessionImpl());
    assertEquals(
        Map.of(
            "state.backend.incremental", "true",
            "state.backend.rocksdb.timer-service.factory", "HEAP"),
        BenchOptions.flinkConf(args));
    assertEquals(
        "spark",
        BenchRun.runner(
            BenchOptions.parse(
                new String[] {"--runner=spark", "--input=i", "--result=r"},
                BenchRun.Options.class)));
  }

  @Test
  public void nativeRunStreamsByDefault() {
    String[] files = {"--input=i", "--result=r"};
    NativeRun.Options o = BenchOptions.parse(files, NativeRun.Options.class);
    assertTrue(NativeRun.streaming(o, files));
    assertTrue(o.getDashboard());
    assertEquals(1, BenchOptions.parallelism(o));
    String[] batch = {
      "--streaming=false", "--dashboard=false", "--parallelism=4", "--input=i", "--result=r"
    };
    o = BenchOptions.parse(batch, NativeRun.Options.class);
    assertFalse(NativeRun.streaming(o, batch));
    assertFalse(o.getDashboard());
    assertEquals(4, BenchOptions.parallelism(o));
  }

  @Test
  public void generateInputAndSuiteDefaults() {
    GenerateInput.Options g =
        BenchOptions.parse(
            new String[] {"--events=1000", "--users=50", "--output=/tmp/x"},
            GenerateInput.Options.class);
    assertEquals(1000, (int) g.getEvents());
    assertEquals(50, (int) g.getUsers());
    assertEquals(42, g.getSeed());
    assertEquals(4, g.getShards());

    BenchSuite.Options s = BenchOptions.parse(new String[] {"--quick"}, BenchSuite.Options.class);
    assertTrue(s.getQuick());
    assertEquals(".", s.getRoot());
    assertNull(s.getOut());
    assertEquals("all", s.getOnly());
    assertEquals("state,windows", s.getSessionImpls());
    assertNull(s.getCompareEvents());
    assertNull(s.getAbSettings());

    Freshness.Options f = BenchOptions.parse(new String[] {"--result=r"}, Freshness.Options.class);
    assertNull(f.getRates());
    assertNull(f.getRate());
    assertEquals(20, f.getSeconds());
    assertEquals(20, f.getSettleSeconds());
    assertEquals(1_000_000, f.getE2eEvents());
    assertEquals(10_000, f.getCheckpointMs());
    assertNull(f.getWork());

    Soak.Options k = BenchOptions.parse(new String[0], Soak.Options.class);
    assertEquals(30, k.getMinutes(), 0);
    assertEquals(40, k.getWarmupMinutes(), 0);
    assertNull(k.getRate());
    assertEquals(10, k.getSampleSeconds());
    assertEquals(1, k.getTaskmanagers());
    assertNull(k.getSlots());
    assertEquals("4096m", k.getTmMemory());
    assertNull(k.getOut());
    assertEquals(-1, (int) k.getParallelism());
  }

  @Test
  public void aBadFlagIsOneLineNamingIt() {
    assertEachIsOneLine(
        args -> BenchOptions.parse(args, BenchRun.Options.class),
        new String[][] {
          {"--parallelism=two", "--parallelism=two"},
          {"--colour=red", "'colour'"},
          {"--input", "--input has no value"}
        });
  }

  /** BackfillBenchmark's former hand parser: records 100 000, users records / 30, 4 partitions. */
  @Test
  public void backfillBenchmarkDefaultsAndTheBackfillsOwnOptions() {
    BackfillBenchmark.Options o = BackfillBenchmark.parse(new String[0]);
    assertEquals(100_000, o.getRecords());
    assertNull(o.getUsers());
    assertEquals(4, o.getPartitions());
    assertNull(o.getFolder());
    assertEquals("DirectRunner", o.getRunner().getSimpleName());
    assertEquals("state", o.getSessionImpl());

    String[] args = {
      "--records=20000",
      "--users=700",
      "--partitions=2",
      "--folder=/tmp/bf",
      "--runner=FlinkRunner",
      "--parallelism=2",
      "--sessionImpl=windows"
    };
    o = BackfillBenchmark.parse(args);
    assertEquals(20_000, o.getRecords());
    assertEquals(700, (int) o.getUsers());
    assertEquals(2, o.getPartitions());
    assertEquals("/tmp/bf", o.getFolder());
    assertEquals("FlinkRunner", o.getRunner().getSimpleName());
    assertEquals("windows", o.getSessionImpl());
    assertEquals(2, (int) o.as(FlinkPipelineOptions.class).getParallelism());
  }

  @Test
  public void backfillBenchmarkBadFlagsAreOneLineNamingThem() {
    assertEachIsOneLine(
        BackfillBenchmark::parse,
        new String[][] {
          {"--records=many", "--records=many"},
          {"--records=0", "--records=0 is out of range"},
          {"--users=0", "--users=0 is out of range"},
          {"--partitions=-1", "--partitions=-1 is out of range"},
          {"--folder", "--folder has no value"},
          {"--days=2026-11-21", "--days is set by the benchmark"},
          {"--warehouse=w", "--warehouse is set by the benchmark"}
        });
  }

  /**
   * Each case's argument alone fails to {@code parse}, the first line of the message containing the
   * case's second string.
   */
  private static void assertEachIsOneLine(Function<String[], ?> parse, String[][] cases) {
    for (String[] c : cases) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> parse.apply(new String[] {c[0]}));
      String line = e.getMessage().split("\n")[0];
      assertTrue(line, line.contains(c[1]));
    }
  }
}
