package dev.sessionize.pipeline;

import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link EndToEndIT} on the FlinkRunner in local mode (an embedded Flink mini-cluster, streaming,
 * parallelism 2): the same generated stream through Kafka to Iceberg, Redis and the dead-letter
 * topic, against the same independent expectations. The local FlinkRunner blocks until the job
 * ends, so the job runs in a daemon thread and ends with the test JVM.
 */
@RunWith(JUnit4.class)
public class FlinkEndToEndIT extends EndToEndIT {
  @Override
  protected List<String> runnerArgs() {
    return List.of(
        "--runner=FlinkRunner",
        "--flinkMaster=[local]",
        "--parallelism=2",
        "--experiments=use_deprecated_read");
  }

  @Override
  protected PipelineResult start(SessionizationPipeline.Options options) {
    Thread job =
        new Thread(
            () -> SessionizationPipeline.run(options).waitUntilFinish(), "flink-end-to-end-job");
    job.setDaemon(true);
    job.start();
    return null;
  }
}
