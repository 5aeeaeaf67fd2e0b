package dev.sessionize.pipeline;

import java.util.List;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

/**
 * The backfill scenario on the FlinkRunner in batch mode (an embedded local cluster), with each
 * implementation of the sessions step. The batch mode hands a stateful step a user's events in no
 * particular order: the state implementation takes them in their partitions' order when the input
 * ends, so it writes the stream's sessions here too.
 */
@RunWith(Parameterized.class)
public class FlinkBackfillIT extends BackfillScenario {
  @Parameters(name = "{0}")
  public static List<String> sessionImpls() {
    return List.of("state", "windows");
  }

  @Parameter public String sessionImpl;

  @Override
  protected List<String> runnerArgs() {
    return List.of(
        "--runner=FlinkRunner",
        "--flinkMaster=[local]",
        "--parallelism=2",
        "--sessionImpl=" + sessionImpl);
  }

  @Override
  protected boolean closesSessionsAtTheGateHorizon() {
    return "state".equals(sessionImpl);
  }
}
