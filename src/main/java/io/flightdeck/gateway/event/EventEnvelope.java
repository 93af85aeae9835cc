package io.flightdeck.gateway.event;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.UUID;

/** A stored event as every reader sees it: the contract's envelope. */
public record EventEnvelope(UUID id, long position, String streamId, long streamVersion, String type,
                            int schemaVersion, JsonObject data, JsonObject metadata, Instant occurredAt,
                            Instant recordedAt) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id.toString())
        .put("position", position)
        .put("streamId", streamId)
        .put("streamVersion", streamVersion)
        .put("type", type)
        .put("schemaVersion", schemaVersion)
        .put("data", data)
        .put("metadata", metadata)
        .put("occurredAt", occurredAt.toString())
        .put("recordedAt", recordedAt.toString());
  }
}
