package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.startsWith;

import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The backfill scenario on the FlinkRunner in batch mode (an embedded local cluster), with the
 * windows implementation of the sessions step: the state implementation is refused there (the batch
 * mode hands it a user's events out of order, which splits sessions).
 */
@RunWith(JUnit4.class)
public class FlinkBackfillIT extends BackfillScenario {
  @Override
  protected List<String> runnerArgs() {
    return List.of(
        "--runner=FlinkRunner",
        "--flinkMaster=[local]",
        "--parallelism=2",
        "--sessionImpl=windows");
  }

  @Override
  protected boolean closesSessionsAtTheGateHorizon() {
    return false;
  }

  @Test
  public void theStateImplementationIsRefusedOnTheFlinkRunnersBatchMode() {
    PipelineOptionsFactory.register(BackfillSessions.Options.class);
    BackfillSessions.Options options =
        PipelineOptionsFactory.fromArgs(
                "--runner=FlinkRunner", "--days=2026-11-20", "--sessionImpl=state")
            .as(BackfillSessions.Options.class);
    assertThat(
        BackfillSessions.validate(options),
        hasItem(startsWith("--sessionImpl=state is not supported by the FlinkRunner's batch")));
  }
}
