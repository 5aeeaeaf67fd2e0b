package dev.sessionize.runners.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.Mutator;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import java.util.Random;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The fuzz test through the whole job: 100 000 records of the seeded mutator (about a tenth of them
 * left valid, the rest broken in twelve ways, giants of 60-70 KB among them) through ParseEvents,
 * DedupEvents, Sessionize and AggregateDashboard on the FlinkRunner (embedded, batch, parallelism
 * 2; the DirectRunner's timer bookkeeping takes minutes for this many). The job must finish, and
 * its counters must account for every record: read = accepted + duplicates + dead letters, each
 * dead letter under a reason.
 */
@RunWith(JUnit4.class)
public class FlinkFuzzAccountingTest {
  private static final long RECORDS = 100_000;

  @Test
  public void aHundredThousandMutatedRecordsAreAllAccountedFor() {
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(
                "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2")
            .create();
    Pipeline p = Pipeline.create(options);
    SessionizeConfig config =
        SessionizeConfig.defaults().toBuilder()
            .setClock(Clock.fixed(Instant.parse("2026-11-26T10:00:00Z")))
            .build();
    p.apply(GenerateSequence.from(0).to(RECORDS))
        .apply(
            MapElements.into(TypeDescriptor.of(RawRecord.class))
                .via(
                    (Long i) -> {
                      // One generator per record: the same index gives the same bytes on any
                      // worker, whatever the order.
                      Random r = new Random(0x5e55L * 1_000_003L + i);
                      return RawRecord.of(
                          Mutator.mutate(r, Mutator.validEvent(r, i.intValue())),
                          "fuzz",
                          i.intValue(),
                          0);
                    }))
        .setCoder(RawRecord.RawRecordCoder.of())
        .apply(SessionizeClickstream.of(config, ParseEvents.create()));
    PipelineResult result = p.run();
    result.waitUntilFinish();

    long read = SessionizeMetrics.read(result, "records_read");
    long accepted = SessionizeMetrics.read(result, "accepted");
    long duplicates = SessionizeMetrics.read(result, "duplicates");
    long dead = 0;
    StringBuilder reasons = new StringBuilder();
    for (Reason reason : Reason.values()) {
      long n = SessionizeMetrics.read(result, "dead_letter_" + reason.name());
      dead += n;
      reasons.append(' ').append(reason.name()).append('=').append(n);
    }
    System.out.printf(
        "FlinkFuzzAccountingTest: read %d = accepted %d + duplicates %d + dead letters %d (%s)%n",
        read, accepted, duplicates, dead, reasons.toString().trim());
    assertEquals(RECORDS, read);
    assertEquals(read, accepted + duplicates + dead);
    assertThat(accepted, greaterThan(RECORDS / 20));
    assertThat(dead, greaterThan(RECORDS / 2));
  }
}
