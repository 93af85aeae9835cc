package io.flightdeck.gateway.projection;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.util.UUID;

/** An event a projection could not apply after all its attempts; the projection moved on without it. */
public record DeadLetter(long id, String projection, long position, UUID eventId, String error, int attempts,
                         Instant failedAt) {

  static DeadLetter from(Row row) {
    return new DeadLetter(row.getLong("id"), row.getString("projection"), row.getLong("position"),
        row.getUUID("event_id"), row.getString("error"), row.getInteger("attempts"),
        row.getOffsetDateTime("failed_at").toInstant());
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id)
        .put("projection", projection)
        .put("position", position)
        .put("eventId", eventId.toString())
        .put("error", error)
        .put("attempts", attempts)
        .put("failedAt", failedAt.toString());
  }
}
