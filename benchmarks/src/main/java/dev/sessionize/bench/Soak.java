package dev.sessionize.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import java.awt.Color;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import redis.clients.jedis.Jedis;

/**
 * The soak run: the production preset ({@code FlinkProduction} from the bundled jar) on the
 * standalone cluster of {@code runners/flink-cluster/cluster.sh} (a JobManager and TaskManagers of
 * their own), a real broker (in this JVM) and redis-server, a steady live stream for a long time,
 * and every 10 s a sample of what must stay flat: the last checkpoint's size and duration (Flink's
 * REST API), the TaskManagers' heap (Prometheus) and RSS ({@code /proc}), the source lag (the input
 * topic's end offsets minus the offsets the job committed) and the dashboard's freshness (age of
 * the newest {@code updated_at} in Redis). Writes {@code soak.csv} and {@code soak.png}.
 *
 * <pre>
 * ./sessionize soak --minutes=30 --rate=5000          # the run of the issue (a quiet machine)
 * ./sessionize soak --minutes=2 --rate=1000 --warmupMinutes=0   # a quick check of the harness
 * </pre>
 *
 * <p>The stream: visits of 5 minutes, one event about every 10 s per visitor (page views, clicks,
 * purchases), each visit a user of its own, event time = now. Sessions close 30 min (gap) + 5 min
 * (lateness) after a visit, so the job's state grows for about 40 minutes from a cold start and is
 * flat after that: {@code --warmupMinutes} (default 40) are sampled but marked as warm-up.
 */
public final class Soak {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String TOPIC = KafkaOptions.INPUT_TOPIC;
  private static final int PARTITIONS = 4;

  private Soak() {}

  /** Soak's command line. */
  public interface Options extends PipelineOptions {
    @Description("The repository's root folder.")
    @Default.String(".")
    String getRoot();

    void setRoot(String value);

    @Description("Minutes measured after the warm-up.")
    @Default.Double(30)
    double getMinutes();

    void setMinutes(double value);

    @Description("Minutes of warm-up before measuring.")
    @Default.Double(40)
    double getWarmupMinutes();

    void setWarmupMinutes(double value);

    @Description("Events per second produced; default 5000.")
    Integer getRate();

    void setRate(Integer value);

    @Description("Seconds between samples.")
    @Default.Integer(10)
    int getSampleSeconds();

    void setSampleSeconds(int value);

    @Description("Parallelism of the job; below 1 (as by default) = 2.")
    @Default.Integer(-1)
    Integer getParallelism();

    void setParallelism(Integer value);

    @Description("Folder of the results, under --root; default benchmarks/results/soak.")
    String getOut();

    void setOut(String value);

    @Description("Task managers of the cluster.")
    @Default.Integer(1)
    int getTaskmanagers();

    void setTaskmanagers(int value);

    @Description("Slots per task manager (default: the parallelism).")
    Integer getSlots();

    void setSlots(Integer value);

    @Description("Memory of a task manager, as Flink writes it.")
    @Default.String("4096m")
    String getTmMemory();

    void setTmMemory(String value);
  }

