package dev.sessionize.pipeline.generator;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.options.OptionsParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Generates realistic users' clickstreams, deterministically from a seed: each user has sessions of
 * page views, clicks and the odd purchase, separated by idle periods longer than the session gap.
 * Optional faults in given proportions: out-of-order delivery (bounded delay), duplicates (the same
 * record sent again), malformed records (one of several kinds, with the reason they must get) and
 * late records (delivered long after their event time).
 *
 * <p>{@link #generate()} returns the records in delivery order with what each one is, so tests can
 * compute the expected outcome independently of the pipeline.
 */
public final class ClickstreamGenerator {
  /** What a generated record is. */
  public enum Kind {
    EVENT,
    DUPLICATE,
    LATE,
    MALFORMED
  }

  /** One generated record. */
  public static final class Record {
    public final byte[] payload;
    public final Kind kind;

    /** The event time for events, duplicates and late records; null for malformed ones. */
    public final @Nullable Instant eventTime;

    /** When the record is delivered: event time plus its delay; orders the stream. */
    public final Instant deliveredAt;

    /** For malformed records, the dead-letter reason the record must get. */
    public final @Nullable String expectedReason;

    public final @Nullable String userId;
    public final @Nullable String eventId;

    public Record(
        byte[] payload,
        Kind kind,
        @Nullable Instant eventTime,
        Instant deliveredAt,
        @Nullable String expectedReason,
        @Nullable String userId,
        @Nullable String eventId) {
      this.payload = payload;
      this.kind = kind;
      this.eventTime = eventTime;
      this.deliveredAt = deliveredAt;
      this.expectedReason = expectedReason;
      this.userId = userId;
      this.eventId = eventId;
    }
  }

  /** Options of {@link #main}: the stream's shape, and where it goes. */
  public interface Options extends GeneratedStreamOptions {
    @Description("Share of events sent twice (0 to 1).")
    @Default.Double(0)
    double getDuplicates();

    void setDuplicates(double value);

    @Description("Share of malformed records (0 to 1).")
    @Default.Double(0)
    double getMalformed();

    void setMalformed(double value);

    @Description("Share of events delivered too late (0 to 1).")
    @Default.Double(0)
    double getLate();

    void setLate(double value);

    @Description("Event time of the stream's first event (ISO-8601).")
    @Default.String("2026-11-24T00:00:00Z")
    String getStart();

    void setStart(String value);

    @Description("File of JSON lines to write (without --bootstrapServers).")
    @Default.String("clickstream.jsonl")
    String getOutput();

    void setOutput(String value);

    @Description("Kafka bootstrap servers: send the stream to --topic there instead of a file.")
    @Nullable String getBootstrapServers();

    void setBootstrapServers(@Nullable String value);

    @Description("Kafka topic to send to.")
    @Default.String(KafkaOptions.INPUT_TOPIC)
    String getTopic();

    void setTopic(String value);
  }

  /** {@code --events} when not given. */
  public static final int DEFAULT_EVENTS = 10_000;

  /** {@code --rate} when not given. */
  public static final int DEFAULT_RATE = 1000;

  /** {@code value}, or {@code fallback} when the option was not given. */
  public static int orElse(@Nullable Integer value, int fallback) {
    return value == null ? fallback : value;
  }

  /**
   * Writes a generated stream as JSON lines, in delivery order, or sends it to Kafka:
   *
   * <pre>{@code
   * ./sessionize generate --events=100000 --users=1000 --duplicates=0.02 --malformed=0.01 \
   *     --late=0.005 --seed=7 [--start=2026-11-24T00:00:00Z] --output=clicks.jsonl
   * ./sessionize generate --bootstrapServers=localhost:9092 [--topic=clickstream_events] \
   *     [--rate=1000] ...
   * ./sessionize generate --help=dev.sessionize.pipeline.generator.ClickstreamGenerator\$Options
   * }</pre>
   */
  public static void main(String[] args) throws IOException {
    Options options = OptionsParser.parseOrExit("sessionize generate", args, Options.class);
    ClickstreamGenerator generator =
        new ClickstreamGenerator()
            .events(orElse(options.getEvents(), DEFAULT_EVENTS))
            .users(options.getUsers())
            .seed(options.getSeed())
            .duplicateRate(options.getDuplicates())
            .malformedRate(options.getMalformed())
            .lateRate(options.getLate())
            .start(Instant.parse(options.getStart()));
    String output = options.getOutput();
    String bootstrapServers = options.getBootstrapServers();
    String topic = options.getTopic();
    int rate = orElse(options.getRate(), DEFAULT_RATE);
    List<Record> records = generator.generate();
    if (bootstrapServers != null) {
      java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
      try {
        send(records, bootstrapServers, topic, rate, sent);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      System.out.println("sent " + sent.get() + " records to " + topic + " on " + bootstrapServers);
      return;
    }
    try (java.io.OutputStream out =
        new java.io.BufferedOutputStream(new java.io.FileOutputStream(output))) {
      for (Record r : records) {
        out.write(r.payload);
        out.write('\n');
      }
    }
    System.out.println("wrote " + records.size() + " records to " + output);
  }

  private static final String[] PAGES = {
    "/",
    "/search?q=shoes",
    "/products/shoes",
    "/products/shoes/123",
    "/products/shoes/456",
    "/products/bags",
    "/products/bags/789",
    "/cart",
    "/checkout",
    "/account",
    "/help",
    "/blog/fall-sale",
    "/products/hats",
    "/products/hats/42",
    "/wishlist"
  };
  private static final String[] REFERRERS = {
    null,
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://news.example.com/deals",
    "https://social.example.com/post/1"
  };
  private static final String[] DEVICES = {"mobile", "desktop", "tablet"};
  private static final String[] COUNTRIES = {"US", "DE", "FR", "GB", "IN", "BR", "JP", "NL"};
  private static final String[] CURRENCIES = {"USD", "USD", "USD", "EUR", "GBP"};

  private long seed = 42;
  private int events = 10_000;
  private int users = 500;
  private Instant start = Instant.parse("2026-11-24T00:00:00Z");
  private Duration maxOutOfOrder = Duration.standardMinutes(4);
  private double duplicateRate;
  private double malformedRate;
  private double lateRate;

  public ClickstreamGenerator seed(long value) {
    this.seed = value;
    return this;
  }

  /** Number of distinct events (duplicates, malformed and late records come on top). */
  public ClickstreamGenerator events(int value) {
    this.events = value;
    return this;
  }

  public ClickstreamGenerator users(int value) {
    this.users = value;
    return this;
  }

  public ClickstreamGenerator start(Instant value) {
    this.start = value;
    return this;
  }

  /** Each record is delayed by a uniform random 0..max; keep it below the watermark's bound. */
  public ClickstreamGenerator maxOutOfOrder(Duration value) {
    this.maxOutOfOrder = value;
    return this;
  }

  public ClickstreamGenerator duplicateRate(double value) {
    this.duplicateRate = value;
    return this;
  }

  public ClickstreamGenerator malformedRate(double value) {
    this.malformedRate = value;
    return this;
  }

  /** Share of events delivered 50 min to 3 h after their event time. */
  public ClickstreamGenerator lateRate(double value) {
    this.lateRate = value;
    return this;
  }

  /**
   * Sends {@code records} to a Kafka topic in order, keyed by user id (malformed records have no
   * key), at about {@code perSecond} records per second; {@code sent} counts the acknowledged ones.
   */
  public static void send(
      List<Record> records,
      String bootstrapServers,
      String topic,
      int perSecond,
      java.util.concurrent.atomic.AtomicLong sent)
      throws InterruptedException {
    java.util.Properties props = new java.util.Properties();
    props.put("bootstrap.servers", bootstrapServers);
    props.put(
        "key.serializer", org.apache.kafka.common.serialization.StringSerializer.class.getName());
    props.put(
        "value.serializer",
        org.apache.kafka.common.serialization.ByteArraySerializer.class.getName());
    props.put("max.request.size", String.valueOf(4 << 20));
    props.put("linger.ms", "5");
    long started = System.nanoTime();
    try (org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> producer =
        new org.apache.kafka.clients.producer.KafkaProducer<>(props)) {
      long i = 0;
      for (Record r : records) {
        producer.send(
            new org.apache.kafka.clients.producer.ProducerRecord<>(topic, r.userId, r.payload),
            (metadata, error) -> {
              if (error == null) {
                sent.incrementAndGet();
              }
            });
        i++;
        long due = started + i * 1_000_000_000L / Math.max(1, perSecond);
        long wait = due - System.nanoTime();
        if (wait > 1_000_000) {
          Thread.sleep(wait / 1_000_000);
        }
      }
      producer.flush();
    }
  }

  /** The whole stream in delivery order. */
  public List<Record> generate() {
    Random random = new Random(seed);
    List<Record> records = new ArrayList<>();
    int perUser = Math.max(1, events / users);
    int made = 0;
    for (int u = 0; u < users && made < events; u++) {
      int quota = u == users - 1 ? events - made : Math.min(perUser, events - made);
      made += userTimeline(random, String.format("user-%05d", u), quota, records);
    }
    List<Record> extra = new ArrayList<>();
    for (Record r : records) {
      if (random.nextDouble() < duplicateRate) {
        Instant again = r.deliveredAt.plus(Duration.millis(random.nextInt(120_000)));
        extra.add(
            new Record(r.payload, Kind.DUPLICATE, r.eventTime, again, null, r.userId, r.eventId));
      }
      if (random.nextDouble() < malformedRate) {
        extra.add(malformed(random, r.deliveredAt));
      }
    }
    records.addAll(extra);
    records.sort(Comparator.comparing((Record r) -> r.deliveredAt));
    return records;
  }

  private int userTimeline(Random random, String userId, int quota, List<Record> out) {
    Instant t = start.plus(Duration.millis((long) (random.nextDouble() * 3_600_000)));
    String device = DEVICES[random.nextInt(DEVICES.length)];
    String country = COUNTRIES[random.nextInt(COUNTRIES.length)];
    int made = 0;
    int eventSeq = 0;
    while (made < quota) {
      String clientSession = new UUID(random.nextLong(), random.nextLong()).toString();
      String referrer = REFERRERS[random.nextInt(REFERRERS.length)];
      int length = 1 + (int) Math.min(60, -Math.log(1 - random.nextDouble()) * 9);
      for (int i = 0; i < length && made < quota; i++) {
        String type;
        double roll = random.nextDouble();
        if (roll < 0.6) {
          type = "page_view";
        } else if (roll < 0.95) {
          type = "click";
        } else if (roll < 0.98) {
          type = "purchase";
        } else {
          type = "scroll";
        }
        String eventId = userId + "-" + (eventSeq++);
        String page = PAGES[random.nextInt(PAGES.length)];
        byte[] payload =
            eventJson(
                random, userId, eventId, type, t, clientSession, page, referrer, device, country);
        Instant delivered;
        Kind kind;
        if (random.nextDouble() < lateRate) {
          kind = Kind.LATE;
          delivered = t.plus(Duration.millis(3_000_000 + random.nextInt(7_800_000)));
        } else {
          kind = Kind.EVENT;
          delivered = t.plus(Duration.millis(random.nextInt((int) maxOutOfOrder.getMillis() + 1)));
        }
        out.add(new Record(payload, kind, t, delivered, null, userId, eventId));
        made++;
        // Within a session: seconds to a few minutes between events, never near the gap.
        t =
            t.plus(
                Duration.millis(
                    2_000 + (long) Math.min(600_000, -Math.log(1 - random.nextDouble()) * 60_000)));
      }
      // Between sessions: idle 40 minutes to 4 hours.
      t = t.plus(Duration.millis(2_400_000 + random.nextInt(12_000_000)));
    }
    return made;
  }

  private static byte[] eventJson(
      Random random,
      String userId,
      String eventId,
      String type,
      Instant t,
      String clientSession,
      String page,
      @Nullable String referrer,
      String device,
      String country) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (JsonGenerator g = Json.FACTORY.createGenerator(bytes)) {
      g.writeStartObject();
      g.writeStringField("event_id", eventId);
      g.writeStringField("user_id", userId);
      g.writeStringField("session_id", clientSession);
      g.writeStringField("event_type", type);
      if (random.nextInt(4) == 0) {
        g.writeNumberField("timestamp", t.getMillis());
      } else {
        g.writeStringField("timestamp", Json.formatInstant(t));
      }
      g.writeStringField("page_url", page);
      if (referrer != null) {
        g.writeStringField("referrer", referrer);
      }
      g.writeObjectFieldStart("device");
      g.writeStringField("type", device);
      g.writeEndObject();
      g.writeObjectFieldStart("geo");
      g.writeStringField("country", country);
      g.writeEndObject();
      if (type.equals("purchase")) {
        g.writeObjectFieldStart("metadata");
        g.writeStringField("amount", (1 + random.nextInt(300)) + "." + (10 + random.nextInt(90)));
        g.writeStringField("currency", CURRENCIES[random.nextInt(CURRENCIES.length)]);
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** Kinds of malformed record, each with the reason the spec gives it. */
  private static final String[][] MALFORMED = {
    {"MALFORMED_JSON", "{\"user_id\":\"u\",\"event_type\":\"click\",\"timest"},
    {"MALFORMED_JSON", "[1,2,3]"},
    {"MALFORMED_JSON", "not json at all"},
    {"MISSING_FIELD", "{\"event_type\":\"click\",\"timestamp\":\"2026-11-24T10:00:00Z\"}"},
    {"MISSING_FIELD", "{\"user_id\":\"u-bad\",\"event_type\":\"click\",\"timestamp\":null}"},
    {
      "INVALID_FIELD",
      "{\"user_id\":\"u-bad\",\"event_type\":\"click\",\"timestamp\":\"yesterday\"}"
    },
    {
      "INVALID_FIELD",
      "{\"user_id\":\"u-bad\",\"event_type\":\"purchase\",\"timestamp\":\"2026-11-24T10:00:00Z\","
          + "\"metadata\":{\"amount\":\"abc\"}}"
    },
    {
      "INVALID_FIELD",
      "{\"user_id\":\"u-bad\",\"event_type\":\"purchase\",\"timestamp\":\"2026-11-24T10:00:00Z\","
          + "\"metadata\":{\"amount\":-1}}"
    },
    {
      "FUTURE_TIMESTAMP",
      "{\"user_id\":\"u-bad\",\"event_type\":\"click\",\"timestamp\":\"2999-01-01T00:00:00Z\"}"
    },
    {"OVERSIZE", null},
  };

  private static Record malformed(Random random, Instant near) {
    String[] kind = MALFORMED[random.nextInt(MALFORMED.length)];
    byte[] payload;
    if (kind[1] == null) {
      char[] pad = new char[70_000];
      Arrays.fill(pad, 'x');
      payload =
          ("{\"user_id\":\"u-big\",\"event_type\":\"click\",\"timestamp\":\"2026-11-24T10:00:00Z\",\"pad\":\""
                  + new String(pad)
                  + "\"}")
              .getBytes(StandardCharsets.UTF_8);
    } else {
      payload = kind[1].getBytes(StandardCharsets.UTF_8);
    }
    return new Record(
        payload,
        Kind.MALFORMED,
        null,
        near.plus(Duration.millis(random.nextInt(1000))),
        kind[0],
        null,
        null);
  }
}
