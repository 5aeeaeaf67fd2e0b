package dev.sessionize.pipeline;

import dev.sessionize.pipeline.files.ReadJsonLines;
import dev.sessionize.pipeline.kafka.ReadFromKafka;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.model.RawRecord;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;

/** The job's sources by name: where the raw records come from. */
public final class Sources {
  /** {@code --source}: JSON lines from files (bounded) or a Kafka topic (unbounded). */
  public enum Source {
    FILE,
    KAFKA
  }

  private Sources() {}

  /** The raw records of {@code --source}. */
  public static PTransform<PBegin, PCollection<RawRecord>> records(Settings s) {
    SessionizationPipeline.Options o = s.options();
    switch (s.source()) {
      case KAFKA:
        return ReadFromKafka.from(o.getBootstrapServers(), o.getInputTopic())
            .withConsumerGroup(o.getGroupId(), o.getStartingOffsets())
            .withEventTime(
                new EventParser(o.getMaxRecordBytes(), s.maxFutureSkew()),
                s.config().maxOutOfOrderness(),
                s.idleTimeout())
            .withClientProperties(s.kafkaProperties());
      case FILE:
      default:
        return ReadJsonLines.from(o.getInput());
    }
  }
}
