package dev.sessionize.transforms;

import dev.sessionize.transforms.model.ClickEvent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.joda.time.Instant;

/** Small builders for test events. */
final class TestEvents {
  /** 2026-11-24T10:00:00Z: every test's time origin. */
  static final Instant T0 = Instant.parse("2026-11-24T10:00:00Z");

  /** Processing time pinned by tests: two days after {@link #T0}. */
  static final Instant NOW = Instant.parse("2026-11-26T10:00:00Z");

  private TestEvents() {}

  static Instant at(int minutes) {
    return T0.plus(Duration.standardMinutes(minutes));
  }

  static Instant atSeconds(long seconds) {
    return T0.plus(Duration.standardSeconds(seconds));
  }

  static ClickEvent view(String user, String eventId, Instant time, String page) {
    return event(user, eventId, ClickEvent.PAGE_VIEW, time, page);
  }

  static ClickEvent event(
      String user, @Nullable String eventId, String type, Instant time, @Nullable String page) {
    return ClickEvent.builder()
        .setUserId(user)
        .setEventId(eventId)
        .setEventType(type)
        .setTimestamp(time)
        .setPageUrl(page)
        .build();
  }

  static ClickEvent purchase(
      String user, String eventId, Instant time, String page, String amount, String currency) {
    return event(user, eventId, ClickEvent.PURCHASE, time, page).toBuilder()
        .setAmount(new BigDecimal(amount))
        .setCurrency(currency)
        .build();
  }

  /** A JSON record as a producer would send it. */
  static byte[] json(String user, String eventId, String type, Instant time, String page) {
    return String.format(
            "{\"user_id\":\"%s\",\"event_id\":\"%s\",\"event_type\":\"%s\","
                + "\"timestamp\":\"%s\",\"page_url\":\"%s\"}",
            user, eventId, type, time, page)
        .getBytes(StandardCharsets.UTF_8);
  }

  static SessionizeConfig config() {
    return SessionizeConfig.defaults().toBuilder().setClock(Clock.fixed(NOW)).build();
  }
}
