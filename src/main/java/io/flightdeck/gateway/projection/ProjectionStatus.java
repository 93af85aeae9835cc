package io.flightdeck.gateway.projection;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * What an operator sees of a projection. {@code state} is {@code stopped} when no process runs it, else
 * {@code failing} while an event keeps failing, {@code rebuilding} until a rebuild reaches the head it started
 * from, else {@code running}. {@code owner} is the process that runs it ({@code host:pid}), null when stopped.
 */
public record ProjectionStatus(String name, String state, long checkpoint, long head, long lagEvents,
                               double lagSeconds, long deadLetters, String owner, String lastError,
                               Instant failingSince, Long rebuildTarget, Instant rebuildStarted) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("state", state)
        .put("checkpoint", checkpoint)
        .put("head", head)
        .put("lagEvents", lagEvents)
        .put("lagSeconds", lagSeconds)
        .put("deadLetters", deadLetters)
        .put("owner", owner)
        .put("lastError", lastError)
        .put("failingSince", failingSince == null ? null : failingSince.toString())
        .put("rebuildTarget", rebuildTarget)
        .put("rebuildStarted", rebuildStarted == null ? null : rebuildStarted.toString());
  }
}
