package dev.sessionize.bench;

import dev.sessionize.pipeline.SessionizationPipeline;
import dev.sessionize.pipeline.generator.ClickstreamGenerator;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import dev.sessionize.transforms.model.DashboardMinute;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.Validation;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.joda.time.Duration;
import org.joda.time.Instant;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * The job as in production on the FlinkRunner (Kafka source, sessions to Iceberg, dashboard to
 * Redis, dead letters to Kafka; parallelism 2, RocksDB, a checkpoint every 10 s) against a real
 * broker ({@link LocalKafka}, in this JVM) and a real redis-server ({@link LocalRedis}), in two
 * phases:
 *
 * <ol>
 *   <li>end to end: {@code --e2eEvents} generated events are put into the topic first, then the job
 *       starts; measured until the Redis minute documents count every accepted event;
 *   <li>freshness: events made now are produced at {@code --rate} per second for {@code --seconds};
 *       a poller reads the Redis document of the events' minute every 20 ms. When a document's
 *       {@code events} count reaches n, the first n events produced for that minute count as
 *       visible (attribution by count: the document does not say which events it holds).
 * </ol>
 */
public final class Freshness {
  private static final Pattern EVENTS = Pattern.compile("\"events\":(\\d+)");
  private static final String TOPIC = KafkaOptions.INPUT_TOPIC;

  private Freshness() {}

  /** Freshness's command line. */
  public interface Options extends PipelineOptions {
    @Description("Rates to measure, events per second, comma-separated (default: --rate).")
    String getRates();

    void setRates(String value);

    @Description(
        "The one rate to measure when --rates is not given, events per second; default 2000.")
    Integer getRate();

    void setRate(Integer value);

    @Description("Seconds to produce at each rate.")
    @Default.Integer(20)
    int getSeconds();

    void setSeconds(int value);

    @Description("Seconds to wait after producing for the last events to show.")
    @Default.Integer(20)
    int getSettleSeconds();

    void setSettleSeconds(int value);

    @Description("Events of the end-to-end phase.")
    @Default.Integer(1_000_000)
    int getE2eEvents();

    void setE2eEvents(int value);

    @Description("Working folder; default target/freshness.")
    String getWork();

    void setWork(String value);

    @Description("Checkpoint interval of the job in milliseconds.")
    @Default.Long(10_000)
    long getCheckpointMs();

    void setCheckpointMs(long value);

    @Description("File the figures are written to, as properties.")
    @Validation.Required
    String getResult();

    void setResult(String value);
  }

