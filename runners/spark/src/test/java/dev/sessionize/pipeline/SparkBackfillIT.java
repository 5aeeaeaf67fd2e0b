package dev.sessionize.pipeline;

import java.util.List;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The backfill scenario on the SparkRunner in local mode (batch). */
@RunWith(JUnit4.class)
public class SparkBackfillIT extends BackfillScenario {
  @Override
  protected List<String> runnerArgs() {
    return List.of("--runner=SparkRunner", "--sparkMaster=local[2]");
  }
}
