package dev.sessionize.pipeline.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.options.OptionsParser;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.iceberg.Table;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * Late data into the sessions: a {@link BackfillSessions} backfill <b>with the TOO_LATE records
 * included</b> of the event days those records fall on. The records are in the raw archive already
 * (the job archives every record it reads); the dead-letter topic only says which days to
 * recompute: it is read from its beginning to its current end, and the TOO_LATE letters give their
 * event time and source position. Each run of consecutive days is then one backfill. Running it
 * again recomputes the same days the same way: it is safe to repeat.
 *
 * <pre>
 * ./sessionize reinject --bootstrapServers=localhost:9092 --warehouse=warehouse
 * </pre>
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
    @Default.String(KafkaOptions.DEAD_LETTER_TOPIC)
    String getDeadLetterTopic();

    void setDeadLetterTopic(String value);
  }

  /** What one re-injection did. */
  public record Report(
      int deadLetters,
      int tooLate,
      int archived,
      List<String> notArchived,
      List<String> dayRanges,
      List<String> backfills) {
    @Override
    public String toString() {
      StringBuilder out = new StringBuilder();
      out.append(
          String.format(
              Locale.ROOT,
              "sessionize reinject: %d dead letters read, %d TOO_LATE, %d of them in the archive;"
                  + " backfill with the TOO_LATE records of %s",
              deadLetters,
              tooLate,
              archived,
              dayRanges.isEmpty() ? "no days" : String.join(", ", dayRanges)));
      if (!notArchived.isEmpty()) {
        out.append(System.lineSeparator())
            .append(
                String.format(
                    Locale.ROOT,
                    "sessionize reinject: %d TOO_LATE records are not in the archive (was"
                        + " --archiveEvents off when they were read?) and cannot be counted: %s",
                    notArchived.size(),
                    String.join(", ", notArchived.subList(0, Math.min(5, notArchived.size())))
                        + (notArchived.size() > 5 ? ", ..." : "")));
      }
      for (String b : backfills) {
        out.append(System.lineSeparator()).append(b);
      }
      return out.toString();
    }
  }

  public static void main(String[] args) {
    Options options = OptionsParser.parseOrExit("sessionize reinject", args, Options.class);
    try {
      System.out.println(run(options));
    } catch (InvalidOptionsException e) {
      for (String problem : e.problems()) {
        System.err.println("sessionize reinject: " + problem);
      }
      System.exit(2);
    } catch (BackfillSessions.BackfillException e) {
      System.err.println("sessionize reinject: " + e.getMessage());
      System.exit(1);
    }
  }

  /** One line per bad option; empty when all are fine. */
  public static List<String> validate(Options o) {
    List<String> problems = BackfillSessions.rulesProblems(o);
    if (o.getDays() != null) {
      problems.add("--days is not an option of reinject: the days come from the dead letters");
    }
    if (o.getReadDays() != null && !o.getReadDays().isBlank()) {
      problems.add("--readDays is not an option of reinject: each backfill finds its read days");
    }
    problems.addAll(
        KafkaOptions.problems(
            o.getBootstrapServers(), new String[] {"deadLetterTopic", o.getDeadLetterTopic()}));
    return problems;
  }

  /** A TOO_LATE dead letter: the record's source position, event time and rejection time. */
  record Late(String position, Instant eventTime, Instant rejectedAt) {}

  /** Finds the days and backfills them; blocks until the backfills are done. */
  public static Report run(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    List<String> letters =
        readDeadLetters(options.getBootstrapServers(), options.getDeadLetterTopic());
    Map<String, Late> late = new TreeMap<>(); // by position: the topic may hold a letter twice
    for (String letter : letters) {
      Late l = lateLetter(letter);
      if (l != null) {
        late.putIfAbsent(l.position(), l);
      }
    }
    // The job read each record shortly before rejecting it: look for it on that day and the one
    // before (only its position columns are read).
    Table events =
        EventsTable.openOrCreate(IcebergOptions.catalog(options), options.getEventsTable());
    TreeSet<LocalDate> rejectionDays = new TreeSet<>();
    for (Late l : late.values()) {
      LocalDate day = EventsTable.day(l.rejectedAt());
      rejectionDays.add(day.minusDays(1));
      rejectionDays.add(day);
    }
    Set<String> archived = new HashSet<>();
    for (String range : runs(rejectionDays)) {
      BackfillSessions.DayRange r = BackfillSessions.DayRange.parse(range);
      archived.addAll(EventsTable.positions(events, r.from(), r.to()));
    }
    TreeSet<LocalDate> days = new TreeSet<>();
    List<String> notArchived = new ArrayList<>();
    for (Late l : late.values()) {
      if (archived.contains(l.position())) {
        days.add(EventsTable.day(l.eventTime()));
      } else {
        notArchived.add(l.position());
      }
    }

    List<String> ranges = runs(days);
    List<String> backfills = new ArrayList<>();
    options.setIncludeTooLate(true);
    for (String range : ranges) {
      options.setDays(range);
      backfills.add(BackfillSessions.summary(BackfillSessions.backfill(options), options));
    }
    options.setDays(null);
    return new Report(
        letters.size(),
        late.size(),
        late.size() - notArchived.size(),
        notArchived,
        ranges,
        backfills);
  }

  /** A TOO_LATE dead letter's position and times, or null for another letter. */
  static @Nullable Late lateLetter(String letterJson) {
    JsonNode letter;
    try {
      letter = Json.MAPPER.readTree(letterJson);
    } catch (Exception e) {
      return null; // not a dead letter of this job
    }
    if (letter == null
        || !Reason.TOO_LATE.name().equals(letter.path("reason").asText())
        || !letter.path("event_time").isTextual()
        || !letter.path("rejected_at").isTextual()) {
      return null;
    }
    JsonNode source = letter.path("source");
    String topic = source.path("topic").isTextual() ? source.path("topic").asText() : null;
    try {
      return new Late(
          topic + "/" + source.path("partition").asInt() + "/" + source.path("offset").asLong(),
          Instant.parse(letter.path("event_time").asText()),
          Instant.parse(letter.path("rejected_at").asText()));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** Every record of {@code topic}, from its beginning to its end at the time of the call. */
  public static List<String> readDeadLetters(String bootstrapServers, String topic) {
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
  public static List<String> runs(TreeSet<LocalDate> days) {
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
}
