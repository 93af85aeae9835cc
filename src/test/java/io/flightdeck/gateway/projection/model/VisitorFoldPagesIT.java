package io.flightdeck.gateway.projection.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PlanRows;
import io.flightdeck.gateway.support.PostgresExtension;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fold behind {@code GET /v1/visitors/{id}?at=} reads a long stream in pages that each touch about their own
 * rows whatever plan PostgreSQL picks (a fold of 100,000 events is 100 pages: one that read the rest of the stream
 * each time read 5,000,000 rows), and folds a stream with a gap in its versions whole.
 */
@ExtendWith(PostgresExtension.class)
class VisitorFoldPagesIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));

  @Test
  @DisplayName("a page of the fold in the middle of a stream of 100,000 events touches about a page of rows, "
      + "not the 50,000 after it, before the table has statistics")
  void aPageOfTheFoldReadsItsOwnRows() {
    gateway.db().withoutStatistics("events");
    // recorded a microsecond apart from 2026-11-01
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at, recorded_at)
        SELECT gen_random_uuid(), 'fold-pages', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now(),
               timestamptz '2026-11-01T00:00:00Z' + g * interval '1 microsecond'
        FROM generate_series(1, 100000) g""");
    for (String mode : List.of("force_custom_plan", "force_generic_plan")) {
      for (long after : List.of(0L, 50_000L, 99_500L)) {
        long touched = PlanRows.touched(gateway.db(), "events", mode, ReadModelSql.STREAM_UNTIL, "'fold-pages'",
            String.valueOf(after), "'2100-01-01T00:00:00Z'", "1000");
        assertTrue(touched <= 1001, mode + ", after version " + after + ": " + touched + " rows");
      }
      // a fold at a time inside the page reads to it, and no page after
      long cut = PlanRows.touched(gateway.db(), "events", mode, ReadModelSql.STREAM_UNTIL, "'fold-pages'", "50000",
          "'2026-11-01T00:00:00.050500Z'", "1000");
      assertTrue(cut <= 1001, mode + ", cut inside the page: " + cut + " rows");
    }
  }

  @Test
  @DisplayName("a stream whose versions have a gap is folded whole, and a fold at a time before the gap stops there")
  void aStreamWithAGapIsFoldedWhole() {
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at, recorded_at)
        SELECT gen_random_uuid(), 'fold-gap', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now(),
               timestamptz '2026-11-02T00:00:00Z' + g * interval '1 millisecond'
        FROM generate_series(1, 1500) g UNION ALL
        SELECT gen_random_uuid(), 'fold-gap', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now(),
               timestamptz '2026-11-02T00:00:00Z' + g * interval '1 millisecond'
        FROM generate_series(5000, 5600) g""");
    Response whole = gateway.http().getWithReadToken("/v1/visitors/fold-gap?at=2100-01-01T00:00:00Z");
    assertEquals(200, whole.status(), whole.body());
    assertEquals(2101, whole.json().getLong("pageViews"), whole.body());
    // 1.5 s after midnight: versions 1 to 1500, the last before the gap
    Response before = gateway.http().getWithReadToken("/v1/visitors/fold-gap?at=2026-11-02T00:00:01.500Z");
    assertEquals(1500, before.json().getLong("pageViews"), before.body());
    Response after = gateway.http().getWithReadToken("/v1/visitors/fold-gap?at=2026-11-02T00:00:05.100Z");
    assertEquals(1601, after.json().getLong("pageViews"), after.body());
  }
}
