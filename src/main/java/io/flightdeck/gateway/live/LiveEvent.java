package io.flightdeck.gateway.live;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * One event as the live feed sends it: the fields filters look at, its id (what a stream resumed past the feed checks,
 * see {@link SseResumeAhead}), and its SSE message, serialized once and shared read-only by every connection on every
 * event loop (each write sends a slice of it).
 */
public record LiveEvent(long position, UUID id, String type, String streamId, String site, Buffer frame) {

  /**
   * The message names its event after the type, unless the type holds a line break: the gateway's ingest takes
   * none, but another writer's row may, and such a name would end the field and let the rest of the type forge
   * fields or messages. That event goes out unnamed (a plain {@code message}); its data carries the type as stored.
   */
  public static LiveEvent of(EventEnvelope e) {
    String type = e.type();
    String name = type.indexOf('\n') >= 0 || type.indexOf('\r') >= 0 ? "" : "\nevent: " + type;
    String message = "id: " + e.position() + name + "\ndata: " + e.toJson().encode() + "\n\n";
    return new LiveEvent(e.position(), e.id(), e.type(), e.streamId(), e.metadata().getString("site"),
        Buffer.buffer(message.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * The message without its {@code event:} line, for {@code ?unnamed=true}: EventSource hands an unnamed message
   * to {@code onmessage}, a named one only to a listener for that name, which a page cannot add for a type it does
   * not know of (a custom type, such as a Segment track name). The data still says the type.
   */
  public Buffer unnamedFrame() {
    int idEnd = lineEnd(0);
    if (!frame.getString(idEnd + 1, Math.min(idEnd + 8, frame.length())).equals("event: ")) {
      return frame;
    }
    int nameEnd = lineEnd(idEnd + 1);
    return frame.getBuffer(0, idEnd).appendBuffer(frame, nameEnd, frame.length() - nameEnd);
  }

  private int lineEnd(int from) {
    int i = from;
    while (frame.getByte(i) != '\n') {
      i++;
    }
    return i;
  }
}