  public static void main(String[] argv) throws Exception {
    if (!"true".equals(System.getProperty("sessionize.soak.forked"))) {
      // The broker runs in this JVM and needs Scala 2.13; the module's class path has Spark's 2.12
      // (Maven keeps one scala-library). Run again without Spark, as the bench suite does.
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx2g");
      for (String flag : System.getProperty("sessionize.jvm.opens", "").split(" ")) {
        if (!flag.isBlank()) {
          command.add(flag);
        }
      }
      command.add("-Dsessionize.jvm.opens=" + System.getProperty("sessionize.jvm.opens", ""));
      command.add("-Dsessionize.soak.forked=true");
      command.add("-cp");
      command.add(BenchSuite.withoutSpark(System.getProperty("java.class.path")));
      command.add(Soak.class.getName());
      command.addAll(List.of(argv));
      System.exit(new ProcessBuilder(command).inheritIO().start().waitFor());
    }
    Options a = BenchOptions.parseOrExit("sessionize soak", argv, Options.class);
    Path root = Path.of(a.getRoot()).toAbsolutePath();
    double minutes = a.getMinutes();
    double warmup = a.getWarmupMinutes();
    int rate = BenchOptions.orElse(a.getRate(), 5000);
    int sampleSeconds = a.getSampleSeconds();
    String parallelism =
        String.valueOf(
            a.getParallelism() == null || a.getParallelism() < 1 ? 2 : a.getParallelism());
    Path out = root.resolve(BenchOptions.orElse(a.getOut(), "benchmarks/results/soak"));
    Files.createDirectories(out);
    Path work = Files.createTempDirectory("sessionize-soak");
    Path bundle =
        root.resolve("runners/flink/target/sessionize-runner-flink-0.1.0-SNAPSHOT-bundle.jar");
    Path clusterScript = root.resolve("runners/flink-cluster/cluster.sh");
    if (!Files.isRegularFile(bundle)) {
      throw new IllegalStateException("build the bundled jar first: mvn -B -DskipTests install");
    }

    say("load average at start: " + Files.readString(Path.of("/proc/loadavg")).trim());
    try (LocalKafka kafka = LocalKafka.start();
        LocalRedis redis = LocalRedis.start();
        Jedis jedis = redis.client()) {
      kafka.createTopic(TOPIC, PARTITIONS);
      kafka.createTopic(TOPIC + "_dlq", 1);
      Map<String, String> env = new LinkedHashMap<>();
      int restPort = freePort();
      int metricsPort = freePort();
      env.put("FLINK_REST_PORT", String.valueOf(restPort));
      env.put("FLINK_RPC_PORT", String.valueOf(freePort()));
      env.put("FLINK_METRICS_PORT", String.valueOf(metricsPort));
      env.put("FLINK_TASKMANAGERS", String.valueOf(a.getTaskmanagers()));
      env.put("FLINK_SLOTS", a.getSlots() == null ? parallelism : String.valueOf(a.getSlots()));
      env.put("FLINK_TM_MEMORY", a.getTmMemory());
      env.put("FLINK_CLUSTER_DIR", work.resolve("cluster").toString());
      run(env, work, clusterScript.toString(), "start");
      try {
        submit(root, bundle, restPort, kafka, redis, work, parallelism);
        String job = awaitRunningJob(restPort);
        say("job " + job + " running; web UI http://localhost:" + restPort + "/");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong sent = new AtomicLong();
        Thread producer = new Thread(() -> produce(kafka, rate, stop, sent), "soak-producer");
        producer.setDaemon(true); // a failed sample must not leave the JVM running
        producer.start();
        List<Map<String, Object>> samples = new ArrayList<>();
        long start = System.currentTimeMillis();
        long end = start + (long) ((warmup + minutes) * 60_000);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
          for (long next = start + sampleSeconds * 1000L;
              next <= end;
              next += sampleSeconds * 1000L) {
            Thread.sleep(Math.max(0, next - System.currentTimeMillis()));
            Map<String, Object> s =
                sample(
                    (next - start) / 1000.0,
                    warmup * 60 >= (next - start) / 1000.0,
                    restPort,
                    job,
                    work.resolve("cluster"),
                    admin,
                    jedis,
                    sent.get());
            samples.add(s);
            say(s.toString());
          }
        }
        stop.set(true);
        producer.join();
        writeCsv(out.resolve("soak.csv"), samples);
        plot(out.resolve("soak.png"), samples, rate);
        say(summary(samples, rate));
        say("load average at end: " + Files.readString(Path.of("/proc/loadavg")).trim());
        say("wrote " + out.resolve("soak.csv") + " and " + out.resolve("soak.png"));
      } finally {
        run(env, work, clusterScript.toString(), "stop");
      }
    }
  }

  private static void say(String line) {
    System.out.println("soak: " + line);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String run(Map<String, String> env, Path work, String... command)
      throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + said);
    }
    System.out.print(said);
    return said;
  }

  private static void submit(
      Path root,
      Path bundle,
      int restPort,
      LocalKafka kafka,
      LocalRedis redis,
      Path work,
      String parallelism)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String flag : System.getProperty("sessionize.jvm.opens", "").split(" ")) {
      if (!flag.isBlank()) {
        command.add(flag);
      }
    }
    command.add("-cp");
    command.add(bundle + File.pathSeparator + root.resolve("runners/flink-cluster/target/lib/*"));
    command.add("dev.sessionize.runners.flink.FlinkProduction");
    command.addAll(
        List.of(
            "--flinkMaster=localhost:" + restPort,
            "--filesToStage=" + bundle,
            "--attachedMode=false",
            "--parallelism=" + parallelism,
            "--stateBackendStoragePath=" + work.resolve("checkpoints").toUri(),
            "--bootstrapServers=" + kafka.bootstrapServers(),
            "--warehouse=" + work.resolve("warehouse"),
            "--redisPort=" + redis.port(),
            "--output=" + work.resolve("out")));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("the submission failed: " + said);
    }
  }

  private static JsonNode rest(int port, String path) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  private static String awaitRunningJob(int port) throws Exception {
    for (int i = 0; i < 300; i++) {
      for (JsonNode job : rest(port, "/jobs").get("jobs")) {
        if ("RUNNING".equals(job.get("status").asText())) {
          return job.get("id").asText();
        }
      }
      Thread.sleep(1_000);
    }
    throw new IllegalStateException("no job running after 5 minutes");
  }

  /**
   * A steady stream at {@code rate} events/s: visits of 5 minutes (one event every ~10 s per
   * visitor), each visit a user of its own, event time = now.
   */
  private static void produce(LocalKafka kafka, int rate, AtomicBoolean stop, AtomicLong sent) {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrapServers());
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    props.put("linger.ms", "20");
    Random random = new Random(42);
    String[] types = {"page_view", "page_view", "page_view", "click", "click", "purchase"};
    String[] countries = {"DE", "US", "FR", "GB", "JP"};
    String[] devices = {"mobile", "desktop", "tablet"};
    long visitMillis = 300_000;
    long perVisitorEveryMillis = 10_000;
    long visitsPerSecond = Math.max(1, rate * perVisitorEveryMillis / 1000 * 1000 / visitMillis);
    long start = System.currentTimeMillis();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      long n = 0;
      while (!stop.get()) {
        long now = System.currentTimeMillis();
        long due = (now - start) * rate / 1000;
        for (; n < due; n++) {
          // The visits open now are those started in the last 5 minutes, as if the stream had
          // been running for 5 minutes already: counting visits from the start instead sent most
          // of the first minutes' events to visit 0 (one user with ~10^6 events, one hot subtask
          // re-encoding its dedup ids on every event; the job fell behind at once).
          long openVisits = visitsPerSecond * visitMillis / 1000;
          long newestVisit = openVisits + (now - start) * visitsPerSecond / 1000;
          long visit = newestVisit - (long) (random.nextDouble() * openVisits);
          String type = types[random.nextInt(types.length)];
          String json =
              String.format(
                  Locale.ROOT,
                  "{\"user_id\":\"v%d\",\"event_id\":\"e%d\",\"event_type\":\"%s\","
                      + "\"timestamp\":\"%s\",\"page_url\":\"/p/%d\",\"device\":{\"type\":\"%s\"},"
                      + "\"geo\":{\"country\":\"%s\"}%s}",
                  visit,
                  n,
                  type,
                  Instant.ofEpochMilli(now),
                  random.nextInt(200),
                  devices[(int) (visit % devices.length)],
                  countries[(int) (visit % countries.length)],
                  type.equals("purchase") ? ",\"metadata\":{\"amount\":\"19.99\"}" : "");
          producer.send(
              new ProducerRecord<>(
                  TOPIC, (int) (visit % PARTITIONS), null, json.getBytes(StandardCharsets.UTF_8)));
          sent.incrementAndGet();
        }
        Thread.sleep(5);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Map<String, Object> sample(
      double at,
      boolean warmingUp,
      int restPort,
      String job,
      Path clusterDir,
      Admin admin,
      Jedis jedis,
      long sent)
      throws Exception {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("seconds", Math.round(at));
    s.put("phase", warmingUp ? "warmup" : "measured");
    s.put("events_sent", sent);
    JsonNode checkpoints = rest(restPort, "/jobs/" + job + "/checkpoints");
    JsonNode latest = checkpoints.at("/latest/completed");
    s.put("checkpoints_completed", checkpoints.at("/counts/completed").asLong());
    // Before the first completed checkpoint "completed" is null: 0 then.
    s.put("checkpoint_state_mb", latest.path("state_size").asLong() / 1e6);
    s.put("checkpoint_duration_s", latest.path("end_to_end_duration").asLong() / 1000.0);
    long heap = 0;
    long rss = 0;
    long read = 0;
    long backlog = 0;
    for (String line : Files.readAllLines(clusterDir.resolve("metrics"))) {
      String[] roleUrl = line.split(" ");
      Path pid = clusterDir.resolve(roleUrl[0] + ".pid");
      if (!roleUrl[0].startsWith("taskmanager") || !Files.exists(pid)) {
        continue;
      }
      for (String l :
          Files.readAllLines(Path.of("/proc", Files.readString(pid).trim(), "status"))) {
        if (l.startsWith("VmRSS:")) {
          rss += Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
        }
      }
      String body =
          HTTP.send(
                  HttpRequest.newBuilder(URI.create(roleUrl[1])).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      for (String l : body.split("\n")) {
        if (l.startsWith("flink_taskmanager_Status_JVM_Memory_Heap_Used")) {
          heap += (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
        } else if (l.startsWith("flink_taskmanager_job_task_operator_sessionize_records_read{")) {
          read += (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
        } else if (l.startsWith("flink_taskmanager_job_task_operator_source_splits_")
            && l.contains("_backlog_elements{")) {
          backlog += (long) Math.max(0, Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)));
        }
      }
    }
    s.put("tm_heap_mb", heap / 1e6);
    s.put("tm_rss_mb", rss / 1e6);
    // Records the job has read (its counter, since its last restart), KafkaIO's own estimate of
    // what is left to read, and what no completed checkpoint has committed yet (a sawtooth of up
    // to one checkpoint interval of input even when the job keeps up).
    s.put("records_read", read);
    s.put("source_backlog_records", backlog);
    s.put("uncommitted_records", lag(admin));
    String newest = jedis.get("dash:latest");
    String doc = newest == null ? null : jedis.get(newest);
    double freshness = -1;
    if (doc != null) {
      freshness =
          (System.currentTimeMillis()
                  - Instant.parse(JSON.readTree(doc).get("updated_at").asText()).toEpochMilli())
              / 1000.0;
    }
    s.put("dashboard_freshness_s", freshness);
    return s;
  }

  /** The input's end offsets minus the offsets the job committed with its last checkpoint. */
  private static long lag(Admin admin) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      latest.put(new TopicPartition(TOPIC, p), OffsetSpec.latest());
    }
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin.listConsumerGroupOffsets("sessionize").partitionsToOffsetAndMetadata().get();
    long lag = 0;
    for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e :
        admin.listOffsets(latest).all().get().entrySet()) {
      OffsetAndMetadata done = committed.get(e.getKey());
      lag += e.getValue().offset() - (done == null ? 0 : done.offset());
    }
    return lag;
  }

  private static void writeCsv(Path file, List<Map<String, Object>> samples) throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add(String.join(",", samples.get(0).keySet()));
    for (Map<String, Object> s : samples) {
      List<String> values = new ArrayList<>();
      s.values().forEach(v -> values.add(String.valueOf(v)));
      lines.add(String.join(",", values));
    }
    Files.write(file, lines);
  }

  private static final String[][] PLOTTED = {
    {"checkpoint_state_mb", "checkpoint state (MB)"},
    {"checkpoint_duration_s", "checkpoint duration (s)"},
    {"tm_heap_mb", "TaskManager heap used (MB)"},
    {"tm_rss_mb", "TaskManager RSS (MB)"},
    {"source_backlog_records", "source backlog (records, KafkaIO)"},
    {"uncommitted_records", "input not committed by a checkpoint (records)"},
    {"dashboard_freshness_s", "dashboard freshness (s)"}
  };

  private static void plot(Path file, List<Map<String, Object>> samples, int rate)
      throws IOException {
    CombinedDomainXYPlot combined =
        new CombinedDomainXYPlot(new org.jfree.chart.axis.NumberAxis("seconds since the start"));
    for (String[] p : PLOTTED) {
      XYSeries series = new XYSeries(p[1]);
      for (Map<String, Object> s : samples) {
        series.add(((Number) s.get("seconds")).doubleValue(), ((Number) s.get(p[0])).doubleValue());
      }
      JFreeChart one =
          ChartFactory.createXYLineChart(null, null, p[1], new XYSeriesCollection(series));
      XYPlot plot = one.getXYPlot();
      plot.setBackgroundPaint(Color.WHITE);
      combined.add(plot);
    }
    JFreeChart chart =
        new JFreeChart(
            "Soak: " + rate + " events/s, production preset on the standalone cluster",
            JFreeChart.DEFAULT_TITLE_FONT,
            combined,
            false);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, 1400);
  }

  /** First and last measured sample of each figure, and its maximum. */
  static String summary(List<Map<String, Object>> samples, int rate) {
    List<Map<String, Object>> measured = new ArrayList<>();
    for (Map<String, Object> s : samples) {
      if ("measured".equals(s.get("phase"))) {
        measured.add(s);
      }
    }
    if (measured.isEmpty()) {
      measured = samples;
    }
    StringBuilder b = new StringBuilder("at " + rate + " events/s over the measured samples:");
    for (String[] p : PLOTTED) {
      double first = ((Number) measured.get(0).get(p[0])).doubleValue();
      double last = ((Number) measured.get(measured.size() - 1).get(p[0])).doubleValue();
      double max =
          measured.stream().mapToDouble(s -> ((Number) s.get(p[0])).doubleValue()).max().orElse(0);
      b.append(
          String.format(
              Locale.ROOT, "%n  %-28s first %.1f, last %.1f, max %.1f", p[1], first, last, max));
    }
    return b.toString();
  }
}
