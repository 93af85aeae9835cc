package io.flightdeck.gateway.live;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * One event as the live feed sends it: the fields filters look at, and its SSE message, serialized once and
 * shared read-only by every connection on every event loop (each write sends a slice of it).
 */
public record LiveEvent(long position, String type, String streamId, String site, Buffer frame) {

  /**
   * The message names its event after the type, unless the type holds a line break: the gateway's ingest takes
   * none, but another writer's row may, and such a name would end the field and let the rest of the type forge
   * fields or messages. That event goes out unnamed (a plain {@code message}); its data carries the type as stored.
   */
  public static LiveEvent of(EventEnvelope e) {
    String type = e.type();
    String name = type.indexOf('\n') >= 0 || type.indexOf('\r') >= 0 ? "" : "\nevent: " + type;
    String message = "id: " + e.position() + name + "\ndata: " + e.toJson().encode() + "\n\n";
    return new LiveEvent(e.position(), e.type(), e.streamId(), e.metadata().getString("site"),
        Buffer.buffer(message.getBytes(StandardCharsets.UTF_8)));
  }
}
