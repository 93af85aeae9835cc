package io.flightdeck.gateway.ingest;

import static io.flightdeck.gateway.ingest.IngestRequests.assertAppended;
import static io.flightdeck.gateway.ingest.IngestRequests.assertError;
import static io.flightdeck.gateway.ingest.IngestRequests.assertRetryAfter;
import static io.flightdeck.gateway.ingest.IngestRequests.batch;
import static io.flightdeck.gateway.ingest.IngestRequests.batchOf;
import static io.flightdeck.gateway.ingest.IngestRequests.post;
import static io.flightdeck.gateway.ingest.IngestRequests.postWith;
import static io.flightdeck.gateway.ingest.IngestRequests.rowsInStream;
import static io.flightdeck.gateway.ingest.IngestRequests.stream;
import static io.flightdeck.gateway.support.HttpTestClient.pageView;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** When the gateway must say "not now": a site over its rate limit (429), a full append queue (503). */
@ExtendWith(PostgresExtension.class)
class IngestBackpressureIT {

  /** The key every insert into events takes first (V1__event_store.sql); holding it stalls all appends. */
  private static final long POSITION_LOCK = 1178861569L;

  @Test
  @DisplayName("a site that has used up its burst is refused with 429 rate_limited and Retry-After, storing nothing")
  void siteOverItsRateIsRefused(TestDatabase db) throws Exception {
    String tinySite = "[{\"id\":\"tiny\",\"writeKey\":\"tiny-write-key\",\"allowedOrigins\":[\"*\"],"
        + "\"rateLimit\":{\"eventsPerSecond\":1,\"burst\":10}}]";
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "10",
        "FLIGHTDECK_SITES", tinySite))) {
      HttpTestClient http = gateway.http();
      String first = stream("tiny-1");
      String second = stream("tiny-2");

      assertAppended(send(http, batchOf(first, 10)), 10);
      // ten more events need ten seconds of refill at one event per second
      HttpTestClient.Response r = send(http, batchOf(second, 10));

      assertError(r, 429, "rate_limited");
      assertRetryAfter(r);
      assertEquals(10L, rowsInStream(db, first));
      assertEquals(0L, rowsInStream(db, second));
    }
  }

  private static HttpTestClient.Response send(HttpTestClient http, JsonObject body) {
    return http.send(postWith(http, "/v1/events", body.encode(),
        "Content-Type", "application/json", "X-Write-Key", "tiny-write-key"));
  }

  @Test
  @DisplayName("when the append queue is full the gateway answers 503 with Retry-After, and queued events still land")
  void fullQueueAnswers503(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "10",
        "FLIGHTDECK_APPENDER_MAX_QUEUED_EVENTS", "10",
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "20000"));
         Connection lockHolder = db.connect()) {
      HttpTestClient http = gateway.http();
      String queued = stream("queued");
      String refused = stream("refused");

      lock(lockHolder, "SELECT pg_advisory_lock(" + POSITION_LOCK + ")");
      CompletableFuture<HttpTestClient.Response> first = http.postEventsAsync(batchOf(queued, 10));
      // the batch has reached the store and waits for the lock: all ten queue places are taken
      await().atMost(Duration.ofSeconds(10)).until(() -> appendsWaitingForLock(db) > 0);

      // refused at once, not queued behind the lock: a short timeout makes a queued request fail here
      HttpTestClient.Response r = http.send(post(http, pageView(refused, "/one-too-many").encode())
          .timeout(Duration.ofSeconds(5)));

      assertError(r, 503, "unavailable");
      assertRetryAfter(r);
      assertFalse(first.isDone(), "the queued batch is not answered before it is committed");
      assertEquals(0L, rowsInStream(db, queued));

      lock(lockHolder, "SELECT pg_advisory_unlock(" + POSITION_LOCK + ")");

      assertAppended(first.get(15, TimeUnit.SECONDS), 10);
      assertEquals(10L, rowsInStream(db, queued));
      assertEquals(0L, rowsInStream(db, refused));
      assertAppended(http.postEvents(pageView(refused, "/retried")), 1);
    }
  }

  private static void lock(Connection c, String sql) throws Exception {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  /** Sessions of this database waiting for the position lock (a bigint key shows as classid 0, objid key). */
  private static long appendsWaitingForLock(TestDatabase db) {
    return db.queryLong("""
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = ? AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""", POSITION_LOCK);
  }
}
