package dev.sessionize.runners.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;

import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The production preset: defaults fill in what the user left out, and bad values stop it. */
@RunWith(JUnit4.class)
public class FlinkProductionTest {
  @Test
  public void theUsersOptionsWinOverThePreset() {
    List<String> args =
        List.of(FlinkProduction.withPreset(new String[] {"--parallelism=4", "--streaming"}));
    assertThat(args, hasItem("--parallelism=4"));
    assertThat(args, not(hasItem("--parallelism=30")));
    assertThat(args, not(hasItem("--streaming=true")));
    assertThat(args, hasItem("--checkpointingInterval=60000"));
    assertThat(args, hasItem("--stateBackend=rocksdb"));
    assertThat(args, hasItem("--retainExternalizedCheckpointsOnCancellation=true"));
    assertEquals(List.of(), FlinkProduction.validate(args.toArray(String[]::new)));
  }

  @Test
  public void eachBadFlinkOptionGetsOneLine() {
    String[][] cases = {
      {"--parallelism=0", "--parallelism=0 is out of range: allowed values are 1 and more"},
      {"--checkpointingInterval=soon", "--checkpointingInterval=soon is not valid"},
      {"--checkpointingMode=MAYBE", "--checkpointingMode=MAYBE is not supported"},
      {"--stateBackend=memory", "--stateBackend=memory is not supported: allowed values are"},
      {"--stateBackendStoragePath=checkpoints", "--stateBackendStoragePath=checkpoints is not"},
      {"--checkpointingInterval=0", "--deadLetterExactlyOnce=true needs checkpoints"},
    };
    for (String[] c : cases) {
      List<String> problems =
          FlinkProduction.validate(FlinkProduction.withPreset(new String[] {c[0]}));
      assertThat(c[0], problems, hasSize(1));
      assertThat(c[0], problems.get(0), startsWith(c[1]));
    }
  }
}