  public static void main(String[] args) throws Exception {
    Options a = BenchOptions.parseOrExit("bench freshness", args, Options.class);
    String rateList =
        a.getRates() == null
            ? String.valueOf(BenchOptions.orElse(a.getRate(), 2000))
            : a.getRates();
    int[] rates;
    try {
      rates = Arrays.stream(rateList.split(",")).mapToInt(Integer::parseInt).toArray();
    } catch (NumberFormatException e) {
      System.err.println(
          "bench freshness: --rates="
              + rateList
              + " is not valid: use events per second separated by commas, such as 1000,2000");
      System.exit(2);
      return;
    }
    int seconds = a.getSeconds();
    int settle = a.getSettleSeconds();
    int e2eEvents = a.getE2eEvents();
    Path work = Path.of(BenchOptions.orElse(a.getWork(), "target/freshness")).toAbsolutePath();
    Files.createDirectories(work);
    Map<String, Object> out = new LinkedHashMap<>();
    ProcStats stats = ProcStats.start();

    try (LocalKafka kafka = LocalKafka.start();
        LocalRedis redis = LocalRedis.start();
        Jedis jedis = redis.client()) {
      kafka.createTopic(TOPIC, 2);
      kafka.createTopic(KafkaOptions.DEAD_LETTER_TOPIC, 1);

      List<ClickstreamGenerator.Record> backlog =
          new ClickstreamGenerator()
              .seed(42)
              .events(e2eEvents)
              .users(10_000)
              .start(Instant.now().minus(Duration.standardDays(3)))
              .duplicateRate(0.01)
              .malformedRate(0.001)
              .generate();
      long expected =
          backlog.stream().filter(r -> r.kind == ClickstreamGenerator.Kind.EVENT).count();
      AtomicLong sent = new AtomicLong();
      ClickstreamGenerator.send(backlog, kafka.bootstrapServers(), TOPIC, Integer.MAX_VALUE, sent);
      int records = backlog.size();
      backlog = null;
      System.out.printf("freshness: %,d records in the topic (%,d events)%n", records, expected);

      PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
      SessionizationPipeline.Options options =
          PipelineOptionsFactory.fromArgs(
                  "--runner=FlinkRunner",
                  "--flinkMaster=[local]",
                  "--parallelism=2",
                  "--streaming=true",
                  "--experiments=use_deprecated_read",
                  "--fasterCopy=true", // as in production
                  "--finishBundleBeforeCheckpointing=true", // as in production (FlinkProduction)
                  "--checkpointingInterval=" + a.getCheckpointMs(),
                  "--stateBackend=rocksdb",
                  "--stateBackendStoragePath=" + work.resolve("checkpoints").toUri(),
                  "--source=kafka",
                  "--bootstrapServers=" + kafka.bootstrapServers(),
                  "--idleTimeout=5s",
                  "--commitInterval=5s",
                  "--sessionsSink=iceberg",
                  "--warehouse=" + work.resolve("warehouse"),
                  "--dashboardSink=redis",
                  "--redisPort=" + redis.port(),
                  "--output=" + work.resolve("output"))
              .as(SessionizationPipeline.Options.class);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      long cpu0 = ProcStats.cpuNanos();
      long t0 = System.nanoTime();
      Thread job =
          new Thread(
              () -> {
                try {
                  SessionizationPipeline.run(options).waitUntilFinish();
                } catch (Throwable t) {
                  failure.set(t);
                }
              },
              "flink-job");
      job.setDaemon(true);
      job.start();

      long counted = 0;
      long deadline = t0 + 20L * 60 * 1_000_000_000L;
      long lastChange = System.nanoTime();
      while (counted < expected && System.nanoTime() < deadline) {
        if (failure.get() != null) {
          throw new IllegalStateException("the job failed", failure.get());
        }
        Thread.sleep(250);
        long now = sumMinuteEvents(jedis);
        if (now != counted) {
          counted = now;
          lastChange = System.nanoTime();
        } else if (counted > 0 && System.nanoTime() - lastChange > 60_000_000_000L) {
          break; // no progress for a minute: report what arrived
        }
      }
      double e2eWall = (System.nanoTime() - t0) / 1e9;
      double e2eCpu = (ProcStats.cpuNanos() - cpu0) / 1e9;
      out.put("e2e records in the topic", records);
      out.put("e2e events counted in Redis", counted + " of " + expected);
      out.put("e2e wall s (job start to the last event in Redis)", String.format("%.1f", e2eWall));
      out.put("e2e records/s", String.format("%.0f", records / e2eWall));
      out.put("e2e CPU s (job, broker and poller in one JVM)", String.format("%.1f", e2eCpu));
      out.put("e2e CPU-s per M records", String.format("%.1f", e2eCpu * 1e6 / records));
      System.out.println("freshness: end to end " + out);

      // Phase 2: live events at each steady rate in turn. The maps are shared by the rates: a
      // minute's document counts the events of every rate produced in that minute.
      Map<String, long[]> produced = new ConcurrentHashMap<>(); // minute key -> produce nanos
      Map<String, AtomicLong> producedCount = new ConcurrentHashMap<>();
      Map<String, Long> visible = new HashMap<>();
      int perMinuteCap = Arrays.stream(rates).max().orElse(1) * 60 + 1;
      // Settling, not measured: when the first live events arrive the watermark jumps from the
      // backlog's days to now, and every backlog session closes at once (a burst of Iceberg rows
      // and timer work that delayed the first live events by ~10 s).
      Map<String, Object> settling = new LinkedHashMap<>();
      live(
          kafka, jedis, rates[0], settle, produced, producedCount, visible, perMinuteCap, settling);
      out.put("settling (not measured): live events/s for s", rates[0] + " for " + settle);
      for (int rate : rates) {
        live(kafka, jedis, rate, seconds, produced, producedCount, visible, perMinuteCap, out);
      }
      out.put("peak RSS MB (whole JVM)", ProcStats.peakRssBytes() / 1048576);
      out.put("peak heap MB (whole JVM)", stats.peakHeapBytes() / 1048576);
      out.put(
          "description",
          String.format(
              "One JVM (`Freshness`): an in-process Kafka broker (2 partitions), redis-server, the"
                  + " job on the FlinkRunner (local, parallelism 2, streaming, RocksDB, checkpoint"
                  + " every 10 s, Iceberg commits every 5 s). End to end: %,d generated records put"
                  + " in the topic first, then the job started; timed until the Redis minute"
                  + " documents count every accepted event (job start-up included; Iceberg rows"
                  + " land up to 5 s later). Freshness: at each rate (%s events/s) events made now"
                  + " for %d s; latency = time from the producer's send to the first 20 ms Redis"
                  + " poll whose minute document counts the event (by count within the minute);"
                  + " the first %d s of each rate are warm-up, and before the first rate %d s of"
                  + " live events settle the job after the backlog.",
              records, rateList, seconds, warmupSeconds(seconds), settle));
    }
    Properties p = new Properties();
    out.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
    try (var w = Files.newBufferedWriter(Path.of(a.getResult()), StandardCharsets.UTF_8)) {
      p.store(w, null);
    }
    System.out.println("freshness: " + out);
    System.exit(0);
  }

