package io.flightdeck.gateway.projection.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.PlanRows;
import io.flightdeck.gateway.support.PostgresExtension;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A page of {@code /v1/pages} after a cursor reads from the cursor's day on, not every day of the range before it. */
@ExtendWith(PostgresExtension.class)
class PagesPlanIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));

  @Test
  @DisplayName("a page after a cursor on the 30th of 30 days of 2,000 pages each touches that day's rows, not the "
      + "58,000 rows of the days before it, in either order")
  void pagesAfterACursorStartAtItsDay() {
    gateway.db().execute("""
        INSERT INTO page_stats (site, page_id, day, views, unique_visitors)
        SELECT 'demo', '/p' || p, date '2026-11-01' + d, 1 + p % 500, 1
        FROM generate_series(0, 29) d, generate_series(1, 2000) p""");
    gateway.db().execute("ANALYZE page_stats");
    String key = "sha256(convert_to('/p7', 'UTF8'))";
    for (String mode : new String[] {"force_generic_plan", "force_custom_plan"}) {
      long byViews = PlanRows.touched(gateway.db(), "page_stats", mode, ReadModelSql.PAGES_AFTER, "'demo'",
          "'2026-11-01'", "'2026-11-30'", "101", "'2026-11-30'", "7", key);
      assertTrue(byViews <= 2000 + 101, mode + ", most viewed first: " + byViews + " rows");
      long byPage = PlanRows.touched(gateway.db(), "page_stats", mode, ReadModelSql.PAGES_BY_PAGE_AFTER, "'demo'",
          "'2026-11-01'", "'2026-11-30'", "101", "'2026-11-30'", key);
      assertTrue(byPage <= 2000 + 101, mode + ", by page: " + byPage + " rows");
    }
  }
}
