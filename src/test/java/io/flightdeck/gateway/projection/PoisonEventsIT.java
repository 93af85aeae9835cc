package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Events a projection cannot apply, and what must still hold around them: the projection sets them aside and moves
 * on, and a rebuild replays everything before them. Each test uses its own projection's events, and leaves an event
 * in the store that no read model can hold, so the class does not compare the read models with the store.
 */
@ExtendWith(PostgresExtension.class)
class PoisonEventsIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);

  static TestDatabase db;
  static TestGateway gateway;

  @BeforeAll
  static void start(TestDatabase database) {
    db = database;
    gateway = TestGateway.start(database, Map.of(
        "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
        "FLIGHTDECK_PROJECTIONS_MAX_ATTEMPTS", "1",
        "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "100",
        "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "200"));
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
  }

  static long checkpoint(String projection) {
    return db.queryLong("SELECT position FROM projection_checkpoints WHERE name = ?", projection);
  }

  static long head() {
    return db.queryLong("SELECT COALESCE(max(position), 0) FROM events");
  }

  static long deadLetters(String projection) {
    return db.queryLong("SELECT count(*) FROM dead_letters WHERE projection = ?", projection);
  }

  @Test
  @DisplayName("a page view without a pageId (written by another writer) goes to the dead letters: page-stats moves on,"
      + " and a retry of it answers 409 apply_failed")
  void eventTheProjectionThrowsOn() {
    gateway.http().postBatch(HttpTestClient.pageView("nopage-1", "/before"));
    // the store takes any writer's rows (V1); the gateway's validation never saw this one
    db.execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
        VALUES (?::uuid, 'nopage-2', 1, 'PageViewed', 1, '{}'::jsonb, '{"site": "demo"}'::jsonb, now())""",
        UUID.randomUUID().toString());
    gateway.http().postBatch(HttpTestClient.pageView("nopage-3", "/after"));
    long head = head();
    Awaitility.await("page-stats past the page view it cannot apply").atMost(CATCH_UP)
        .pollInterval(Duration.ofMillis(50)).until(() -> checkpoint("page-stats") >= head);
    assertEquals(1, deadLetters("page-stats"));
    assertEquals(1, db.queryLong("SELECT count(*) FROM page_stats WHERE page_id = '/after'"), "the event after it");

    long id = db.queryLong("SELECT id FROM dead_letters WHERE projection = 'page-stats'");
    Response retried = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
    assertEquals(409, retried.status(), retried.body());
    assertEquals("apply_failed", retried.errorCode());
    assertEquals(2, db.queryLong("SELECT attempts FROM dead_letters WHERE id = ?", id));
  }
}