  private static long warmupSeconds(int seconds) {
    return Math.min(10, seconds / 3);
  }

  /** Produces {@code rate} events/s for {@code seconds} and measures when Redis counts them. */
  private static void live(
      LocalKafka kafka,
      Jedis jedis,
      int rate,
      int seconds,
      Map<String, long[]> produced,
      Map<String, AtomicLong> producedCount,
      Map<String, Long> visible,
      int perMinuteCap,
      Map<String, Object> out)
      throws InterruptedException {
    long[] latencies = new long[rate * seconds + 1];
    int measured = 0;
    long liveStart = System.nanoTime();
    long measureFrom = liveStart + warmupSeconds(seconds) * 1_000_000_000L;
    AtomicLong producedTotal = new AtomicLong();
    long visibleBefore = visible.values().stream().mapToLong(Long::longValue).sum();
    Thread producer =
        new Thread(
            () ->
                produceLive(
                    kafka.bootstrapServers(),
                    rate,
                    seconds,
                    produced,
                    producedCount,
                    perMinuteCap,
                    producedTotal),
            "live-producer");
    producer.start();
    while (producer.isAlive() || System.nanoTime() < liveStart + (seconds + 30L) * 1_000_000_000L) {
      if (!producer.isAlive() && allVisible(producedCount, visible)) {
        break;
      }
      for (Map.Entry<String, AtomicLong> e : producedCount.entrySet()) {
        String key = e.getKey();
        long have = visible.getOrDefault(key, 0L);
        long made = e.getValue().get();
        if (have >= made) {
          continue;
        }
        String doc = jedis.get(key);
        long now = System.nanoTime();
        if (doc == null) {
          continue;
        }
        Matcher m = EVENTS.matcher(doc);
        if (!m.find()) {
          continue;
        }
        long count = Math.min(Long.parseLong(m.group(1)), made);
        long[] times = produced.get(key);
        for (long i = have; i < count; i++) {
          long producedAt = times[(int) i];
          if (producedAt >= measureFrom && measured < latencies.length) {
            latencies[measured++] = now - producedAt;
          }
        }
        if (count > have) {
          visible.put(key, count);
        }
      }
      Thread.sleep(20);
    }
    long[] l = Arrays.copyOf(latencies, measured);
    Arrays.sort(l);
    long seen = visible.values().stream().mapToLong(Long::longValue).sum() - visibleBefore;
    String at = String.format("freshness at %,d events/s: ", rate);
    out.put(at + "events produced", producedTotal.get());
    out.put(at + "events seen in Redis", seen);
    out.put(at + "events measured (after warm-up)", measured);
    out.put(at + "p50 ms", percentile(l, 0.50));
    out.put(at + "p95 ms", percentile(l, 0.95));
    out.put(at + "p99 ms", percentile(l, 0.99));
    out.put(at + "max ms", l.length == 0 ? "-" : String.valueOf(l[l.length - 1] / 1_000_000));
    System.out.println("freshness: " + out);
  }

