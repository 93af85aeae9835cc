package io.flightdeck.gateway.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class HistoryChangesTest {

  private final AtomicLong now = new AtomicLong(1_000);
  private final HistoryChanges changes = new HistoryChanges(now::get, HistoryChanges.REMEMBERED_FOR_NANOS);

  @Test
  @DisplayName("an id past the kept event, up to what the old history reached, resumes after the kept event; "
      + "an id at or below it, or past what was reached, as it is")
  void coversTheLostPositionsOnly() {
    changes.feedWentBack(10, 20);
    assertNull(changes.resumeFrom(9));
    assertNull(changes.resumeFrom(10));
    assertEquals(10L, changes.resumeFrom(11));
    assertEquals(10L, changes.resumeFrom(20));
    assertNull(changes.resumeFrom(21));
  }

  @Test
  @DisplayName("a stream started past the feed counts as reached; of several changes covering an id, the lowest "
      + "kept event")
  void reachedAndTheLowest() {
    changes.startedAhead(30);
    changes.feedWentBack(10, 20);
    assertEquals(10L, changes.resumeFrom(30));
    changes.changed(15, 18);
    assertEquals(10L, changes.resumeFrom(17));
    // nothing was lost: nothing to remember
    changes.changed(40, 40);
    assertNull(changes.resumeFrom(40));
  }

  @Test
  @DisplayName("changes are forgotten after the window, and only the newest are kept")
  void bounded() {
    changes.changed(10, 20);
    now.addAndGet(HistoryChanges.REMEMBERED_FOR_NANOS);
    assertEquals(10L, changes.resumeFrom(15));
    now.incrementAndGet();
    assertNull(changes.resumeFrom(15));

    for (int i = 0; i <= HistoryChanges.REMEMBERED; i++) {
      changes.changed(100 + 10 * i, 105 + 10 * i);
    }
    assertNull(changes.resumeFrom(105), "the oldest went");
    assertEquals(110L, changes.resumeFrom(115));
    assertEquals(100L + 10 * HistoryChanges.REMEMBERED, changes.resumeFrom(105 + 10 * HistoryChanges.REMEMBERED));
  }

  @Test
  @DisplayName("a retry hint longer than half the window makes the window twice the hint: a client cut off past a "
      + "change waits that long before it comes back")
  void windowFollowsTheRetryHint() {
    assertEquals(HistoryChanges.REMEMBERED_FOR_NANOS, HistoryChanges.rememberedFor(2000));
    assertEquals(HistoryChanges.REMEMBERED_FOR_NANOS, HistoryChanges.rememberedFor(300_000));
    assertEquals(TimeUnit.HOURS.toNanos(2), HistoryChanges.rememberedFor(3_600_000));

    HistoryChanges hourly = new HistoryChanges(now::get, HistoryChanges.rememberedFor(3_600_000));
    hourly.changed(10, 20);
    now.addAndGet(TimeUnit.MINUTES.toNanos(90));
    assertEquals(10L, hourly.resumeFrom(15), "remembered past the default 10 minutes");
    now.addAndGet(TimeUnit.MINUTES.toNanos(31));
    assertNull(hourly.resumeFrom(15));
  }
}
