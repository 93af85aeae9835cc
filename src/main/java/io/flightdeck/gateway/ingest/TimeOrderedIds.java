package io.flightdeck.gateway.ingest;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * UUID version 7 (RFC 9562) for events sent without an id: time-ordered, so the unique index on events.id grows
 * at its right edge instead of being written at random places.
 */
final class TimeOrderedIds {

  private TimeOrderedIds() {
  }

  static UUID next() {
    long millis = System.currentTimeMillis();
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long msb = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb);
  }
}
