package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PlanRows;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A page of a long stream ({@code GET /v1/streams/{id}/events}) reads about its own rows whatever plan PostgreSQL
 * picks, and a stream with a gap in its versions (a writer that bypassed the gateway) is still read whole.
 */
@ExtendWith(PostgresExtension.class)
class StreamPagesIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));

  @Test
  @DisplayName("a page in the middle of a stream of 100,000 events touches about a page of rows, not the 50,000 "
      + "after it, before the table has statistics (the planner then sorts what a bitmap scan found)")
  void aPageOfALongStreamReadsItsOwnRows() {
    gateway.db().withoutStatistics("events");
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT gen_random_uuid(), 'pages-long', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now()
        FROM generate_series(1, 100000) g""");
    for (String mode : List.of("force_custom_plan", "force_generic_plan")) {
      for (long from : List.of(1L, 50_000L, 99_500L)) {
        long touched = PlanRows.touched(gateway.db(), "events", mode, StoreSql.READ_STREAM, "'pages-long'",
            String.valueOf(from), "1000");
        assertTrue(touched <= 1001, mode + ", from version " + from + ": " + touched + " rows");
      }
    }
  }

  @Test
  @DisplayName("a stream whose versions have a gap is read whole, page by page, across the gap")
  void aStreamWithAGapIsReadWhole() {
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT gen_random_uuid(), 'pages-gap', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now()
        FROM generate_series(1, 1500) g UNION ALL
        SELECT gen_random_uuid(), 'pages-gap', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now()
        FROM generate_series(5000, 5600) g""");
    List<Long> versions = new ArrayList<>();
    long from = 1;
    for (int page = 0; page < 10; page++) {
      Response r = gateway.http().getWithReadToken("/v1/streams/pages-gap/events?fromVersion=" + from
          + "&limit=1000");
      assertEquals(200, r.status(), r.body());
      JsonArray events = r.json().getJsonArray("events");
      if (events.isEmpty()) {
        break;
      }
      for (int i = 0; i < events.size(); i++) {
        versions.add(events.getJsonObject(i).getLong("streamVersion"));
      }
      from = versions.get(versions.size() - 1) + 1;
    }
    assertEquals(2101, versions.size());
    assertEquals(List.of(1L, 1500L, 5000L, 5600L), List.of(versions.get(0), versions.get(1499), versions.get(1500),
        versions.get(2100)));
    // the second page: the 500 after 1000 below the gap, then the first 500 after it
    Response second = gateway.http().getWithReadToken("/v1/streams/pages-gap/events?fromVersion=1001&limit=1000");
    JsonArray events = second.json().getJsonArray("events");
    assertEquals(1000, events.size());
    assertEquals(5499, events.getJsonObject(999).getLong("streamVersion"));
  }
}
