package io.flightdeck.gateway.projection;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * SIGTERM while a projection's runner waits for its checkpoint's lock, held by another session (a rebuild, a
 * dead-letter retry, another process, an operator): the contract's drain (exit 0 within 10 s) must not wait for that
 * lock, whose wait only the statement timeout (30 s by default) would otherwise end.
 */
@ExtendWith(PostgresExtension.class)
class LockWaitShutdownIT {

  private static final String LOCKED = "visitor-activity";
  private static final String RUNNER = "flightdeck-projection-" + LOCKED;
  private static final String POISONED = "page-stats";
  private static final String ADMIN = "event-counts";
  /** ProjectionSql.LOCK_DEAD_LETTER_IDS's. */
  private static final long DEAD_LETTER_IDS_LOCK = 1178861571L;

  @Test
  @DisplayName("SIGTERM while a projection waits for its locked checkpoint drains in order and exits 0 within 10 s, "
      + "its session gone from the server while the lock is still held, with nothing applied and no failure logged")
  void sigtermGivesUpTheCheckpointLockWait(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url());
         Connection holder = db.connect();
         Statement st = holder.createStatement()) {
      HttpTestClient http = gateway.client();
      long warm = http.postBatch(HttpTestClient.pageView("shutdown-warm", "/warm")).getJsonObject(0)
          .getLong("position");
      await("the projection applied the first event").atMost(Duration.ofSeconds(20))
          .until(() -> checkpoint(db) >= warm && pageViews(db, "shutdown-warm") == 1);

      holder.setAutoCommit(false);
      st.execute("SELECT 1 FROM projection_checkpoints WHERE name = '" + LOCKED + "' FOR UPDATE");
      http.postBatch(HttpTestClient.pageView("shutdown-locked", "/locked"));
      await("the runner waits for the checkpoint's lock").atMost(Duration.ofSeconds(20))
          .until(() -> runnerWaitsForLock(db));
      long before = checkpoint(db);

      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      String out = gateway.stdout();
      assertTrue(out.contains("drained in"), "the drain finished in order\n" + gateway.describe());
      assertFalse(out.contains("drain did not finish"), gateway.describe());
      assertFalse(out.contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
      assertFalse(out.contains("projection " + LOCKED + ": store error"), "no failure counted\n" + gateway.describe());
      // the lease (an advisory lock of that session) is free for another process now, not once the lock is granted
      await("the runner's session has ended on the server").atMost(Duration.ofSeconds(5))
          .until(() -> sessions(db) == 0);

      holder.commit();
      assertEquals(before, checkpoint(db), "the checkpoint is where it was");
      assertEquals(-1, pageViews(db, "shutdown-locked"), "the event that came while locked is not applied");
      assertEquals(1, pageViews(db, "shutdown-warm"), "the read model is as it was");
      assertEquals(0, db.queryLong("SELECT count(*) FROM dead_letters WHERE projection = ?", LOCKED), "no dead letter");
      assertEquals(0, db.queryLong("SELECT count(*) FROM projection_checkpoints WHERE name = ? "
          + "AND last_error IS NOT NULL", LOCKED), "no failure recorded");
    }
  }

  @Test
  @DisplayName("SIGTERM while a projection waits for a lock to set a failing event aside drains in order and exits 0 "
      + "within 10 s, its session gone from the server while the lock is still held, with no dead letter written")
  void sigtermGivesUpTheDeadLetterLockWait(TestDatabase classDb) throws Exception {
    // a store of its own: the event it leaves behind, which page-stats cannot apply, is no other test's business
    TestDatabase db = new TestDatabase(classDb.urlFor(classDb.name() + "_aside"));
    try (GatewayProcess gateway = GatewayProcess.on(db.url(), "FLIGHTDECK_PROJECTIONS_MAX_ATTEMPTS", "1")) {
      // the gateway creates the database
      HttpTestClient http = gateway.client();
      try (Connection holder = db.connect(); Statement st = holder.createStatement()) {
        holdDeadLetterLockAtSigterm(gateway, http, db, st);
      }
    } finally {
      classDb.execute("DROP DATABASE IF EXISTS \"" + db.name() + "\" WITH (FORCE)");
    }
  }

  private static void holdDeadLetterLockAtSigterm(GatewayProcess gateway, HttpTestClient http, TestDatabase db,
                                                  Statement st) throws Exception {
    long warm = http.postBatch(HttpTestClient.pageView("aside-warm", "/warm")).getJsonObject(0)
        .getLong("position");
    await("page-stats applied the first event").atMost(Duration.ofSeconds(20))
        .until(() -> checkpoint(db, POISONED) >= warm);

    // a dead letter is written under this lock (ProjectionSql.LOCK_DEAD_LETTER_IDS), after the checkpoint's
    st.execute("SELECT pg_advisory_lock(" + DEAD_LETTER_IDS_LOCK + ")");
    // a page view without its pageId, which page-stats cannot apply: the store takes any writer's rows
    db.execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
        VALUES (?::uuid, 'aside-poison', 1, 'PageViewed', 1, '{}'::jsonb, '{"site": "demo"}'::jsonb, now())""",
        UUID.randomUUID().toString());
    await("page-stats waits to set the event aside").atMost(Duration.ofSeconds(20))
        .until(() -> waitsForLock(db, "flightdeck-projection-" + POISONED));
    long before = checkpoint(db, POISONED);

    gateway.sendSigterm();
    assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
    String out = gateway.stdout();
    assertTrue(out.contains("drained in"), "the drain finished in order\n" + gateway.describe());
    assertFalse(out.contains("drain did not finish"), gateway.describe());
    assertFalse(out.contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
    await("every runner's session has ended on the server").atMost(Duration.ofSeconds(5))
        .until(() -> db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            + "AND application_name LIKE 'flightdeck-projection-%'") == 0);

    st.execute("SELECT pg_advisory_unlock(" + DEAD_LETTER_IDS_LOCK + ")");
    assertEquals(before, checkpoint(db, POISONED), "the checkpoint is where it was");
    assertEquals(0, db.queryLong("SELECT count(*) FROM dead_letters"), "no dead letter half written");
  }

  @Test
  @DisplayName("SIGTERM while an admin rebuild and a dead-letter retry wait for the projection's lock answers both 503 "
      + "unavailable with Retry-After at once, drains in order and exits 0 within 10 s, with nothing changed")
  void sigtermAnswersAdminChangesWaitingForTheLock(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url());
         Connection holder = db.connect();
         Statement st = holder.createStatement()) {
      HttpTestClient http = gateway.client();
      JsonObject event = HttpTestClient.pageView("admin-warm", "/warm");
      long warm = http.postBatch(event).getJsonObject(0).getLong("position");
      await("event-counts applied the first event").atMost(Duration.ofSeconds(20))
          .until(() -> checkpoint(db, ADMIN) >= warm);
      long counted = db.queryLong("SELECT count(*) FROM event_counts");
      long letter = db.queryLong("INSERT INTO dead_letters (projection, position, event_id, error, attempts) "
          + "VALUES (?, ?, ?::uuid, 'set aside by the test', 1) RETURNING id", ADMIN, warm, event.getString("id"));

      holder.setAutoCommit(false);
      st.execute("SELECT 1 FROM projection_checkpoints WHERE name = '" + ADMIN + "' FOR UPDATE");
      CompletableFuture<Response> rebuild = http.sendAsync(admin(http, "/v1/admin/projections/" + ADMIN + "/rebuild"));
      CompletableFuture<Response> retry = http.sendAsync(admin(http, "/v1/admin/dead-letters/" + letter + "/retry"));
      await("the rebuild and the retry wait for the lock").atMost(Duration.ofSeconds(20))
          .until(() -> db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
              + "AND application_name = 'flightdeck-read' AND wait_event_type = 'Lock'") == 2);
      long before = checkpoint(db, ADMIN);

      gateway.sendSigterm();
      for (CompletableFuture<Response> answer : List.of(rebuild, retry)) {
        Response r = answer.get(10, TimeUnit.SECONDS);
        assertEquals(503, r.status(), r.body());
        assertEquals("unavailable", r.errorCode(), r.body());
        assertNotNull(r.header("Retry-After"), r.body());
      }
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      String out = gateway.stdout();
      assertTrue(out.contains("drained in"), "the drain finished in order\n" + gateway.describe());
      assertFalse(out.contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
      await("the gateway's sessions have ended on the server").atMost(Duration.ofSeconds(5))
          .until(() -> db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
              + "AND application_name LIKE 'flightdeck-%'") == 0);

      holder.commit();
      assertEquals(before, checkpoint(db, ADMIN), "the checkpoint is where it was: no rebuild");
      assertEquals(counted, db.queryLong("SELECT count(*) FROM event_counts"), "the read model is as it was");
      assertEquals(List.of(List.of(1)), db.query("SELECT attempts FROM dead_letters WHERE id = ?", letter),
          "the dead letter is as it was");
    }
  }

  private static HttpRequest.Builder admin(HttpTestClient http, String path) {
    return http.request(path).header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
        .POST(HttpRequest.BodyPublishers.noBody());
  }

  private static long checkpoint(TestDatabase db) {
    return checkpoint(db, LOCKED);
  }

  private static long checkpoint(TestDatabase db, String projection) {
    return ReadModelCheck.checkpoint(db, projection);
  }

  private static boolean waitsForLock(TestDatabase db, String application) {
    return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name = ? AND wait_event_type = 'Lock'", application) > 0;
  }

  private static long pageViews(TestDatabase db, String visitor) {
    return db.queryLong("SELECT COALESCE((SELECT page_views FROM visitor_activity WHERE stream_id = ?), -1)", visitor);
  }

  private static boolean runnerWaitsForLock(TestDatabase db) {
    return waitsForLock(db, RUNNER);
  }

  private static long sessions(TestDatabase db) {
    return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name = ?", RUNNER);
  }
}
