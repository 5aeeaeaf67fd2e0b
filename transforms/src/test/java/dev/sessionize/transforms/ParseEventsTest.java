package dev.sessionize.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Json;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** ParseEvents and EventParser: the input contract, every reason, the malformed corpus. */
@RunWith(JUnit4.class)
public class ParseEventsTest {
  private static final EventParser PARSER =
      new EventParser(ParseEvents.DEFAULT_MAX_RECORD_BYTES, Duration.standardMinutes(5));

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static EventParser.Outcome parse(String json) {
    return PARSER.parse(json.getBytes(StandardCharsets.UTF_8), TestEvents.NOW);
  }

  @Test
  public void everyCaseOfTheMalformedCorpusGetsItsExpectedOutcome() throws IOException {
    List<TestData.Case> corpus = TestData.malformedCorpus();
    List<String> wrong = new ArrayList<>();
    Set<String> kinds = new HashSet<>();
    StringBuilder table =
        new StringBuilder(
            "| case | what it is | bytes | expected | observed | detail |\n"
                + "|---|---|---:|---|---|---|\n");
    for (TestData.Case c : corpus) {
      EventParser.Outcome outcome = PARSER.parse(c.bytes, TestEvents.NOW);
      // Exactly one of the two: an event, or a reason with a one-line detail.
      assertThat(c.name, outcome.event == null, is(outcome.reason != null));
      String actual = outcome.isValid() ? "VALID" : outcome.reason.name();
      if (!actual.equals(c.expected)) {
        wrong.add(c.name + ": expected " + c.expected + ", got " + outcome);
      }
      if (!outcome.isValid()) {
        kinds.add(c.name);
        assertThat(c.name, outcome.detail.isBlank(), is(false));
        assertThat(c.name, outcome.detail, not(containsString("\n")));
      }
      table
          .append("| ")
          .append(c.name)
          .append(" | ")
          .append(cell(c.description))
          .append(" | ")
          .append(c.bytes.length)
          .append(" | ")
          .append(c.expected)
          .append(" | ")
          .append(actual)
          .append(" | ")
          .append(outcome.isValid() ? "" : cell(outcome.detail))
          .append(" |\n");
    }
    assertEquals("cases with the wrong outcome", List.of(), wrong);
    assertThat("distinct kinds of bad record", kinds.size(), greaterThanOrEqualTo(50));
    TestData.checkOutcomeTable(table.toString());
  }

  /** A markdown table cell: pipes escaped, control characters made visible. */
  private static String cell(String text) {
    StringBuilder b = new StringBuilder();
    for (char ch : text.toCharArray()) {
      if (ch == '|') {
        b.append("\\|");
      } else if (Character.isISOControl(ch)) {
        b.append(String.format("\\u%04x", (int) ch));
      } else {
        b.append(ch);
      }
    }
    return b.toString();
  }

  @Test
  public void bothTimestampFormsAndExactMoney() {
    EventParser.Outcome iso =
        parse(
            "{\"user_id\":\"u1\",\"event_type\":\"purchase\",\"timestamp\":\"2026-11-24T11:30:00.123+01:00\","
                + "\"metadata\":{\"amount\":\"19.9\",\"currency\":\"eur\"},\"device\":{\"type\":\"mobile\"},"
                + "\"geo\":{\"country\":\"DE\"},\"session_id\":\"c-1\",\"referrer\":\"https://x\"}");
    ClickEvent e = iso.event;
    assertNotNull(iso.toString(), e);
    assertEquals(Instant.parse("2026-11-24T10:30:00.123Z"), e.timestamp());
    assertEquals(new BigDecimal("19.90"), e.amount());
    assertEquals("EUR", e.currency());
    assertEquals("mobile", e.deviceType());
    assertEquals("DE", e.country());
    assertEquals("c-1", e.clientSessionId());
    assertEquals("https://x", e.referrer());
    assertThat(e.eventId(), nullValue());

    EventParser.Outcome millis =
        parse(
            "{\"user_id\":\"u1\",\"event_id\":7,\"event_type\":\"click\",\"timestamp\":1795516200123,"
                + "\"metadata\":{\"amount\":0.1}}");
    assertNotNull(millis.toString(), millis.event);
    assertEquals(Instant.parse("2026-11-24T10:30:00.123Z"), millis.event.timestamp());
    assertEquals("7", millis.event.eventId());
    assertEquals(new BigDecimal("0.10"), millis.event.amount());
    assertEquals("USD", millis.event.currency());
  }

  @Test
  public void validationOrderIsOversizeMalformedMissingInvalidFuture() {
    // Missing user_id and an invalid timestamp: MISSING_FIELD wins.
    assertEquals(
        Reason.MISSING_FIELD, parse("{\"event_type\":\"click\",\"timestamp\":\"soon\"}").reason);
    // Invalid amount and a future timestamp: INVALID_FIELD wins.
    assertEquals(
        Reason.INVALID_FIELD,
        parse(
                "{\"user_id\":\"u\",\"event_type\":\"purchase\",\"timestamp\":\"2999-01-01T00:00:00Z\","
                    + "\"metadata\":{\"amount\":-5}}")
            .reason);
    // Five minutes ahead is fine, five minutes and a millisecond is not.
    Instant edge = TestEvents.NOW.plus(Duration.standardMinutes(5));
    assertThat(
        parse("{\"user_id\":\"u\",\"event_type\":\"click\",\"timestamp\":" + edge.getMillis() + "}")
            .isValid(),
        is(true));
    assertEquals(
        Reason.FUTURE_TIMESTAMP,
        parse(
                "{\"user_id\":\"u\",\"event_type\":\"click\",\"timestamp\":"
                    + (edge.getMillis() + 1)
                    + "}")
            .reason);
    // Over the size limit, even though it is not JSON at all.
    byte[] big = new byte[ParseEvents.DEFAULT_MAX_RECORD_BYTES + 1];
    assertEquals(Reason.OVERSIZE, PARSER.parse(big, TestEvents.NOW).reason);
  }

