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
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
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

  private static final String TINY_KEY = "tiny-write-key";
  private static final String SECOND_TINY_KEY = "tiny2-write-key";
  private static final String THIRD_TINY_KEY = "tiny3-write-key";
  /** Three sites of one event a second, ten at once, beside the demo site, whose limits are far away. */
  private static final String TINY_SITES = "[" + tinySite("tiny", TINY_KEY) + "," + tinySite("tiny2", SECOND_TINY_KEY)
      + "," + tinySite("tiny3", THIRD_TINY_KEY) + ",{\"id\":\"demo\",\"writeKey\":\"" + TestGateway.WRITE_KEY
      + "\",\"allowedOrigins\":[\"*\"]}]";

  private static String tinySite(String id, String writeKey) {
    return "{\"id\":\"" + id + "\",\"writeKey\":\"" + writeKey + "\",\"allowedOrigins\":[\"*\"],"
        + "\"rateLimit\":{\"eventsPerSecond\":1,\"burst\":10}}";
  }

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
    return send(http, TINY_KEY, body);
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

  @Test
  @DisplayName("a request answered 503 because the append queue is full gives its rate-limit tokens back: the "
      + "client's retry is stored, not refused 429")
  void queueFullGivesTheTokensBack(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "10",
        "FLIGHTDECK_APPENDER_MAX_QUEUED_EVENTS", "10",
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "20000",
        "FLIGHTDECK_SITES", TINY_SITES));
         Connection lockHolder = db.connect()) {
      HttpTestClient http = gateway.http();
      JsonObject tinyBatch = batchOf(stream("refund-queue"), 10);
      CompletableFuture<HttpTestClient.Response> filler;
      HttpTestClient.Response refused;
      lock(lockHolder, "SELECT pg_advisory_lock(" + POSITION_LOCK + ")");
      try {
        // the demo site's batch waits for the lock and takes every queue place
        filler = http.postEventsAsync(batchOf(stream("refund-filler"), 10));
        await().atMost(Duration.ofSeconds(10)).until(() -> appendsWaitingForLock(db) > 0);
        // takes the tiny site's whole burst, then finds the queue full
        refused = send(http, TINY_KEY, tinyBatch);
      } finally {
        lock(lockHolder, "SELECT pg_advisory_unlock(" + POSITION_LOCK + ")");
      }
      assertError(refused, 503, "unavailable");
      assertAppended(filler.get(15, TimeUnit.SECONDS), 10);

      // at one event a second, the burst would be back only ten seconds after the 503
      assertAppended(send(http, TINY_KEY, tinyBatch), 10);
      assertError(send(http, TINY_KEY, batchOf(stream("refund-queue-over"), 10)), 429, "rate_limited");
    }
  }

  @Test
  @DisplayName("a Segment batch answered 503 because the store stayed down past the retry deadline gives its "
      + "rate-limit tokens back: once the store is back, the client's retry is stored, not refused 429")
  void storeDownGivesTheTokensBackOnTheSegmentApi(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "10",
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "1500",
        "FLIGHTDECK_SITES", TINY_SITES))) {
      HttpTestClient http = gateway.http();
      String user = stream("refund-segment");
      JsonObject batch = segmentBatchOf(user, 10);
      try {
        allowConnections(db, false);
        terminateSessions(db);
        assertError(sendSegment(http, TINY_KEY, batch), 503, "unavailable");
      } finally {
        allowConnections(db, true);
      }

      // the client retries while it is answered 503 (each of those gives its tokens back too) until it is stored
      HttpTestClient.Response retried = await("an answer other than 503").atMost(Duration.ofSeconds(30))
          .until(() -> sendSegment(http, TINY_KEY, batch), r -> r.status() != 503);
      assertEquals(200, retried.status(), retried.body());
      assertEquals(10L, rowsInStream(db, user));
      assertError(sendSegment(http, TINY_KEY, segmentBatchOf(stream("refund-segment-over"), 10)), 429,
          "rate_limited");
    }
  }

  @Test
  @DisplayName("a request refused 400 after the rate limit, or answered with duplicates, still costs its events, "
      + "on /v1/events and on the Segment API alike")
  void invalidAndDuplicateRequestsStillCost(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "10",
        "FLIGHTDECK_SITES", TINY_SITES))) {
      HttpTestClient http = gateway.http();

      JsonObject invalid = batchOf(stream("cost-invalid"), 10);
      invalid.getJsonArray("events").getJsonObject(9).getJsonObject("data").remove("pageId");
      assertError(send(http, TINY_KEY, invalid), 400, "invalid_event");
      assertError(sendSegment(http, TINY_KEY, segmentBatchOf(stream("cost-after-invalid"), 10)), 429,
          "rate_limited");

      JsonObject invalidSegment = segmentBatchOf(stream("cost-invalid-segment"), 10);
      invalidSegment.getJsonArray("batch").getJsonObject(9).put("type", "teleport");
      assertError(sendSegment(http, SECOND_TINY_KEY, invalidSegment), 400, "invalid_event");
      assertError(send(http, SECOND_TINY_KEY, batchOf(stream("cost-after-invalid-segment"), 10)), 429,
          "rate_limited");

      JsonObject five = batchOf(stream("cost-duplicates"), 5);
      assertAppended(send(http, THIRD_TINY_KEY, five), 5);
      HttpTestClient.Response again = send(http, THIRD_TINY_KEY, five);
      assertEquals("duplicate", again.results().getJsonObject(0).getString("status"), again.body());
      assertError(send(http, THIRD_TINY_KEY, five), 429, "rate_limited");
    }
  }

  private static HttpTestClient.Response send(HttpTestClient http, String writeKey, JsonObject body) {
    return http.send(postWith(http, "/v1/events", body.encode(),
        "Content-Type", "application/json", "X-Write-Key", writeKey));
  }

  /** {@code {"batch": [...]}} of {@code n} Segment page calls of one user, each with its own messageId. */
  private static JsonObject segmentBatchOf(String userId, int n) {
    JsonArray batch = new JsonArray();
    for (int k = 0; k < n; k++) {
      batch.add(new JsonObject().put("type", "page").put("userId", userId).put("messageId", userId + "-" + k)
          .put("properties", new JsonObject().put("path", "/" + k)));
    }
    return new JsonObject().put("batch", batch);
  }

  /** A POST /v1/batch of {@code body} with {@code writeKey} as the Basic user name, as Segment's SDKs send it. */
  private static HttpTestClient.Response sendSegment(HttpTestClient http, String writeKey, JsonObject body) {
    String basic = Base64.getEncoder().encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8));
    return http.send(postWith(http, "/v1/batch", body.encode(),
        "Content-Type", "application/json", "Authorization", "Basic " + basic));
  }

  /** Whether the test database takes new connections (the maintenance database always does). */
  private static void allowConnections(TestDatabase db, boolean allow) {
    // database names are identifiers, not parameters; the test database's name is generated and safe
    server(db).execute("ALTER DATABASE " + db.name() + " WITH ALLOW_CONNECTIONS " + allow);
  }

  /** Ends every session on the test database, as an operator or a crash would. */
  private static void terminateSessions(TestDatabase db) {
    server(db).query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? "
        + "AND pid <> pg_backend_pid()", db.name());
  }

  private static TestDatabase server(TestDatabase db) {
    return new TestDatabase(db.urlFor("postgres"));
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
