package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A runner's first try at a batch inserts the rows of visitors whose first event is in it without a conflict check
 * ({@link Projection#applyFirstTry}). Mixed batches of new and known visitors must build what the store says; a
 * row that is there although the rule says it cannot be (written by hand) must cost a failed try, never a dead
 * letter.
 */
@ExtendWith(PostgresExtension.class)
class ProjectionFirstTryIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);
  static final String DAY = "2026-01-15";

  static TestDatabase db;
  static TestGateway gateway;

  @BeforeAll
  static void start(TestDatabase database) {
    db = database;
    gateway = TestGateway.start(database, Map.of(
        "FLIGHTDECK_PROJECTIONS_MAX_ATTEMPTS", "2",
        "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "100",
        "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "200"));
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
  }

  static JsonObject view(String stream, String page) {
    return HttpTestClient.pageView(stream, page).put("occurredAt", DAY + "T10:00:00Z");
  }

  static long deadLetters() {
    return db.queryLong("SELECT count(*) FROM dead_letters");
  }

  @Test
  @DisplayName("batches that mix new visitors, known ones and a new visitor's several events build what the store says")
  void mixedBatches() {
    gateway.http().postBatch(view("known-1", "/a"), view("known-2", "/a"));
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    // known visitors again (one on a page it saw, one on a new page) next to new visitors, one of them twice
    gateway.http().postBatch(view("known-1", "/a"), view("known-2", "/b"), view("new-1", "/a"), view("new-1", "/a"),
        view("new-1", "/b"), view("new-2", "/b"));
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
    assertEquals(0, deadLetters());
    assertEquals(3, db.queryLong("SELECT unique_visitors FROM page_stats WHERE page_id = '/a'"));
    assertEquals(3, db.queryLong("SELECT unique_visitors FROM page_stats WHERE page_id = '/b'"));
  }

  @Test
  @DisplayName("a row already there for a visitor's first event costs one failed try and is added to, not dead-lettered")
  void rowsWrittenByHand() {
    // rows the projections would never have written: the visitor's first event is not applied yet
    db.execute("""
        INSERT INTO visitor_activity (stream_id, site, first_seen, last_seen, page_views, last_position)
        VALUES ('squatter', 'demo', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 5, 0)""");
    db.execute("INSERT INTO page_visitors (site, page_id, day, stream_id) VALUES ('demo', '/squat', '" + DAY
        + "', 'squatter')");
    gateway.http().postBatch(view("squatter", "/squat"), view("squatter-neighbour", "/squat"));
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);

    assertEquals(0, deadLetters());
    JsonObject visitor = gateway.http().getWithReadToken("/v1/visitors/squatter").json();
    assertEquals(6, visitor.getLong("pageViews"), visitor.encode());
    assertEquals("/squat", visitor.getString("lastPage"));
    assertEquals(1, gateway.http().getWithReadToken("/v1/visitors/squatter-neighbour").json().getLong("pageViews"));
    JsonArray pages = gateway.http().getWithReadToken("/v1/pages?site=demo&from=" + DAY + "&to=" + DAY).json()
        .getJsonArray("pages");
    JsonObject squat = null;
    for (int i = 0; i < pages.size(); i++) {
      if (pages.getJsonObject(i).getString("pageId").equals("/squat")) {
        squat = pages.getJsonObject(i);
      }
    }
    assertEquals(2, squat.getLong("views"), pages.encode());
    assertEquals(1, squat.getLong("uniqueVisitors"), "the squatter's row was there: only its neighbour is new");
    for (String name : new String[] {"visitor-activity", "page-stats"}) {
      JsonObject status = projectionStatus(name);
      assertEquals("running", status.getString("state"), status.encode());
      // a rebuild sets the hand-written rows right: the other test's check of the whole store holds again
      assertEquals(202, gateway.http().postWithAdminToken("/v1/admin/projections/" + name + "/rebuild").status());
    }
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
  }

  static JsonObject projectionStatus(String name) {
    JsonArray list = gateway.http().getWithAdminToken("/v1/admin/projections").json().getJsonArray("projections");
    for (int i = 0; i < list.size(); i++) {
      if (list.getJsonObject(i).getString("name").equals(name)) {
        return list.getJsonObject(i);
      }
    }
    throw new AssertionError("no projection " + name + " in " + list.encode());
  }
}