  private static String percentile(long[] sorted, double q) {
    return sorted.length == 0 ? "-" : String.valueOf(sorted[(int) (sorted.length * q)] / 1_000_000);
  }

  private static boolean allVisible(Map<String, AtomicLong> produced, Map<String, Long> visible) {
    for (Map.Entry<String, AtomicLong> e : produced.entrySet()) {
      if (visible.getOrDefault(e.getKey(), 0L) < e.getValue().get()) {
        return false;
      }
    }
    return true;
  }

  /** Sum of {@code events} over every {@code dash:minute:*} document. */
  private static long sumMinuteEvents(Jedis jedis) {
    long sum = 0;
    String cursor = ScanParams.SCAN_POINTER_START;
    ScanParams params = new ScanParams().match("dash:minute:*").count(1000);
    do {
      ScanResult<String> page = jedis.scan(cursor, params);
      List<String> keys = page.getResult();
      if (!keys.isEmpty()) {
        for (String doc : jedis.mget(keys.toArray(new String[0]))) {
          if (doc != null) {
            Matcher m = EVENTS.matcher(doc);
            if (m.find()) {
              sum += Long.parseLong(m.group(1));
            }
          }
        }
      }
      cursor = page.getCursor();
    } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    return sum;
  }

  private static final AtomicLong PHASES = new AtomicLong();

  private static void produceLive(
      String bootstrap,
      int rate,
      int seconds,
      Map<String, long[]> produced,
      Map<String, AtomicLong> producedCount,
      int perMinuteCap,
      AtomicLong total) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    props.put("linger.ms", "5");
    long phase = PHASES.incrementAndGet();
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      long start = System.nanoTime();
      long n = (long) rate * seconds;
      for (long i = 0; i < n; i++) {
        Instant now = Instant.now();
        String user = "live-" + (i % 5000);
        String eventId = "live-" + phase + "-" + i; // unique across the phases (dedup keeps ids)
        String key = DashboardMinute.keyFor(now.minus(now.getMillis() % 60_000));
        byte[] payload =
            ("{\"event_id\":\""
                    + eventId
                    + "\",\"user_id\":\""
                    + user
                    + "\",\"event_type\":\"page_view\",\"timestamp\":"
                    + now.getMillis()
                    + ",\"page_url\":\"/products/"
                    + (i % 50)
                    + "\",\"device\":{\"type\":\"mobile\"},\"geo\":{\"country\":\"DE\"}}")
                .getBytes(StandardCharsets.UTF_8);
        long[] times = produced.computeIfAbsent(key, k -> new long[perMinuteCap]);
        AtomicLong count = producedCount.computeIfAbsent(key, k -> new AtomicLong());
        times[(int) count.get()] = System.nanoTime();
        producer.send(new ProducerRecord<>(TOPIC, user, payload));
        count.incrementAndGet();
        total.incrementAndGet();
        long due = start + (i + 1) * 1_000_000_000L / rate;
        long wait = due - System.nanoTime();
        if (wait > 1_000_000) {
          try {
            Thread.sleep(wait / 1_000_000);
          } catch (InterruptedException e) {
            return;
          }
        }
      }
      producer.flush();
    }
  }
}
