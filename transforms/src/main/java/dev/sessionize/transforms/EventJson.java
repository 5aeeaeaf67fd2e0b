package dev.sessionize.transforms;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.sessionize.transforms.model.ClickEvent;
import dev.sessionize.transforms.model.Json;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import org.checkerframework.checker.nullness.qual.Nullable;

/** Writes a {@link ClickEvent} back in the input format (canonical field order, ISO time). */
public final class EventJson {
  private EventJson() {}

  public static String toJson(ClickEvent e) {
    StringWriter writer = new StringWriter();
    try (JsonGenerator g = Json.FACTORY.createGenerator(writer)) {
      g.writeStartObject();
      g.writeStringField("user_id", e.userId());
      optional(g, "event_id", e.eventId());
      g.writeStringField("event_type", e.eventType());
      g.writeStringField("timestamp", Json.formatInstant(e.timestamp()));
      optional(g, "session_id", e.clientSessionId());
      optional(g, "page_url", e.pageUrl());
      optional(g, "referrer", e.referrer());
      if (e.deviceType() != null) {
        g.writeObjectFieldStart("device");
        g.writeStringField("type", e.deviceType());
        g.writeEndObject();
      }
      if (e.country() != null) {
        g.writeObjectFieldStart("geo");
        g.writeStringField("country", e.country());
        g.writeEndObject();
      }
      if (e.amount() != null || !ClickEvent.DEFAULT_CURRENCY.equals(e.currency())) {
        g.writeObjectFieldStart("metadata");
        if (e.amount() != null) {
          g.writeStringField("amount", e.amount().toPlainString());
        }
        g.writeStringField("currency", e.currency());
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return writer.toString();
  }

  private static void optional(JsonGenerator g, String field, @Nullable String value)
      throws IOException {
    if (value != null) {
      g.writeStringField(field, value);
    }
  }
}
