package io.flightdeck.gateway.bench;

import io.vertx.core.buffer.Buffer;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Request bodies for {@code POST /v1/events}: PageViewed events, each with its own random id (so none is a
 * duplicate) and its own stream (so no stream is a hot spot), as a single event or a batch.
 */
final class EventBodies {

  /** A browser's, so the stored metadata has the size real traffic gives it. */
  static final String USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      + "Chrome/126.0.0.0 Safari/537.36";

  private EventBodies() {
  }

  /** One event object when {@code events} is 1, else {@code {"events": [...]}}. */
  static Buffer of(int events) {
    String occurredAt = Instant.now().toString();
    StringBuilder sb = new StringBuilder(events * 200 + 16);
    if (events == 1) {
      appendEvent(sb, occurredAt);
      return Buffer.buffer(sb.toString());
    }
    sb.append("{\"events\":[");
    for (int i = 0; i < events; i++) {
      if (i > 0) {
        sb.append(',');
      }
      appendEvent(sb, occurredAt);
    }
    return Buffer.buffer(sb.append("]}").toString());
  }

  private static void appendEvent(StringBuilder sb, String occurredAt) {
    sb.append("{\"id\":\"").append(randomUuid())
        .append("\",\"type\":\"PageViewed\",\"streamId\":\"visitor-").append(randomUuid())
        .append("\",\"data\":{\"pageId\":\"/docs/getting-started\"},\"occurredAt\":\"").append(occurredAt)
        .append("\"}");
  }

  /**
   * A version 4 UUID from ThreadLocalRandom: as random as the ids of real clients, without the lock and cost
   * of SecureRandom, whose CPU would be charged to the load generator on the machine under test.
   */
  static UUID randomUuid() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & ~(0x3L << 62)) | (0x2L << 62);
    return new UUID(msb, lsb);
  }
}
