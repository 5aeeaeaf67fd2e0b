package dev.sessionize.bench;

import dev.sessionize.transforms.SessionAccumulator;
import dev.sessionize.transforms.SessionCombineFn;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.model.ClickEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.joda.time.Instant;

/**
 * Encoded size of the session accumulator (what the runner keeps per open session): a typical
 * session (10 events over 5 distinct pages) and a long one (500 events over 200 pages), built with
 * the pipeline's own {@link SessionCombineFn} and encoded with its accumulator coder.
 */
final class StateSize {
  record Row(String name, int events, int pages, int bytes) {}

  private StateSize() {}

  static List<Row> measure() {
    List<Row> rows = new ArrayList<>();
    rows.add(row("typical", 10, 5));
    rows.add(row("long", 500, 200));
    return rows;
  }

  static final SessionCombineFn FN =
      new SessionCombineFn(SessionizeConfig.defaults().maxPagesPerSession());

  static Coder<SessionAccumulator> coder() {
    try {
      return FN.getAccumulatorCoder(CoderRegistry.createDefault(), ClickEvent.ClickEventCoder.of());
    } catch (CannotProvideCoderException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A session of {@code events} events cycling over {@code pages} distinct pages. */
  static List<ClickEvent> session(String user, int events, int pages) {
    List<ClickEvent> list = new ArrayList<>();
    long t = Instant.parse("2026-11-24T10:00:00Z").getMillis();
    for (int i = 0; i < events; i++) {
      boolean purchase = i == events - 1 && events > 3;
      list.add(
          ClickEvent.builder()
              .setUserId(user)
              .setEventId(user + "-" + i)
              .setEventType(purchase ? "purchase" : i % 3 == 2 ? "click" : "page_view")
              .setTimestamp(new Instant(t + i * 20_000L))
              .setClientSessionId("7c9e6679-7425-40de-944b-e07fc1f90ae7")
              .setPageUrl("https://shop.example.com/products/item-" + (i % pages))
              .setReferrer("https://www.google.com/")
              .setDeviceType("mobile")
              .setCountry("DE")
              .setAmount(purchase ? new BigDecimal("42.50") : null)
              .setCurrency("EUR")
              .build());
    }
    return list;
  }

  static SessionAccumulator accumulate(List<ClickEvent> events) {
    SessionAccumulator acc = FN.createAccumulator();
    for (ClickEvent e : events) {
      acc = FN.addInput(acc, e);
    }
    return acc;
  }

  static byte[] encode(Coder<SessionAccumulator> coder, SessionAccumulator acc) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      coder.encode(acc, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static Row row(String name, int events, int pages) {
    byte[] bytes = encode(coder(), accumulate(session("user-00042", events, pages)));
    return new Row(name, events, pages, bytes.length);
  }

  public static void main(String[] args) {
    for (Row r : measure()) {
      System.out.println(r);
    }
  }
}
