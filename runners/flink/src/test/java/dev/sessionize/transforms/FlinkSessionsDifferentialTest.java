package dev.sessionize.transforms;

import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.joda.time.Duration;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link SessionsDifferentialTest} on the FlinkRunner (embedded, streaming, parallelism 2): the
 * same seeded streams through the sessions step in keyed state and through Beam's session windows,
 * every row compared. Flink fires timers and processes elements one at a time in its own way; the
 * two steps must still agree. {@code -Dsessionize.differential.flinkSeeds=N} runs more.
 */
@RunWith(JUnit4.class)
public class FlinkSessionsDifferentialTest {
  private static final int SEEDS = Integer.getInteger("sessionize.differential.flinkSeeds", 50);

  private static PipelineOptions flink() {
    return PipelineOptionsFactory.fromArgs(
            "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2", "--streaming=true")
        .create();
  }

  @Test
  public void sameRowsAsSessionWindowsOnFlink() {
    SessionsDifferentialTest.compare("flink-cap24h", 300_000, SEEDS, TestEvents.config(), flink());
  }

  @Test
  public void sameRowsAsSessionWindowsOnFlinkWithThreeHoursOfAllowedLateness() {
    SessionizeConfig config =
        TestEvents.config().toBuilder().setAllowedLateness(Duration.standardHours(3)).build();
    SessionsDifferentialTest.compare(
        "flink-lateness3h", 400_000, Math.max(1, SEEDS / 2), config, flink());
  }
}
