package io.flightdeck.gateway.live;

import java.util.Map;
import java.util.UUID;

/**
 * The positions and ids of the newest events the live feed published, at most {@code capacity} of them (24 bytes
 * each): what it checks the store against, and where it can go back to when the store's history changed under it
 * (see {@link io.flightdeck.gateway.store.EventStore#readAllFollowing}). Touched only on the feed's context.
 */
final class PublishedIds {

  private final long[] positions;
  private final long[] high;
  private final long[] low;
  /** The index of the oldest entry, and how many there are. */
  private int first;
  private int size;

  PublishedIds(int capacity) {
    positions = new long[capacity];
    high = new long[capacity];
    low = new long[capacity];
  }

  /** The event at {@code position} was published (positions ascending): the oldest goes when full. */
  void add(long position, UUID id) {
    int at;
    if (size == positions.length) {
      at = first;
      first = (first + 1) % positions.length;
    } else {
      at = (first + size) % positions.length;
      size++;
    }
    positions[at] = position;
    high[at] = id.getMostSignificantBits();
    low[at] = id.getLeastSignificantBits();
  }

  void clear() {
    first = 0;
    size = 0;
  }

  boolean isEmpty() {
    return size == 0;
  }

  long oldest() {
    return positions[first];
  }

  long newest() {
    return positions[index(size - 1)];
  }

  /** The id of the newest event if it is at {@code position}; null otherwise (nothing published up to there). */
  UUID idAt(long position) {
    if (size == 0 || newest() != position) {
      return null;
    }
    int i = index(size - 1);
    return new UUID(high[i], low[i]);
  }

  /**
   * The newest position up to which every event here is still the store's, by {@code stored} (the store's ids at
   * the positions from {@link #oldest} to {@link #newest}); -1 when even the oldest is not.
   */
  long lastCommon(Map<Long, UUID> stored) {
    long common = -1;
    for (int n = 0; n < size; n++) {
      int i = index(n);
      UUID id = stored.get(positions[i]);
      if (id == null || id.getMostSignificantBits() != high[i] || id.getLeastSignificantBits() != low[i]) {
        return common;
      }
      common = positions[i];
    }
    return common;
  }

  /** Forgets the events after {@code position}. */
  void dropAfter(long position) {
    while (size > 0 && newest() > position) {
      size--;
    }
  }

  private int index(int n) {
    return (first + n) % positions.length;
  }
}
