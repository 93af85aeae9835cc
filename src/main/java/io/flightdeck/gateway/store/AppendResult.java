package io.flightdeck.gateway.store;

import io.vertx.core.json.JsonObject;
import java.util.UUID;

/** What became of one event of an append: its place in the store, and whether this append stored it. */
public record AppendResult(UUID id, long position, long streamVersion, Status status) {

  public enum Status {
    APPENDED("appended"), DUPLICATE("duplicate");

    private final String wire;

    Status(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id.toString())
        .put("position", position)
        .put("streamVersion", streamVersion)
        .put("status", status.wire());
  }
}
