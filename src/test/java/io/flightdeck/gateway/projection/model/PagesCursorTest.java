package io.flightdeck.gateway.projection.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDate;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PagesCursorTest {

  static final byte[] KEY = PageKey.digest("/pricing");
  static final String HEX = java.util.HexFormat.of().formatHex(KEY);

  @Test
  @DisplayName("a cursor reads back as the answer wrote it, in both orders, with the rebuild it was given under")
  void roundTrip() {
    for (PagesCursor.Order order : PagesCursor.Order.values()) {
      PagesCursor cursor = new PagesCursor(order, LocalDate.of(2026, 12, 1), order == PagesCursor.Order.VIEWS ? 7 : 0,
          1_765_000_000_123_456L, KEY);
      PagesCursor read = PagesCursor.parse(cursor.text()).orElseThrow();
      assertEquals(cursor.text(), read.text());
      assertEquals(order, read.order());
      assertEquals(1_765_000_000_123_456L, read.rebuilt());
      assertArrayEquals(KEY, read.key());
    }
  }

  @Test
  @DisplayName("a cursor of an earlier release, without a rebuild stamp, is still read and never taken as expired")
  void unstamped() {
    PagesCursor views = PagesCursor.parse("v.2026-12-01.7." + HEX).orElseThrow();
    PagesCursor page = PagesCursor.parse("p.2026-12-01." + HEX).orElseThrow();
    assertEquals(7, views.views());
    assertEquals(PagesCursor.UNSTAMPED, views.rebuilt());
    assertEquals(PagesCursor.UNSTAMPED, page.rebuilt());
    assertDoesNotThrow(() -> page.requireCurrent(PagesCursor.stampOf(OffsetDateTime.now())));
  }

  @Test
  @DisplayName("a cursor given under another rebuild than the current one is expired; under the same one it is not")
  void expiry() {
    OffsetDateTime started = OffsetDateTime.parse("2026-12-07T02:35:44.466949Z");
    long stamp = PagesCursor.stampOf(started);
    PagesCursor cursor = new PagesCursor(PagesCursor.Order.PAGE, LocalDate.of(2026, 12, 1), 0, stamp, KEY);
    assertDoesNotThrow(() -> cursor.requireCurrent(stamp));
    assertThrows(PagesCursor.Expired.class, () -> cursor.requireCurrent(PagesCursor.stampOf(started.plusNanos(1000))));
    assertThrows(PagesCursor.Expired.class, () -> cursor.requireCurrent(PagesCursor.stampOf(null)));
    assertEquals(0, PagesCursor.stampOf(null), "never rebuilt");
  }

  @Test
  @DisplayName("texts no answer writes are refused: a negative stamp or views, a short key, a stray part, digits that are "
      + "not ASCII or have a sign")
  void refused() {
    for (String text : new String[] {"v.2026-12-01.7.-1." + HEX, "p.2026-12-01.-5." + HEX, "v.2026-12-01.-7.0." + HEX,
        "p.2026-12-01.0." + HEX.substring(2), "p.2026-12-01.0.0." + HEX, "p.2026-12-01.x." + HEX, "q.2026-12-01." + HEX,
        "v.2026-12-01.7.0." + HEX + ".1", "", "v.2026-12-01.\u0667.0." + HEX, "p.2026-12-01.\uff10." + HEX,
        "v.2026-12-01.+7.0." + HEX, "p.2026-12-01.+0." + HEX}) {
      assertTrue(PagesCursor.parse(text).isEmpty(), text);
    }
  }
}
