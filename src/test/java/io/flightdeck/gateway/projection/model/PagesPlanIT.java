package io.flightdeck.gateway.projection.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PlanRows;
import io.flightdeck.gateway.support.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pages of read models read about their own rows: a page of {@code /v1/pages} after a cursor reads from the cursor's
 * day on, not every day of the range before it; a page of a form's submissions reads its own submissions, not every
 * older one.
 */
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

  @Test
  @DisplayName("a page of 100 of a form's 100,000 submissions, before the table has statistics, fetches about its "
      + "own rows, not the 100,000 (the planner then sorts what a bitmap scan found)")
  void formSubmissionsPageReadsItsOwnRows() {
    // as with a new form that took off
    gateway.db().withoutStatistics("form_submissions");
    gateway.db().execute("""
        INSERT INTO form_submissions (form_id, position, event_id, stream_id, site, fields, submitted_at)
        SELECT 'plan-form', g, gen_random_uuid(), 'visitor-' || g, 'demo', '{"email": "a@b.c"}', now()
        FROM generate_series(1, 100000) g""");
    long scansBefore = tableReads("idx_scan");
    long fetchedBefore = tableReads("idx_tup_fetch") + tableReads("seq_tup_read");

    Response r = gateway.http().getWithReadToken("/v1/forms/plan-form/submissions?limit=100");
    assertEquals(200, r.status(), r.body());
    assertEquals(100, r.json().getJsonArray("submissions").size(), r.body());
    // a backend reports its table statistics when idle, within about 10 s
    Awaitility.await("the read's statistics").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
        .until(() -> tableReads("idx_scan") > scansBefore);
    long fetched = tableReads("idx_tup_fetch") + tableReads("seq_tup_read") - fetchedBefore;
    assertTrue(fetched <= 2 * 101, "rows fetched for a page of 100: " + fetched);
  }

  private static long tableReads(String column) {
    return gateway.db().queryLong("SELECT COALESCE(" + column + ", 0) FROM pg_stat_user_tables "
        + "WHERE relname = 'form_submissions'");
  }
}
