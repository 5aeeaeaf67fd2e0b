package dev.sessionize.pipeline.kafka;

import static dev.sessionize.pipeline.options.OptionChecks.ONE_DAY;

import dev.sessionize.pipeline.options.OptionChecks;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.joda.time.Duration;

/** Where the click events come from in Kafka, and the Kafka client settings of the job. */
public interface KafkaOptions extends PipelineOptions {
  /** The topic of the click events unless {@code --inputTopic} says otherwise. */
  String INPUT_TOPIC = "clickstream_events";

  /** The topic of the dead letters unless {@code --deadLetterTopic} says otherwise. */
  String DEAD_LETTER_TOPIC = "clickstream_events_dlq";

  /** Where a new consumer group starts reading. */
  enum StartingOffsets {
    EARLIEST,
    LATEST
  }

  @Description("Kafka bootstrap servers.")
  @Default.String("localhost:9092")
  String getBootstrapServers();

  void setBootstrapServers(String value);

  @Description("Kafka topic of the click events.")
  @Default.String(INPUT_TOPIC)
  String getInputTopic();

  void setInputTopic(String value);

  @Description("Kafka consumer group of the job.")
  @Default.String("sessionize")
  String getGroupId();

  void setGroupId(String value);

  @Description("Where a new consumer group starts: earliest or latest.")
  @Default.String("earliest")
  String getStartingOffsets();

  void setStartingOffsets(String value);

  @Description("A partition without records for this long does not hold the watermark back.")
  @Default.String("1m")
  String getIdleTimeout();

  void setIdleTimeout(String value);

  @Description(
      "Java properties file of Kafka client settings for every consumer, producer and admin"
          + " client of the job: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*;"
          + " a value ${env:NAME} is read from the environment. Secrets go here or in the"
          + " environment, never on the command line.")
  @Default.String("")
  String getKafkaPropertiesFile();

  void setKafkaPropertiesFile(String value);

  /** One line per bad Kafka option but the topics and servers ({@link #problems}). */
  static List<String> validate(KafkaOptions o) {
    List<String> problems = new ArrayList<>();
    OptionChecks.choice(
        problems, "startingOffsets", o.getStartingOffsets(), StartingOffsets.class, "not valid");
    if (o.getGroupId() == null || o.getGroupId().isBlank()) {
      problems.add("--groupId is empty: give the Kafka consumer group of the job");
    }
    OptionChecks.duration(problems, "idleTimeout", o.getIdleTimeout(), Duration.millis(1), ONE_DAY);
    return problems;
  }

  /**
   * One line per bad Kafka option: {@code --bootstrapServers} and each topic option, given as
   * {option name, value} pairs.
   */
  static List<String> problems(String bootstrapServers, String[]... topics) {
    List<String> problems = new ArrayList<>();
    for (String[] t : topics) {
      if (t[1] == null || !t[1].matches("[A-Za-z0-9._-]{1,249}")) {
        problems.add(
            "--"
                + t[0]
                + "="
                + t[1]
                + " is not a valid Kafka topic name: use 1-249 of [A-Za-z0-9._-]");
      }
    }
    if (bootstrapServers == null
        || !bootstrapServers.matches("[^,\\s]+:\\d{1,5}(,[^,\\s]+:\\d{1,5})*")) {
      problems.add(
          "--bootstrapServers=" + bootstrapServers + " is not valid: use host:port[,host:port...]");
    }
    return problems;
  }
}
