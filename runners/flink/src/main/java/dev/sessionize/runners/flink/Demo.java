package dev.sessionize.runners.flink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.dashboard.DashboardOptions;
import dev.sessionize.dashboard.DashboardServer;
import dev.sessionize.pipeline.SessionizationPipeline;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.generator.GeneratedStreamOptions;
import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.options.OptionsParser;
import java.io.File;
import java.io.IOException;
import java.net.BindException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.joda.time.Instant;
import redis.clients.jedis.Jedis;

/**
 * The one-command demo: a real Kafka broker (KRaft, in this JVM), a real redis-server, an Iceberg
 * warehouse under {@code demo/}, a generated clickstream produced into Kafka, and the job on the
 * FlinkRunner in local mode; it shows progress while it runs and ends with a summary read back from
 * the Iceberg table, Redis and the dead-letter topic. The live dashboard page ({@link
 * DashboardServer}) runs next to the job, reading the same Redis; with {@code --keepRunning=true}
 * it stays up after the summary until Ctrl-C. The steps: {@link #startServers}, {@link #produce},
 * {@link #startJob}, {@link #waitUntilDrained}, {@link #summarize}.
 *
 * <pre>{@code
 * ./sessionize demo [--events=20000] [--users=500] [--rate=4000] [--parallelism=2] [--seed=42] \
 *     [--partitions=4] [--folder=demo] [--dashboardPort=8080] [--keepRunning=false]
 * ./sessionize demo --help=dev.sessionize.runners.flink.Demo\$Options
 * }</pre>
 */
public final class Demo {
  /** The job's Kafka consumer group, whose committed offsets show how far it has read. */
  private static final String DEMO_GROUP = "sessionize-demo-job";

  private static final int MAX_POLL_RECORDS = 500;

  private static final org.joda.time.Duration HOURS_20 = org.joda.time.Duration.standardHours(20);

  /** The job's parallelism when {@code --parallelism} is not given. */
  static final int DEFAULT_PARALLELISM = 2;

  /** {@code --events} when not given. */
  static final int DEFAULT_EVENTS = 20_000;

  /** {@code --rate} when not given. */
  static final int DEFAULT_RATE = 4000;

  /** {@code --parallelism}, or {@link #DEFAULT_PARALLELISM} when it is unset or below 1. */
  static int parallelism(Options options) {
    Integer p = options.getParallelism();
    return p == null || p < 1 ? DEFAULT_PARALLELISM : p;
  }

  /** Options of the demo. */
  public interface Options extends GeneratedStreamOptions {

    /**
     * The FlinkRunner's own {@code --parallelism}: Beam's options are one registry, so this getter
     * must have the type and the default of {@code FlinkPipelineOptions}' ({@code Integer}, -1);
     * {@link #parallelism} turns -1 into the demo's default.
     */
    @Description(
        "Parallelism of the job on the embedded Flink cluster; below 1 (the default): "
            + DEFAULT_PARALLELISM
            + ".")
    @Default.Integer(-1)
    Integer getParallelism();

    void setParallelism(Integer value);

    @Description("Partitions of the input topic.")
    @Default.Integer(4)
    int getPartitions();

    void setPartitions(int value);

    @Description("Folder of the Iceberg warehouse and the job's files.")
    @Default.String("demo")
    String getFolder();

    void setFolder(String value);

    @Description(
        "Port of the live dashboard page (a free port when it is busy; 0 = any free port).")
    @Default.String("8080")
    String getDashboardPort();

    void setDashboardPort(String value);

    @Description("After the summary, keep the job, Redis and the page up until Ctrl-C.")
    @Default.Boolean(false)
    boolean getKeepRunning();

    void setKeepRunning(boolean value);
  }

  private final Options options;
  private final long wallStart = System.currentTimeMillis();
  private final Path folder;
  private final Path warehouse;
  private final AtomicBoolean finished = new AtomicBoolean();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Map<String, Integer> deadLetters = new TreeMap<>();
  private LocalKafka kafka;
  private LocalRedis redis;
  private DashboardServer dashboard;
  private List<ClickstreamGenerator.Record> stream;
  private Thread producer;
  private Table table;
  private List<String> flinkUrls = List.of();
  private long rows = -1;

  private Demo(Options options) {
    this.options = options;
    this.folder = Paths.get(options.getFolder()).toAbsolutePath();
    this.warehouse = folder.resolve("warehouse");
  }

