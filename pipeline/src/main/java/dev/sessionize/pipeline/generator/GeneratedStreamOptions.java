package dev.sessionize.pipeline.generator;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The generated stream's size and pace, as {@code sessionize generate} and the demo both take them.
 * {@code --events} and {@code --rate} have no default here: each command applies its own when they
 * are not given ({@link ClickstreamGenerator#orElse}).
 */
public interface GeneratedStreamOptions extends PipelineOptions {
  @Description(
      "Number of distinct events (duplicates, malformed and late records come on top); default"
          + " 10000 for generate, 20000 for the demo.")
  @Nullable Integer getEvents();

  void setEvents(@Nullable Integer value);

  @Description("Number of users.")
  @Default.Integer(500)
  int getUsers();

  void setUsers(int value);

  @Description("Seed of the random choices: the same seed gives the same stream.")
  @Default.Long(42)
  long getSeed();

  void setSeed(long value);

  @Description("Records per second sent to Kafka; default 1000 for generate, 4000 for the demo.")
  @Nullable Integer getRate();

  void setRate(@Nullable Integer value);
}
