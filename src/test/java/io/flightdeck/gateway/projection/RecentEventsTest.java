package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RecentEventsTest {

  private static EventEnvelope event(long position, String type) {
    return new EventEnvelope(UUID.randomUUID(), position, "s", 1, type, 1, new JsonObject(), new JsonObject(),
        Instant.EPOCH, Instant.EPOCH);
  }

  /** Events at the given positions (gaps allowed: rolled-back appends leave them), typed A, B, A, B... */
  private static List<EventEnvelope> events(long... positions) {
    List<EventEnvelope> out = new ArrayList<>();
    for (int i = 0; i < positions.length; i++) {
      out.add(event(positions[i], i % 2 == 0 ? "A" : "B"));
    }
    return out;
  }

  private static List<Long> positions(RecentEvents.Slice slice) {
    return slice.events().stream().map(EventEnvelope::position).toList();
  }

  @Test
  @DisplayName("a window covers exactly the range it read, and nothing before its start")
  void covers() {
    RecentEvents recent = new RecentEvents(100, 1000);
    assertNull(recent.window());
    assertFalse(recent.reading());
    recent.startAt(10);
    recent.append(events(11, 12, 15), 0);
    RecentEvents.Window w = recent.window();
    assertTrue(recent.reading());
    assertEquals(10, w.after());
    assertEquals(15, w.to());
    assertFalse(w.covers(9), "position 10 may have events the window never read");
    assertTrue(w.covers(10));
    assertTrue(w.covers(15));
    assertFalse(w.covers(16));
    assertTrue(w.ahead(12));
    assertFalse(w.ahead(15), "nothing after its end");
  }

  @Test
  @DisplayName("a slice takes the events after a checkpoint, of the projection's types, up to the limit")
  void slices() {
    RecentEvents recent = new RecentEvents(100, 1000);
    recent.startAt(0);
    recent.append(events(1, 2, 3, 5, 8, 9), 0);
    RecentEvents.Window w = recent.window();

    RecentEvents.Slice all = w.after(2, null, 100);
    assertEquals(List.of(3L, 5L, 8L, 9L), positions(all));
    assertEquals(9, all.to());
    assertFalse(all.full());

    RecentEvents.Slice onlyA = w.after(0, Set.of("A"), 100);
    assertEquals(List.of(1L, 3L, 8L), positions(onlyA));
    assertEquals(9, onlyA.to(), "the checkpoint passes the events of other types up to the window's end");

    RecentEvents.Slice limited = w.after(1, Set.of("B"), 1);
    assertEquals(List.of(2L), positions(limited));
    assertEquals(2, limited.to(), "a full slice stops at its last event: more may follow");
    assertTrue(limited.full());

    RecentEvents.Slice between = w.after(4, null, 100);
    assertEquals(List.of(5L, 8L, 9L), positions(between), "a checkpoint in a gap of positions");

    RecentEvents.Slice none = w.after(9, null, 100);
    assertTrue(none.events().isEmpty());
    assertEquals(9, none.to());
  }

  @Test
  @DisplayName("a full window drops its oldest events and no longer covers their range")
  void bounded() {
    RecentEvents recent = new RecentEvents(4, 1000);
    recent.startAt(0);
    recent.append(events(1, 2, 3), 0);
    recent.append(events(4, 6, 7), 0);
    RecentEvents.Window w = recent.window();
    assertEquals(4, w.events().length);
    assertEquals(2, w.after(), "1 and 2 were dropped");
    assertEquals(7, w.to());
    assertFalse(w.covers(1));
    assertEquals(List.of(3L, 4L, 6L, 7L), positions(w.after(2, null, 100)));

    recent.append(events(10, 11, 12, 13, 14, 15), 0);
    w = recent.window();
    assertEquals(11, w.after(), "a read larger than the window keeps only its newest events");
    assertEquals(List.of(12L, 13L, 14L, 15L), positions(w.after(11, null, 100)));
  }

  @Test
  @DisplayName("large events fill the window by their bytes before its capacity: the oldest beyond them are dropped, "
      + "and the newest event always stays")
  void boundedByBytes() {
    RecentEvents recent = new RecentEvents(100, 1000, 60_000);
    recent.startAt(0);
    recent.append(events(1, 2, 3, 4), 800);
    recent.append(events(5, 6), 600);
    RecentEvents.Window w = recent.window();
    assertEquals(2, w.after(), "200 + 200 + 300 + 300 bytes are kept, 1 and 2 are dropped");
    assertEquals(List.of(3L, 4L, 5L, 6L), positions(w.after(2, null, 100)));

    recent.append(events(7), 5000);
    w = recent.window();
    assertEquals(6, w.after());
    assertEquals(List.of(7L), positions(w.after(6, null, 100)), "one event larger than the bound");
  }

  @Test
  @DisplayName("events every runner here applied are let go at the next read, below the capacity too")
  void trimmedToWhatEveryRunnerApplied() {
    RecentEvents recent = new RecentEvents(100, 60_000);
    recent.startAt(0);
    recent.append(events(1, 2, 3, 4), 0);
    recent.applied("fast", 4);
    recent.applied("slow", 2);
    recent.append(events(5, 7), 0);
    RecentEvents.Window w = recent.window();
    assertEquals(2, w.after(), "the slowest runner still needs 3 and 4");
    assertEquals(List.of(3L, 4L, 5L, 7L), positions(w.after(2, null, 100)));
    assertTrue(w.covers(2));
    assertTrue(w.covers(4), "the faster runner steps from the window too");

    recent.applied("slow", 5);
    recent.append(events(8), 0);
    w = recent.window();
    assertEquals(4, w.after(), "now the fast runner is the slowest");
    assertEquals(List.of(5L, 7L, 8L), positions(w.after(4, null, 100)));

    recent.applied("fast", 8);
    recent.applied("slow", 8);
    recent.append(events(9), 0);
    w = recent.window();
    assertEquals(8, w.after());
    assertEquals(9, w.to());
    assertEquals(1, w.events().length, "only what no runner applied yet");
  }

  @Test
  @DisplayName("a checkpoint past the newest read keeps the window going from its end")
  void appliedPastTheWindow() {
    RecentEvents recent = new RecentEvents(100, 60_000);
    recent.startAt(0);
    recent.append(events(1, 2), 0);
    // a runner that read the store itself may move its checkpoint beyond what the reader has read
    recent.applied("ahead", 6);
    recent.append(events(3, 5), 0);
    RecentEvents.Window w = recent.window();
    assertEquals(5, w.after());
    assertEquals(5, w.to());
    assertEquals(0, w.events().length);
    assertTrue(w.covers(5));
    recent.append(events(6, 8), 0);
    w = recent.window();
    assertEquals(6, w.after(), "6 was applied, 8 was not");
    assertEquals(List.of(8L), positions(w.after(6, null, 100)));
  }

  @Test
  @DisplayName("a runner that stopped or stopped reporting no longer holds events back; the capacity still bounds")
  void staleRunnersHoldNothingBack() {
    RecentEvents recent = new RecentEvents(3, 60_000);
    recent.startAt(0);
    recent.applied("behind", 0);
    recent.append(events(1, 2, 3, 4), 0);
    assertEquals(1, recent.window().after(), "a runner far behind: only the capacity drops events");
    recent.left("behind");
    recent.append(events(5), 0);
    assertEquals(2, recent.window().after(), "nobody reported: the window keeps its capacity");

    RecentEvents stale = new RecentEvents(100, 0);
    stale.startAt(0);
    stale.applied("quiet", 0);
    stale.applied("busy", 3);
    stale.append(events(1, 2, 3, 4), 0);
    assertEquals(0, stale.window().after(), "reports older than the idle time count for nothing");
    assertEquals(4, stale.window().events().length);
  }

  @Test
  @DisplayName("the window is wanted only while a runner stepped lately, and never when it is off")
  void wanted() {
    RecentEvents recent = new RecentEvents(10, 60_000);
    assertFalse(recent.wanted(), "no runner stepped yet");
    recent.touch();
    assertTrue(recent.wanted());
    RecentEvents stale = new RecentEvents(10, 0);
    stale.touch();
    assertFalse(stale.wanted(), "older than the idle time");
    RecentEvents off = new RecentEvents(0, 60_000);
    off.touch();
    assertFalse(off.wanted(), "windowEvents 0");
    recent.startAt(5);
    recent.clear();
    assertNull(recent.window());
  }
}
