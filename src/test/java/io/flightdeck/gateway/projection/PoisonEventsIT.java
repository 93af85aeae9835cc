package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Events a projection cannot apply, and what must still hold around them: the projection sets them aside and moves
 * on, and a rebuild replays everything before them. Each test uses its own projection's events, and leaves an event
 * in the store that no read model can hold, so the class does not compare the read models with the store.
 */
@ExtendWith(PostgresExtension.class)
class PoisonEventsIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);

  /** A failing event goes to the dead letters at its first failure, and the projections look often. */
  static final Map<String, String> SETTINGS = Map.of(
      "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_PROJECTIONS_MAX_ATTEMPTS", "1",
      "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "100",
      "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "200");

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(SETTINGS);

  static long checkpoint(String projection) {
    return ReadModelCheck.checkpoint(gateway.db(), projection);
  }

  static long head() {
    return gateway.db().queryLong("SELECT COALESCE(max(position), 0) FROM events");
  }

  static long deadLetters(String projection) {
    return gateway.db().queryLong("SELECT count(*) FROM dead_letters WHERE projection = ?", projection);
  }

  /** The projection's dead letters of the stream's events. */
  static long deadLettersOf(String projection, String streamId) {
    return gateway.db().queryLong("SELECT count(*) FROM dead_letters d JOIN events e ON e.position = d.position "
        + "WHERE d.projection = ? AND e.stream_id = ?", projection, streamId);
  }

  @Test
  @DisplayName("a page view without a pageId (written by another writer) goes to the dead letters: page-stats moves on,"
      + " and a retry of it answers 409 apply_failed")
  void eventTheProjectionThrowsOn() {
    gateway.http().postBatch(HttpTestClient.pageView("nopage-1", "/before"));
    // the store takes any writer's rows (V1); the gateway's validation never saw this one
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
        VALUES (?::uuid, 'nopage-2', 1, 'PageViewed', 1, '{}'::jsonb, '{"site": "demo"}'::jsonb, now())""",
        UUID.randomUUID().toString());
    gateway.http().postBatch(HttpTestClient.pageView("nopage-3", "/after"));
    long head = head();
    Awaitility.await("page-stats past the page view it cannot apply").atMost(CATCH_UP)
        .pollInterval(Duration.ofMillis(50)).until(() -> checkpoint("page-stats") >= head);
    assertEquals(1, deadLetters("page-stats"));
    assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM page_stats WHERE page_id = '/after'"),
        "the event after it");

    long id = gateway.db().queryLong("SELECT id FROM dead_letters WHERE projection = 'page-stats'");
    Response retried = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
    assertEquals(409, retried.status(), retried.body());
    assertEquals("apply_failed", retried.errorCode());
    assertEquals(2, gateway.db().queryLong("SELECT attempts FROM dead_letters WHERE id = ?", id));
  }

  @Test
  @DisplayName("a rebuild asked for while an event fails its last attempt is replayed in full: the dead letter does "
      + "not move the checkpoint the rebuild reset past the events before it")
  void rebuildWhileAnEventFails() throws Exception {
    // the poison's apply takes a while before it fails: time for a rebuild to queue behind it
    gateway.db().execute("""
        CREATE FUNCTION slow_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.form_id = 'slow-poison' THEN
            PERFORM pg_sleep(1.5);
            RAISE EXCEPTION 'slow poison';
          END IF;
          RETURN NEW;
        END $$""");
    gateway.db().execute("""
        CREATE TRIGGER slow_poison BEFORE INSERT ON form_submissions
          FOR EACH ROW EXECUTE FUNCTION slow_poison()""");
    try {
      for (int i = 0; i < 5; i++) {
        gateway.http().postBatch(
            HttpTestClient.formSubmission("rb-" + i, "rb-form", new JsonObject().put("i", "" + i)));
      }
      long before = head();
      Awaitility.await("the forms applied").atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
          .until(() -> checkpoint("form-submissions") >= before);
      assertEquals(5, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'rb-form'"));

      gateway.http().postBatch(HttpTestClient.formSubmission("rb-x", "slow-poison", new JsonObject()));
      Awaitility.await("the poison being applied").atMost(CATCH_UP).pollInterval(Duration.ofMillis(10))
          .until(() -> gateway.db().queryLong("""
              SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'flightdeck-projection-form-submissions'
                AND wait_event = 'PgSleep'""") == 1);
      // queues behind the failing step's checkpoint lock, and gets it as that step rolls back
      CompletableFuture<Response> rebuild = CompletableFuture.supplyAsync(() ->
          gateway.http().postWithAdminToken("/v1/admin/projections/form-submissions/rebuild"));
      Response r = rebuild.get();
      assertEquals(202, r.status(), r.body());

      long head = head();
      Awaitility.await("the rebuild done").atMost(CATCH_UP).pollInterval(Duration.ofMillis(50))
          .until(() -> checkpoint("form-submissions") >= head && deadLetters("form-submissions") == 1);
      assertEquals(5, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'rb-form'"),
          "every form submission before the poison is replayed");
      assertEquals(1, gateway.db().queryLong(
          "SELECT count(*) FROM dead_letters d JOIN events e ON e.position = d.position "
          + "WHERE d.projection = 'form-submissions' AND e.data->>'formId' = 'slow-poison'"));
    } finally {
      gateway.db().execute("DROP TRIGGER slow_poison ON form_submissions");
      gateway.db().execute("DROP FUNCTION slow_poison()");
    }
  }

  @Test
  @DisplayName("GET /v1/admin/dead-letters?projection= (empty, as docs/API.md writes it) lists every projection's, "
      + "like no filter, instead of none")
  void emptyProjectionFilter() {
    gateway.db().execute(
        "ALTER TABLE visitor_activity ADD CONSTRAINT no_filter_poison CHECK (stream_id <> 'filter-poison')");
    try {
      gateway.http().postBatch(HttpTestClient.pageView("filter-poison", "/p"));
      Awaitility.await("the visitor's page view set aside").atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
          .until(() -> deadLettersOf("visitor-activity", "filter-poison") == 1);
    } finally {
      gateway.db().execute("ALTER TABLE visitor_activity DROP CONSTRAINT no_filter_poison");
    }
    JsonArray all = gateway.http().getWithAdminToken("/v1/admin/dead-letters").json().getJsonArray("deadLetters");
    assertTrue(all.size() >= 1);
    Response empty = gateway.http().getWithAdminToken("/v1/admin/dead-letters?projection=");
    assertEquals(200, empty.status(), empty.body());
    assertEquals(all, empty.json().getJsonArray("deadLetters"));
  }

  @Test
  @DisplayName("a dead-letter retry that meets trouble with the database (here a serialization failure) answers 503 "
      + "with Retry-After and counts no attempt; once the trouble is over, the retry applies the event")
  void retryDuringStoreTroubleIsUnavailable() {
    gateway.db().execute(
        "ALTER TABLE visitor_activity ADD CONSTRAINT no_trouble_poison CHECK (stream_id <> 'trouble-poison')");
    try {
      gateway.http().postBatch(HttpTestClient.pageView("trouble-poison", "/p"));
      Awaitility.await("the visitor's page view set aside").atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
          .until(() -> deadLettersOf("visitor-activity", "trouble-poison") == 1);
    } finally {
      gateway.db().execute("ALTER TABLE visitor_activity DROP CONSTRAINT no_trouble_poison");
    }
    long id = gateway.db().queryLong("SELECT d.id FROM dead_letters d JOIN events e ON e.position = d.position "
        + "WHERE d.projection = 'visitor-activity' AND e.stream_id = 'trouble-poison'");
    long attempts = gateway.db().queryLong("SELECT attempts FROM dead_letters WHERE id = ?", id);
    gateway.db().execute("""
        CREATE FUNCTION trouble() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.stream_id = 'trouble-poison' THEN
            RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$""");
    gateway.db().execute("CREATE TRIGGER trouble BEFORE INSERT OR UPDATE ON visitor_activity "
        + "FOR EACH ROW EXECUTE FUNCTION trouble()");
    Response troubled;
    try {
      troubled = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
    } finally {
      gateway.db().execute("DROP TRIGGER trouble ON visitor_activity");
      gateway.db().execute("DROP FUNCTION trouble()");
    }
    assertEquals(503, troubled.status(), troubled.body());
    assertEquals("unavailable", troubled.errorCode());
    assertNotNull(troubled.header("Retry-After"), "Retry-After");
    assertEquals(attempts, gateway.db().queryLong("SELECT attempts FROM dead_letters WHERE id = ?", id),
        "no attempt counted");

    Response applied = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
    assertEquals(200, applied.status(), applied.body());
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters WHERE id = ?", id));
  }

  @Test
  @DisplayName("a new visitor's row written by hand before its first event costs the first try, never a dead letter, "
      + "even with projections.maxAttempts 1")
  void firstTryConflictIsNoAttempt() {
    // the first try inserts a new visitor's row without a conflict check (applyFirstTry); this row breaks that
    gateway.db().execute("""
        INSERT INTO visitor_activity (stream_id, site, first_seen, last_seen, last_position)
        VALUES ('first-try-conflict', 'demo', now(), now(), 0)""");
    gateway.http().postEvents(HttpTestClient.pageView("first-try-conflict", "/hand"));
    long head = head();
    Awaitility.await("visitor-activity past the visitor's first event").atMost(CATCH_UP)
        .pollInterval(Duration.ofMillis(20)).until(() -> checkpoint("visitor-activity") >= head);
    assertEquals(0, deadLettersOf("visitor-activity", "first-try-conflict"));
    assertEquals(1,
        gateway.db().queryLong("SELECT page_views FROM visitor_activity WHERE stream_id = 'first-try-conflict'"));
  }
}
