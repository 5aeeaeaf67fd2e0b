package dev.sessionize.pipeline;

import java.util.List;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The backfill scenario on the DirectRunner. */
@RunWith(JUnit4.class)
public class DirectBackfillTest extends BackfillScenario {
  @Override
  protected List<String> runnerArgs() {
    return List.of("--runner=DirectRunner");
  }
}
