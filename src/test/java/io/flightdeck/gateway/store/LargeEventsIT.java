package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PlanRows;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.SseTestClient.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Events as large as ingest takes them (metadata values full of three-byte characters, about 370 KB each): every
 * read of them, the API's, the live feed's, a resuming client's and the projections', holds a page of about
 * {@link EventPages#MAX_PAGE_BYTES}, not its limit of events, and its reader goes on after it without a gap.
 */
@ExtendWith(PostgresExtension.class)
class LargeEventsIT {

  static final Duration WAIT = Duration.ofSeconds(60);
  static final String STREAM = "large-1";
  /** Enough of them to pass one page's bytes. */
  static final int EVENTS = 26;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  static JsonObject large(Random random, int n) {
    JsonObject metadata = new JsonObject();
    for (int k = 0; k < 60; k++) {
      StringBuilder value = new StringBuilder(2048);
      for (int i = 0; i < 2048; i++) {
        value.append((char) (0x4E00 + random.nextInt(0x5000)));
      }
      metadata.put("k" + k, value.toString());
    }
    return HttpTestClient.pageView(STREAM, "/large/" + n).put("metadata", metadata);
  }

  @Test
  @DisplayName("pages of large events stop at about 8 MiB, short of their limit, and every reader goes on after them: "
      + "the API, the live feed, a resume and the projections, a rebuild included, see every event once, in order")
  void pagesStopAtTheirBytes() throws Exception {
    long before = gateway.db().queryLong("SELECT COALESCE(max(position), 0) FROM events");
    List<Long> posted = new ArrayList<>();
    try (SseTestClient live = SseTestClient.open(gateway.get(), "/v1/live?streams=" + STREAM, Map.of())) {
      assertEquals("connected", live.nextComment(WAIT));
      Random random = new Random(42);
      for (int n = 0; n < EVENTS; n++) {
        Response r = gateway.http().postEvents(large(random, n));
        assertEquals(200, r.status(), r.body());
        posted.add(r.results().getJsonObject(0).getLong("position"));
      }
      assertEquals(posted, ids(live.take(EVENTS, WAIT)), "the live feed");
    }

    // the global read: the first page is cut by its bytes, and next goes on from there
    List<Long> read = new ArrayList<>();
    long after = before;
    int pages = 0;
    while (true) {
      JsonObject page = gateway.http().getWithReadToken("/v1/events?limit=1000&after=" + after).json();
      JsonArray events = page.getJsonArray("events");
      if (events.isEmpty()) {
        break;
      }
      pages++;
      assertTrue(events.encode().getBytes(StandardCharsets.UTF_8).length
          < EventPages.MAX_PAGE_BYTES + 2 * 400_000, "one page holds about " + EventPages.MAX_PAGE_BYTES + " bytes");
      for (int i = 0; i < events.size(); i++) {
        read.add(events.getJsonObject(i).getLong("position"));
      }
      after = page.getLong("next");
    }
    assertEquals(posted, read, "GET /v1/events followed by next");
    assertTrue(pages >= 2, "cut by bytes into " + pages + " pages");

    // one stream's read, followed by fromVersion
    List<Long> stream = new ArrayList<>();
    long fromVersion = 1;
    while (true) {
      JsonArray events = gateway.http()
          .getWithReadToken("/v1/streams/" + STREAM + "/events?limit=1000&fromVersion=" + fromVersion).json()
          .getJsonArray("events");
      if (events.isEmpty()) {
        break;
      }
      assertTrue(events.size() < EVENTS, "cut by bytes");
      for (int i = 0; i < events.size(); i++) {
        stream.add(events.getJsonObject(i).getLong("position"));
      }
      fromVersion = events.getJsonObject(events.size() - 1).getLong("streamVersion") + 1;
    }
    assertEquals(posted, stream, "GET /v1/streams/{id}/events followed by fromVersion");

    // a client resuming from before them reads its catch-up in pages
    try (SseTestClient resumed = SseTestClient.open(gateway.get(), "/v1/live?streams=" + STREAM,
        Map.of("Last-Event-ID", String.valueOf(before)))) {
      assertEquals(posted, ids(resumed.take(EVENTS, WAIT)), "the catch-up");
    }

    // the projections, through the shared window and, rebuilt, through their own reads of the store
    Awaitility.await("visitor-activity applied them").atMost(WAIT)
        .until(() -> pageViews() == EVENTS);
    Response rebuild = gateway.http().postWithAdminToken("/v1/admin/projections/visitor-activity/rebuild");
    assertEquals(202, rebuild.status(), rebuild.body());
    long head = posted.get(posted.size() - 1);
    Awaitility.await("visitor-activity rebuilt").atMost(WAIT).until(() -> gateway.db().queryLong(
        "SELECT position FROM projection_checkpoints WHERE name = 'visitor-activity'") >= head);
    assertEquals(EVENTS, pageViews(), "every event applied once after the rebuild");
  }

  @Test
  @DisplayName("a page of events reads its own rows, not every row after its start: the global read and a "
      + "stream's touch about a page of rows at the start of 100,000, with a generic plan and a custom one")
  void pagesReadOnlyTheirRows() {
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT gen_random_uuid(), 'scan-long', g, 'PageViewed', 1, jsonb_build_object('pageId', '/s' || g), now()
        FROM generate_series(1, 100000) g""");
    // the statistics autovacuum would gather, so the planner sees the table as it is
    gateway.db().execute("ANALYZE events");
    long first = gateway.db().queryLong("SELECT min(position) FROM events WHERE stream_id = 'scan-long'");
    // every read of events is built by EventPages.capped, the projections' own reads too: before the fix, a page's
    // end was a join filter, and the global read of a page here went through every row after its start
    for (String mode : List.of("force_generic_plan", "force_custom_plan")) {
      long global = PlanRows.touched(gateway.db(), "events", mode, StoreSql.READ_ALL, String.valueOf(first - 1), "10");
      // the page's sizes, then its rows: two scans of 10 rows (before the fix, the second read every row after it)
      assertTrue(global <= 40, mode + ": the global read of 10 touched " + global + " rows");
      long stream = PlanRows.touched(gateway.db(), "events", mode, StoreSql.READ_STREAM, "'scan-long'", "1", "10");
      assertTrue(stream <= 40, mode + ": the stream read of 10 touched " + stream + " rows");
    }
  }

  static long pageViews() {
    List<List<Object>> rows = gateway.db().query("SELECT page_views FROM visitor_activity WHERE stream_id = ?", STREAM);
    return rows.isEmpty() ? 0 : ((Number) rows.get(0).get(0)).longValue();
  }

  static List<Long> ids(List<Message> messages) {
    List<Long> out = new ArrayList<>();
    for (Message m : messages) {
      out.add(Long.parseLong(m.id()));
    }
    return out;
  }
}
