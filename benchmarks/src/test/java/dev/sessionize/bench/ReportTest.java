package dev.sessionize.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The report writer's output is well formed (the suite itself never runs in the build). */
public class ReportTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  private static Result result(String label, BenchSuite.Config config, long records, long cpu) {
    Properties p = new Properties();
    p.setProperty("state", "DONE");
    p.setProperty("records", String.valueOf(records));
    p.setProperty("wallNanos", "2000000000");
    p.setProperty("cpuNanos", String.valueOf(cpu));
    p.setProperty("setupCpuNanos", "1500000000");
    p.setProperty("peakRssBytes", String.valueOf(512L << 20));
    p.setProperty("peakHeapBytes", String.valueOf(256L << 20));
    return new Result(label, config, 0, 3.0, p).with(1000, 10);
  }

  @Test
  public void writesMarkdownCsvAndCharts() throws Exception {
    Report report = new Report(true);
    report.loadAtStart = "0.10 0.20 0.30 1/100 1";
    report.loadAtEnd = "0.40 0.50 0.60 1/100 2";
    report.input = "test input";
    report.machine = "test";
    BenchSuite.Config flink = BenchSuite.Config.flink(2, true, 5000, "rocksdb");
    report.runs.add(result(flink.label(), flink, 1_000_000, 4_000_000_000L));
    report.runs.add(
        new Result("spark p2", BenchSuite.Config.of("spark", 2), 1, 1.0, new Properties())
            .with(1000, 10));
    report.scaling.add(result(flink.label(), flink, 1_000_000, 4_000_000_000L));
    report.stateSizes = StateSize.measure();
    Path dir = folder.getRoot().toPath();
    report.write(dir);

    List<String> csv = Files.readAllLines(dir.resolve("costs.csv"));
    assertEquals(3, csv.size());
    int columns = Report.COSTS_HEADER.split(",").length;
    for (String line : csv) {
      assertEquals(line, columns, line.split(",", -1).length);
    }
    assertTrue(csv.get(1), csv.get(1).contains(",4.00,")); // 4 CPU-s per million records
    assertTrue(csv.get(2), csv.get(2).contains(",false,beam,"));
    String md = Files.readString(dir.resolve("report.md"));
    assertTrue(md, md.contains("| flink streaming p2 rocksdb ckpt | 1,000 | 10 | 1,000,000 |"));
    assertTrue(md, md.contains("`0.10 0.20 0.30 1/100 1`"));
    assertTrue(md, md.contains("failed"));
    for (String png : List.of("throughput.png", "cost.png", "scaling-events.png")) {
      byte[] bytes = Files.readAllBytes(dir.resolve(png));
      assertTrue(png, bytes.length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G');
    }
  }

  @Test
  public void comparesBeamRowsWithTheNativeRowOfTheSameSettingAndInput() throws Exception {
    Report report = new Report(true);
    report.loadAtStart = "0 0 0 1/1 1";
    report.loadAtEnd = "0 0 0 1/1 1";
    report.input = "test input";
    report.machine = "test";
    BenchSuite.Config nativeP2 = BenchSuite.Config.nativeFlink(2, true, 5000, "rocksdb");
    BenchSuite.Config nativeP1 = BenchSuite.Config.nativeFlink(1, true, 0, "heap");
    BenchSuite.Config beamP2 =
        BenchSuite.Config.flink(2, true, 5000, "rocksdb")
            .withArgs("beam p2 state", List.of("--sessionImpl=state"));
    BenchSuite.Config beamP1 = BenchSuite.Config.flink(1, true, 0, "heap");
    // Native p2: 1 M records in 100 CPU-s (10 000 per CPU-s); Beam p2: 1 M in 400 (2 500):
    // 0.25. Native p1 ran on another input: the Beam p1 row has no ratio.
    report.compared.add(result(nativeP2.label(), nativeP2, 1_000_000, 100_000_000_000L));
    report.compared.add(result("beam p2 state", beamP2, 1_000_000, 400_000_000_000L));
    report.compared.add(
        result(nativeP1.label(), nativeP1, 1_000_000, 50_000_000_000L).with(2000, 10));
    Result beamP1Row = result(beamP1.label(), beamP1, 1_000_000, 100_000_000_000L);
    beamP1Row.p.setProperty("sessionEmissions", "300");
    beamP1Row.p.setProperty("sessionEmissionsBeforeInputEnd", "120");
    report.compared.add(beamP1Row);
    Result a1 = result("A", beamP2, 100, 10_000_000_000L);
    Result b1 = result("B", beamP2, 100, 8_000_000_000L);
    Result a2 = result("A", beamP2, 100, 12_000_000_000L);
    Result b2 = result("B", beamP2, 100, 9_000_000_000L);
    report.abPairs.add(new Report.AbPair("timers-on-heap", 1, a1, b1));
    report.abPairs.add(new Report.AbPair("timers-on-heap", 2, a2, b2));
    Path dir = folder.getRoot().toPath();
    report.write(dir);

    List<String> csv = Files.readAllLines(dir.resolve("costs.csv"));
    assertEquals(5, csv.size());
    int columns = Report.COSTS_HEADER.split(",").length;
    for (String line : csv) {
      assertEquals(line, columns, line.split(",", -1).length);
    }
    assertTrue(
        csv.get(1), csv.get(1).contains(",flink-native,") && csv.get(1).endsWith(",native,-,,"));
    assertTrue(csv.get(2), csv.get(2).endsWith(",beam,state,,0.25"));
    assertTrue(csv.get(4), csv.get(4).endsWith(",beam,windows,120,"));
    String md = Files.readString(dir.resolve("report.md"));
    assertTrue(
        md,
        md.contains(
            "| streaming p2 rocksdb ckpt 5 s | Beam, sessionImpl=state | 2,500 | **0.25** |"));
    assertTrue(
        md, md.contains("| streaming p1 heap no ckpt | Beam, sessionImpl=windows | 10,000 | - |"));
    assertTrue(md, md.contains("120 / 300"));
    // Medians 11 and 8.5 CPU-s; pairs 0.80 and 0.75.
    assertTrue(md, md.contains("| timers-on-heap | 2 | 11.0 | 8.5 | 0.80, 0.75 | 0.773 |"));
    List<String> ab = Files.readAllLines(dir.resolve("rocksdb-ab.csv"));
    assertEquals(3, ab.size());
    assertTrue(ab.get(2), ab.get(2).startsWith("timers-on-heap,2,12.00,9.00,0.75,"));
  }

  @Test
  public void typicalSessionStateIsSmall() {
    StateSize.Row typical = StateSize.measure().get(0);
    assertEquals(10, typical.events());
    assertTrue("encoded bytes " + typical.bytes(), typical.bytes() > 0);
  }
}
