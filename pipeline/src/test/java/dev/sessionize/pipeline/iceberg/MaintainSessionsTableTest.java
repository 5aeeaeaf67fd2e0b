package dev.sessionize.pipeline.iceberg;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;

import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The maintenance command's options and how it compares file locations. */
@RunWith(JUnit4.class)
public class MaintainSessionsTableTest {
  private static MaintainSessionsTable.Options options(String... args) {
    PipelineOptionsFactory.register(MaintainSessionsTable.Options.class);
    return PipelineOptionsFactory.fromArgs(args).as(MaintainSessionsTable.Options.class);
  }

  @Test
  public void defaultsAreValid() {
    assertThat(MaintainSessionsTable.validate(options()), empty());
  }

  @Test
  public void eachBadOptionGetsOneLineNamingIt() {
    assertThat(
        MaintainSessionsTable.validate(options("--orphanOlderThan=10m")),
        contains("--orphanOlderThan=10m is out of range: allowed values are 1h to 3650d"));
    assertThat(
        MaintainSessionsTable.validate(options("--orphanOlderThan=soon")),
        contains(startsWith("--orphanOlderThan=soon is not valid: 'soon' is not a duration")));
    assertThat(
        MaintainSessionsTable.validate(options("--retainLast=0")),
        contains("--retainLast=0 is out of range: allowed values are 1 and more"));
    assertThat(
        MaintainSessionsTable.validate(options("--expireOlderThan=-1h")),
        contains("--expireOlderThan=-1h is negative"));
  }

  @Test
  public void oneFileWhateverTheSchemeSpelling() {
    assertEquals("/w/db/t/data/a.parquet", MaintainSessionsTable.key("/w/db/t/data/a.parquet"));
    assertEquals(
        "/w/db/t/data/a.parquet", MaintainSessionsTable.key("file:/w/db/t/data/a.parquet"));
    assertEquals(
        "/w/db/t/data/a.parquet", MaintainSessionsTable.key("file:///w/db/t/data/a.parquet"));
    assertEquals(
        "/w/db/t/data/a.parquet",
        MaintainSessionsTable.key("hdfs://nn:8020/w/db/t/data/a.parquet"));
    assertEquals("/w/db/t", MaintainSessionsTable.key("/w/db/t/"));
  }
}
