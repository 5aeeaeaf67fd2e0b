package dev.sessionize.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Reason;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.iceberg.Table;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.joda.time.Instant;

/**
 * Late data back into the batch layer: reads the TOO_LATE records of the dead-letter topic (from
 * its beginning to its current end), appends the events that are not archived yet (by Kafka
 * position) to the {@link EventsTable} in one commit, and runs {@link BackfillSessions} over each
 * run of consecutive days they fall on, so late events end up counted in their sessions. Running it
 * again appends nothing and recomputes the same days: it is safe to repeat.
 */
public final class ReinjectLateEvents {
  private ReinjectLateEvents() {}

  /** The backfill's options (without --days) and where the dead letters are. */
  public interface Options extends BackfillSessions.Options {
    @Description("Kafka bootstrap servers.")
    @Default.String("localhost:9092")
    String getBootstrapServers();

    void setBootstrapServers(String value);

    @Description("Kafka topic of the dead letters.")
    @Default.String("clickstream_events_dlq")
    String getDeadLetterTopic();

    void setDeadLetterTopic(String value);
  }

  /** What one re-injection did. */
  public record Report(
      int deadLetters,
      int tooLate,
      int appended,
      int alreadyArchived,
      List<String> dayRanges,
      List<String> backfills) {
    @Override
    public String toString() {
      StringBuilder out = new StringBuilder();
      out.append(
          String.format(
              Locale.ROOT,
              "sessionize reinject: %d dead letters read, %d TOO_LATE: %d appended to the events"
                  + " table, %d already archived; backfill of %s",
              deadLetters,
              tooLate,
              appended,
              alreadyArchived,
              dayRanges.isEmpty() ? "no days" : String.join(", ", dayRanges)));
      for (String b : backfills) {
        out.append(System.lineSeparator()).append(b);
      }
      return out.toString();
    }
  }

  public static void main(String[] args) {
    Options options;
    try {
      PipelineOptionsFactory.register(Options.class);
      options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage() == null ? "invalid options" : e.getMessage();
      int newline = message.indexOf('\n');
      System.err.println(
          "sessionize reinject: " + (newline < 0 ? message : message.substring(0, newline)));
      System.exit(2);
      return;
    }
    try {
      System.out.println(run(options));
    } catch (InvalidOptionsException e) {
      for (String problem : e.problems()) {
        System.err.println("sessionize reinject: " + problem);
      }
      System.exit(2);
    }
  }

  /** One line per bad option; empty when all are fine. */
  public static List<String> validate(Options o) {
    List<String> problems = BackfillSessions.rulesProblems(o);
    if (o.getDays() != null) {
      problems.add("--days is not an option of reinject: the days come from the dead letters");
    }
    problems.addAll(
        KafkaOptions.problems(
            o.getBootstrapServers(), new String[] {"deadLetterTopic", o.getDeadLetterTopic()}));
    return problems;
  }

  /** Re-injects and backfills; blocks until the backfills are done. */
  public static Report run(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    List<String> letters =
        readDeadLetters(options.getBootstrapServers(), options.getDeadLetterTopic());
    // Parsed as the job parsed them (any event time is fine here: they were accepted once).
    EventParser parser =
        new EventParser(Integer.MAX_VALUE, org.joda.time.Duration.standardDays(36500));
    List<ClickEvent> late = new ArrayList<>();
    for (String letter : letters) {
      ClickEvent event = lateEvent(letter, parser);
      if (event != null) {
        late.add(event);
      }
    }
    IcebergCatalog catalog = IcebergOptions.catalog(options);
    Table events = EventsTable.openOrCreate(catalog, options.getEventsTable());
    TreeSet<LocalDate> days = new TreeSet<>();
    for (ClickEvent e : late) {
      days.add(day(e.timestamp()));
    }
    Set<String> archived = new HashSet<>();
    for (LocalDate d : days) {
      BackfillSessions.DayRange range = BackfillSessions.DayRange.parse(d.toString());
      EventsTable.scan(
          events, range.from(), range.to(), e -> archived.add(EventsTable.position(e)));
    }
    Map<String, ClickEvent> byPosition = new HashMap<>();
    for (ClickEvent e : late) {
      byPosition.putIfAbsent(EventsTable.position(e), e); // the topic may hold a letter twice
    }
    int appended = EventsTable.append(events, byPosition.values(), archived);

    List<String> ranges = runs(days);
    List<String> backfills = new ArrayList<>();
    for (String range : ranges) {
      options.setDays(range);
      long started = System.nanoTime();
      PipelineResult result = BackfillSessions.run(options);
      result.waitUntilFinish();
      backfills.add(
          BackfillSessions.summary(result, options, (System.nanoTime() - started) / 1_000_000));
    }
    options.setDays(null);
    return new Report(
        letters.size(), late.size(), appended, byPosition.size() - appended, ranges, backfills);
  }

  /** The event of a TOO_LATE dead letter with its Kafka position, or null for another reason. */
  static ClickEvent lateEvent(String letterJson, EventParser parser) {
    JsonNode letter;
    try {
      letter = Json.MAPPER.readTree(letterJson);
    } catch (Exception e) {
      return null; // not a dead letter of this job
    }
    if (letter == null || !Reason.TOO_LATE.name().equals(letter.path("reason").asText())) {
      return null;
    }
    String payload = letter.path("payload").asText();
    byte[] bytes =
        "base64".equals(letter.path("payload_encoding").asText())
            ? Base64.getDecoder().decode(payload)
            : payload.getBytes(StandardCharsets.UTF_8);
    EventParser.Outcome outcome = parser.parse(bytes, Instant.now());
    if (outcome.event == null) {
      return null;
    }
    JsonNode source = letter.path("source");
    return outcome.event.toBuilder()
        .setSourceTopic(source.path("topic").isTextual() ? source.path("topic").asText() : null)
        .setSourcePartition(source.path("partition").asInt())
        .setSourceOffset(source.path("offset").asLong())
        .build();
  }

  /** Every record of {@code topic}, from its beginning to its end at the time of the call. */
  static List<String> readDeadLetters(String bootstrapServers, String topic) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
      if (infos == null) {
        return values;
      }
      for (PartitionInfo p : infos) {
        partitions.add(new TopicPartition(topic, p.partition()));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long deadline = System.currentTimeMillis() + 300_000;
      while (!reached(consumer, end)) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to its end in 5 minutes");
        }
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
          if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
            values.add(r.value());
          }
        }
      }
    }
    return values;
  }

  private static boolean reached(
      KafkaConsumer<String, String> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** Consecutive days as {@code first..last} ranges (a single day as itself). */
  static List<String> runs(TreeSet<LocalDate> days) {
    List<String> ranges = new ArrayList<>();
    LocalDate first = null;
    LocalDate last = null;
    for (LocalDate d : days) {
      if (last != null && d.equals(last.plusDays(1))) {
        last = d;
        continue;
      }
      if (first != null) {
        ranges.add(first.equals(last) ? first.toString() : first + ".." + last);
      }
      first = d;
      last = d;
    }
    if (first != null) {
      ranges.add(first.equals(last) ? first.toString() : first + ".." + last);
    }
    return ranges;
  }

  private static LocalDate day(Instant t) {
    return java.time.Instant.ofEpochMilli(t.getMillis()).atOffset(ZoneOffset.UTC).toLocalDate();
  }
}
