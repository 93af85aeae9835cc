package io.flightdeck.gateway.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PublishedIdsTest {

  /** Positions 10, 20, ..., n * 10 added to a ring of {@code capacity}, with their ids in {@code ids}. */
  private static PublishedIds filled(int capacity, int n, Map<Long, UUID> ids) {
    PublishedIds sent = new PublishedIds(capacity);
    for (long p = 10; p <= n * 10L; p += 10) {
      UUID id = UUID.randomUUID();
      ids.put(p, id);
      sent.add(p, id);
    }
    return sent;
  }

  @Test
  @DisplayName("keeps the newest events up to its capacity; the id is known only at the newest position")
  void keepsTheNewest() {
    Map<Long, UUID> ids = new HashMap<>();
    PublishedIds sent = filled(4, 7, ids);
    assertEquals(40, sent.oldest());
    assertEquals(70, sent.newest());
    assertEquals(ids.get(70L), sent.idAt(70));
    assertNull(sent.idAt(60), "not the newest");
    assertNull(sent.idAt(71));
    assertNull(new PublishedIds(4).idAt(0), "nothing published");
  }

  @Test
  @DisplayName("the last common position is the newest before the first event the store no longer holds, oldest first")
  void lastCommon() {
    Map<Long, UUID> ids = new HashMap<>();
    PublishedIds sent = filled(4, 7, ids);
    Map<Long, UUID> stored = new HashMap<>(ids);
    assertEquals(70, sent.lastCommon(stored), "all still stored");
    stored.put(60L, UUID.randomUUID());
    assertEquals(50, sent.lastCommon(stored), "another event at 60");
    stored.remove(50L);
    assertEquals(40, sent.lastCommon(stored), "50 is gone");
    stored.put(40L, UUID.randomUUID());
    assertEquals(-1, sent.lastCommon(stored), "even the oldest differs");
    stored = new HashMap<>(ids);
    stored.remove(50L);
    assertEquals(40, sent.lastCommon(stored), "a later match does not hide an earlier gap");
  }

  @Test
  @DisplayName("dropping what came after a position keeps the rest, across the ring's wrap, and adding goes on")
  void dropAfter() {
    Map<Long, UUID> ids = new HashMap<>();
    PublishedIds sent = filled(4, 7, ids);
    sent.dropAfter(55);
    assertEquals(50, sent.newest());
    assertEquals(ids.get(50L), sent.idAt(50));
    assertEquals(40, sent.oldest());
    UUID next = UUID.randomUUID();
    sent.add(51, next);
    assertEquals(next, sent.idAt(51));
    assertEquals(40, sent.oldest());
    sent.dropAfter(0);
    assertTrue(sent.isEmpty());
    assertNull(sent.idAt(51));
    sent.add(5, next);
    assertEquals(5, sent.oldest());
    assertEquals(next, sent.idAt(5));
  }
}
