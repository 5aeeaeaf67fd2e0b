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
    assertTrue(csv.get(2), csv.get(2).endsWith(",false"));
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
  public void typicalSessionStateIsSmall() {
    StateSize.Row typical = StateSize.measure().get(0);
    assertEquals(10, typical.events());
    assertTrue("encoded bytes " + typical.bytes(), typical.bytes() > 0);
  }
}
