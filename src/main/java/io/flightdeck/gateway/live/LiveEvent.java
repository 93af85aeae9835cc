package io.flightdeck.gateway.live;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * One event as the live feed sends it: the fields filters look at, and its SSE message, serialized once and
 * shared read-only by every connection on every event loop (each write sends a slice of it).
 */
public record LiveEvent(long position, String type, String streamId, String site, Buffer frame) {

  public static LiveEvent of(EventEnvelope e) {
    String message = "id: " + e.position() + "\nevent: " + e.type() + "\ndata: " + e.toJson().encode() + "\n\n";
    return new LiveEvent(e.position(), e.type(), e.streamId(), e.metadata().getString("site"),
        Buffer.buffer(message.getBytes(StandardCharsets.UTF_8)));
  }
}