  public static void main(String[] args) throws Exception {
    // The demo runs the job on the FlinkRunner; naming it lets Beam validate the options (no
    // DirectRunner on this module's class path to default to).
    String[] withRunner =
        Stream.concat(Stream.of("--runner=FlinkRunner"), Stream.of(args)).toArray(String[]::new);
    Options options = OptionsParser.parseOrExit("sessionize demo", withRunner, Options.class);
    DashboardOptions dashboardOptions;
    try {
      dashboardOptions = DashboardOptions.parse("--port=" + options.getDashboardPort());
    } catch (DashboardOptions.InvalidOptionsException e) {
      System.err.println(
          "sessionize demo: --dashboardPort="
              + options.getDashboardPort()
              + " is not valid: use a port number (0 = any free port)");
      System.exit(2);
      return;
    }
    Demo demo = new Demo(options);
    demo.startServers(dashboardOptions);
    demo.produce();
    demo.startJob();
    demo.waitUntilDrained();
    demo.summarize();
    demo.finished.set(true);
    if (options.getKeepRunning()) {
      say(
          "the job, Redis and the dashboard stay up: "
              + demo.dashboard.url()
              + " (Ctrl-C stops everything)");
      new CountDownLatch(1).await();
    }
    System.exit(0);
  }

  /**
   * Step 1: a fresh warehouse, the Kafka broker with the two topics, redis-server, the dashboard
   * page, and a shutdown hook that stops them on Ctrl-C.
   */
  private void startServers(DashboardOptions dashboardOptions) throws Exception {
    deleteRecursively(warehouse);
    Files.createDirectories(folder);
    say("starting a Kafka broker (KRaft, in this JVM)");
    kafka = LocalKafka.start();
    say("starting redis-server");
    redis = LocalRedis.start();
    dashboard = startDashboard(dashboardOptions.withRedisPort(redis.port()));
    // Ctrl-C (SIGINT) or kill (SIGTERM): stop producing, stop the servers (the in-process Flink
    // mini-cluster ends with this JVM; every Iceberg commit is atomic, so the table stays
    // consistent), say what is left on disk.
    Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "demo-shutdown"));
    kafka.createTopic(KafkaOptions.INPUT_TOPIC, options.getPartitions());
    kafka.createTopic(KafkaOptions.DEAD_LETTER_TOPIC, 1);
    say(
        "Kafka at "
            + kafka.bootstrapServers()
            + ", redis-server on port "
            + redis.port()
            + ", Iceberg warehouse "
            + warehouse);
    say("live dashboard: " + dashboard.url());
  }

  /** The shutdown hook: the generator, then the dashboard, redis-server and the broker. */
  private void stop() {
    if (!finished.get()) {
      say("stopping (interrupted): generator, Flink job, dashboard, redis-server, Kafka");
    }
    if (producer != null) {
      producer.interrupt();
    }
    dashboard.close();
    try {
      redis.close();
    } catch (Exception e) {
      // shutting down anyway
    }
    // The broker's shutdown can wait long on the job's still-connected clients; the JVM ends
    // right after this hook anyway, so it gets 20 s, not more.
    Thread broker =
        new Thread(
            () -> {
              try {
                kafka.close();
              } catch (Exception e) {
                // shutting down anyway
              }
            },
            "demo-kafka-shutdown");
    broker.setDaemon(true);
    broker.start();
    try {
      broker.join(20_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!finished.get()) {
      say("stopped; the Iceberg table stays in " + warehouse);
    }
  }

  /**
   * Step 2: the generated stream (ending at least two minutes ago) and the thread that produces it
   * into the input topic at {@code --rate}; started with the job.
   */
  private void produce() {
    List<ClickstreamGenerator.Record> first = generate(options, Instant.now().minus(HOURS_20));
    // The users' timelines end where their random walk ends; when the last events would lie in
    // the future (FUTURE_TIMESTAMP dead letters), the same stream is generated again, earlier.
    Instant newest = Instant.now().minus(org.joda.time.Duration.standardMinutes(2));
    Instant last =
        first.stream()
            .map(r -> r.eventTime)
            .filter(t -> t != null)
            .max(Instant::compareTo)
            .orElse(newest);
    stream =
        last.isAfter(newest)
            ? generate(
                options,
                Instant.now().minus(HOURS_20).minus(new org.joda.time.Duration(newest, last)))
            : first;
    producer =
        new Thread(
            () -> {
              try {
                ClickstreamGenerator.send(
                    stream,
                    kafka.bootstrapServers(),
                    KafkaOptions.INPUT_TOPIC,
                    ClickstreamGenerator.orElse(options.getRate(), DEFAULT_RATE),
                    sent);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "generator");
  }

  /**
   * Step 3: the job on the FlinkRunner in local mode, Kafka to Iceberg and Redis, and the producer.
   */
  private void startJob() throws IOException {
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    String[] jobArgs = {
      "--runner=FlinkRunner",
      "--flinkMaster=[local]",
      "--parallelism=" + parallelism(options),
      "--streaming=true",
      // KafkaIO's default (splittable DoFn) read crawls on this runner: ~150 records/s
      // against thousands with the UnboundedSource read (measured with the demo).
      "--experiments=use_deprecated_read",
      "--fasterCopy=true", // as in production: no copy between chained operators
      "--finishBundleBeforeCheckpointing=true", // as in production: see FlinkProduction
      // Checkpoints commit the consumer group's offsets, which tell the demo when the job
      // has read everything (its stop rule).
      "--checkpointingInterval=5000",
      "--source=kafka",
      "--bootstrapServers=" + kafka.bootstrapServers(),
      "--groupId=" + DEMO_GROUP,
      "--idleTimeout=5s",
      "--commitInterval=5s",
      "--sessionsSink=iceberg",
      "--warehouse=" + warehouse,
      "--dashboardSink=redis",
      "--redisPort=" + redis.port(),
      "--output=" + folder.resolve("output")
    };
    SessionizationPipeline.Options jobOptions =
        PipelineOptionsFactory.fromArgs(jobArgs).as(SessionizationPipeline.Options.class);
    FlinkPipelineOptions flink = jobOptions.as(FlinkPipelineOptions.class);
    FlinkProduction.localClusterConf(flink);
    flinkUrls = FlinkProduction.localEndpoints(flink); // web UI, Prometheus
    flinkUrls.forEach(url -> say(url + "  (beside the live dashboard: " + dashboard.url() + ")"));
    flinkUrls.stream() // the page's pipeline-health panel reads the embedded cluster's metrics
        .filter(line -> line.startsWith("Prometheus"))
        .forEach(line -> dashboard.watchMetrics(List.of(URI.create(line.replaceAll(".* ", "")))));
    Thread job =
        new Thread(
            () -> {
              try {
                SessionizationPipeline.run(jobOptions).waitUntilFinish();
              } catch (Throwable t) {
                failure.set(t);
              }
            },
            "flink-job");
    job.setDaemon(true);
    say("starting the job on the FlinkRunner (local, parallelism " + parallelism(options) + ")");
    job.start();
    producer.start();
  }

  /**
   * Step 4: a progress line every few seconds until everything produced has been read and processed
   * (its offsets are committed with a completed checkpoint, which every operator has passed) and
   * three commit intervals later the table has stopped changing; or a minute after that at most,
   * since the sessions of the stream's last half hour close with the clock (idle partitions).
   */
  private void waitUntilDrained() throws Exception {
    table = SessionsTable.openOrCreate(warehouse.toString(), IcebergOptions.SESSIONS_TABLE);
    long allReadAt = 0;
    RowCount rowCount = new RowCount();
    try (KafkaConsumer<String, String> dlq = deadLetterConsumer(kafka.bootstrapServers());
        Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()));
        Jedis jedis = redis.client()) {
      while (true) {
        if (failure.get() != null) {
          throw new IllegalStateException("the job failed", failure.get());
        }
        readDeadLetters(dlq);
        long now = rowCount.of(table);
        long lag = unreadRecords(admin, KafkaOptions.INPUT_TOPIC, options.getPartitions());
        say(
            String.format(
                "produced %d/%d records | not yet read %d | sessions in Iceberg %d | dead letters"
                    + " %d | dashboard %s",
                sent.get(),
                stream.size(),
                lag,
                now,
                deadLetters.values().stream().mapToInt(i -> i).sum(),
                latestMinute(jedis)));
        if (producer.isAlive() || lag > 0) {
          allReadAt = 0;
        } else if (allReadAt == 0) {
          allReadAt = System.currentTimeMillis();
        }
        long sinceAllRead = allReadAt == 0 ? 0 : System.currentTimeMillis() - allReadAt;
        boolean unchanged = now == rows;
        rows = now;
        if (sinceAllRead >= 15_000 && (unchanged || sinceAllRead >= 60_000)) {
          return;
        }
      }
    }
  }

  /**
   * The dead letters written so far: a poll returns at most 500 (max.poll.records), so poll again
   * while they come in full batches (not until none come: they keep coming).
   */
  private void readDeadLetters(KafkaConsumer<String, String> dlq) throws IOException {
    for (int n = MAX_POLL_RECORDS; n == MAX_POLL_RECORDS; ) {
      n = 0;
      for (ConsumerRecord<String, String> r : dlq.poll(Duration.ofSeconds(2))) {
        deadLetters.merge(Json.MAPPER.readTree(r.value()).get("reason").asText(), 1, Integer::sum);
        n++;
      }
    }
  }

  /** The newest dashboard minute in Redis and its events, or "-". */
  private static String latestMinute(Jedis jedis) throws IOException {
    String latest = jedis.get("dash:latest");
    if (latest == null || jedis.get(latest) == null) {
      return "-";
    }
    JsonNode doc = Json.MAPPER.readTree(jedis.get(latest));
    return latest.substring("dash:minute:".length()) + " (" + doc.get("events") + " events)";
  }

  /**
   * Step 5: the summary, read back from the Iceberg table (the snapshot last counted), the
   * dead-letter topic and Redis.
   */
  private void summarize() throws IOException {
    // The snapshot the last progress line counted.
    Set<String> ids = new HashSet<>();
    long finals = 0;
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        ids.add((String) r.getField("session_id"));
        if (Boolean.TRUE.equals(r.getField("is_final"))) {
          finals++;
        }
      }
    }
    say("summary:");
    say(
        "  records produced       "
            + sent.get()
            + " ("
            + ClickstreamGenerator.orElse(options.getEvents(), DEFAULT_EVENTS)
            + " events + duplicates, malformed and late records)");
    say(
        "  sessions in Iceberg    "
            + rows
            + " rows, "
            + ids.size()
            + " distinct session_id, "
            + finals
            + " final  (table "
            + IcebergOptions.SESSIONS_TABLE
            + " in "
            + warehouse
            + ")");
    say("  dead letters           " + deadLetters);
    try (Jedis jedis = redis.client()) {
      say(
          "  dashboard minutes      "
              + jedis.keys("dash:minute:*").size()
              + " in Redis, latest "
              + jedis.get("dash:latest"));
    }
    say("  live dashboard         " + dashboard.url());
    flinkUrls.forEach(url -> say("  " + url));
    say("  wall time              " + (System.currentTimeMillis() - wallStart) / 1000 + " s");
  }

  /** On the given port, or any free one when it is taken. */
  private static DashboardServer startDashboard(DashboardOptions options) throws Exception {
    try {
      return DashboardServer.start(options);
    } catch (BindException e) {
      say("port " + options.port() + " is busy: the dashboard takes a free port");
      return DashboardServer.start(options.withPort(0));
    }
  }

  private static List<ClickstreamGenerator.Record> generate(Options options, Instant start) {
    return new ClickstreamGenerator()
        .seed(options.getSeed())
        .start(start)
        .events(ClickstreamGenerator.orElse(options.getEvents(), DEFAULT_EVENTS))
        .users(options.getUsers())
        .duplicateRate(0.02)
        .malformedRate(0.01)
        .lateRate(0.005)
        .generate();
  }

  /** The table's rows, counted again only when a new snapshot was committed. */
  private static final class RowCount {
    private long snapshotId = -1;
    private long rows;

    long of(Table table) throws IOException {
      table.refresh();
      if (table.currentSnapshot() == null) {
        return 0;
      }
      if (table.currentSnapshot().snapshotId() != snapshotId) {
        snapshotId = table.currentSnapshot().snapshotId();
        long n = 0;
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
          for (Record ignored : records) {
            n++;
          }
        }
        rows = n;
      }
      return rows;
    }
  }

  /**
   * Records of the topic not yet read by the job: end offsets minus the offsets the job's consumer
   * group committed (with its last checkpoint); every record counts while nothing is committed.
   */
  private static long unreadRecords(Admin admin, String topic, int partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin.listConsumerGroupOffsets(DEMO_GROUP).partitionsToOffsetAndMetadata().get();
    long unread = 0;
    for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e :
        admin.listOffsets(latest).all().get().entrySet()) {
      OffsetAndMetadata done = committed.get(e.getKey());
      unread += e.getValue().offset() - (done == null ? 0 : done.offset());
    }
    return unread;
  }

  private static KafkaConsumer<String, String> deadLetterConsumer(String bootstrapServers) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrapServers);
    props.put("group.id", "sessionize-demo");
    props.put("auto.offset.reset", "earliest");
    props.put("max.poll.records", String.valueOf(MAX_POLL_RECORDS));
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
    consumer.subscribe(List.of(KafkaOptions.DEAD_LETTER_TOPIC));
    return consumer;
  }

  private static void say(String line) {
    System.out.println("sessionize demo: " + line);
  }

  private static void deleteRecursively(Path path) throws Exception {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> files = Files.walk(path)) {
      files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    }
  }
}
