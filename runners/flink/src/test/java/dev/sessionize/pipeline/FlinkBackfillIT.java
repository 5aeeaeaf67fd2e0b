package dev.sessionize.pipeline;

import java.util.List;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The backfill scenario on the FlinkRunner in batch mode (an embedded local cluster). */
@RunWith(JUnit4.class)
public class FlinkBackfillIT extends BackfillScenario {
  @Override
  protected List<String> runnerArgs() {
    return List.of("--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2");
  }
}
