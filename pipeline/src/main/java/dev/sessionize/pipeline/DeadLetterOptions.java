package dev.sessionize.pipeline;

import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.pipeline.options.OptionChecks;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.checkerframework.checker.nullness.qual.Nullable;

/** Where the dead letters go: a Kafka topic, or JSON lines next to the other file outputs. */
public interface DeadLetterOptions extends PipelineOptions {
  @Description(
      "Where dead letters go: 'kafka' (--deadLetterTopic on --bootstrapServers) or 'file' (JSON"
          + " lines in --output). Unset: kafka when --source=kafka, else file.")
  @Nullable String getDeadLetterSink();

  void setDeadLetterSink(@Nullable String value);

  @Description("Kafka topic of the dead letters.")
  @Default.String(KafkaOptions.DEAD_LETTER_TOPIC)
  String getDeadLetterTopic();

  void setDeadLetterTopic(String value);

  @Description(
      "Write dead letters in Kafka transactions committed with the runner's checkpoints, so a"
          + " restart, also from an older checkpoint or savepoint, neither repeats nor loses one"
          + " (readers use isolation.level=read_committed). Needs a runner with checkpoints,"
          + " e.g. the FlinkRunner with --checkpointingInterval.")
  @Default.Boolean(false)
  boolean getDeadLetterExactlyOnce();

  void setDeadLetterExactlyOnce(boolean value);

  /** One line for a --deadLetterSink that is neither kafka nor file. */
  static List<String> validate(DeadLetterOptions o) {
    List<String> problems = new ArrayList<>();
    if (o.getDeadLetterSink() != null && !o.getDeadLetterSink().isEmpty()) {
      OptionChecks.choice(
          problems,
          "deadLetterSink",
          o.getDeadLetterSink(),
          Sinks.DeadLetterSink.class,
          "not supported");
    }
    return problems;
  }
}