  @Test
  public void rejectionsKeepUserAndEventTimeWhenKnown() {
    EventParser.Outcome future =
        parse(
            "{\"user_id\":\"u9\",\"event_type\":\"click\",\"timestamp\":\"2999-01-01T00:00:00Z\"}");
    assertEquals("u9", future.userId);
    assertEquals(Instant.parse("2999-01-01T00:00:00Z"), future.eventTime);
    assertThat(future.detail, containsString("ahead of processing time"));
  }

  @Test
  public void pipelineRoutesTheCorpusWithPayloadSourceAndCounters() throws Exception {
    List<TestData.Case> corpus = TestData.malformedCorpus();
    List<RawRecord> records = new ArrayList<>();
    TreeMap<Long, String> expectedByOffset = new TreeMap<>();
    long offset = 0;
    for (TestData.Case c : corpus) {
      records.add(RawRecord.of(c.bytes, "clickstream_events", 3, offset));
      expectedByOffset.put(offset, c.expected);
      offset++;
    }
    PCollectionTuple out =
        p.apply(Create.of(records).withCoder(RawRecord.RawRecordCoder.of()))
            .apply(ParseEvents.create().withClock(Clock.fixed(TestEvents.NOW)));

    List<String> expectedDead = new ArrayList<>();
    List<String> expectedValid = new ArrayList<>();
    expectedByOffset.forEach(
        (o, reason) -> {
          if (reason.equals("VALID")) {
            expectedValid.add("3/" + o);
          } else {
            expectedDead.add("3/" + o + " " + reason);
          }
        });
    PCollection<String> dead =
        out.get(ParseEvents.DEAD_LETTER)
            .apply(
                "DescribeDead",
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (DeadLetter d) ->
                            d.sourcePartition() + "/" + d.sourceOffset() + " " + d.reason()));
    PCollection<String> valid =
        out.get(ParseEvents.VALID)
            .apply(
                "DescribeValid",
                MapElements.into(TypeDescriptors.strings())
                    .via((ClickEvent e) -> e.sourcePartition() + "/" + e.sourceOffset()));
    PAssert.that(dead).containsInAnyOrder(expectedDead);
    PAssert.that(valid).containsInAnyOrder(expectedValid);
    // Each dead letter carries the original bytes, byte for byte.
    List<byte[]> originals = new ArrayList<>();
    for (TestData.Case c : corpus) {
      originals.add(c.bytes);
    }
    PAssert.that(out.get(ParseEvents.DEAD_LETTER))
        .satisfies(
            letters -> {
              for (DeadLetter d : letters) {
                byte[] original = originals.get((int) d.sourceOffset());
                if (d.reason() == Reason.OVERSIZE) {
                  // The whole record, whatever its size; the detail gives the size.
                  assertThat(d.detail(), containsString("record is " + original.length + " bytes"));
                }
                assertThat(d.payload(), equalTo(original));
                assertEquals("clickstream_events", d.sourceTopic());
                assertEquals(TestEvents.NOW, d.rejectedAt());
              }
              return null;
            });

    PipelineResult result = p.run();
    result.waitUntilFinish();
    assertEquals(corpus.size(), SessionizeMetrics.read(result, "records_read"));
    assertEquals(expectedValid.size(), SessionizeMetrics.read(result, "valid"));
    for (Reason reason : Reason.values()) {
      long expected = expectedByOffset.values().stream().filter(reason.name()::equals).count();
      assertEquals(
          reason.name(), expected, SessionizeMetrics.read(result, "dead_letter_" + reason.name()));
    }
  }

  @Test
  public void deadLetterJsonHasTheSpecFieldsAndBase64ForInvalidUtf8() throws Exception {
    DeadLetter letter =
        DeadLetter.builder()
            .setReason(Reason.MALFORMED_JSON)
            .setDetail("record is not valid UTF-8")
            .setPayload(new byte[] {'{', (byte) 0xff, '}'})
            .setSourceTopic("clickstream_events")
            .setSourcePartition(2)
            .setSourceOffset(41)
            .setRejectedAt(TestEvents.NOW)
            .build();
    JsonNode json = Json.MAPPER.readTree(letter.toJson());
    assertEquals("MALFORMED_JSON", json.get("reason").asText());
    assertEquals("base64", json.get("payload_encoding").asText());
    assertThat(
        Base64.getDecoder().decode(json.get("payload").asText()),
        equalTo(new byte[] {'{', (byte) 0xff, '}'}));
    assertEquals("clickstream_events", json.at("/source/topic").asText());
    assertEquals(2, json.at("/source/partition").asInt());
    assertEquals(41, json.at("/source/offset").asLong());
    assertThat(json.get("event_time").isNull(), is(true));
    assertEquals("2026-11-26T10:00:00.000Z", json.get("rejected_at").asText());

    DeadLetter text =
        letter.toBuilder().setPayload("{\"user_id\":1}".getBytes(StandardCharsets.UTF_8)).build();
    JsonNode textJson = Json.MAPPER.readTree(text.toJson());
    assertEquals("utf8", textJson.get("payload_encoding").asText());
    assertEquals("{\"user_id\":1}", textJson.get("payload").asText());
    assertThat(textJson.get("payload").asText(), not(containsString("base64")));
  }
}
