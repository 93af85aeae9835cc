package io.flightdeck.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Reads waiting for a connection of the read pool, with a small TCP connect timeout (db.connectTimeoutMs). */
@ExtendWith(PostgresExtension.class)
class ReadPoolWaitIT {

  static TestDatabase db;

  @BeforeAll
  static void database(TestDatabase database) {
    db = database;
  }

  static CompletableFuture<Response> read(HttpTestClient http) {
    return http.sendAsync(http.request("/v1/events?after=0")
        .header("Authorization", "Bearer " + TestGateway.READ_TOKEN));
  }

  static double queuedReads(HttpTestClient http) {
    Response r = http.send(http.request("/metrics").GET());
    Double pending = Scrape.parse(r.body()).find("vertx_pool_queue_pending", "pool_name", "flightdeck-read");
    return pending == null ? 0 : pending;
  }

  @Test
  @DisplayName("with the smallest TCP connect timeout the gateway starts, and a read queued behind a busy read "
      + "connection is answered once that connection is free, not 503 after the connect timeout")
  void readQueuedBehindABusyConnectionWaits() throws Exception {
    // one read connection, and no projections, whose reads would queue for it too
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_READ_POOL_SIZE", "1",
        "FLIGHTDECK_DB_CONNECT_TIMEOUT_MS", "100", "FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
         Connection locker = db.connect()) {
      HttpTestClient http = gateway.http();
      assertEquals(200, http.postEvents(HttpTestClient.pageView("pool-wait", "/")).status());
      locker.setAutoCommit(false);
      CompletableFuture<Response> first;
      CompletableFuture<Response> queued;
      try (Statement st = locker.createStatement()) {
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
        first = read(http);
        await("the read connection waits for the lock").atMost(Duration.ofSeconds(10)).until(() -> db.queryLong(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                + "AND application_name = 'flightdeck-read' "
                + "AND wait_event_type = 'Lock'") == 1);
        queued = read(http);
        await("the second read waits for the connection").atMost(Duration.ofSeconds(10))
            .until(() -> queued.isDone() || queuedReads(http) >= 1);
      } finally {
        locker.rollback();
      }
      Response answer = queued.get(30, TimeUnit.SECONDS);
      assertEquals(200, answer.status(), answer.body());
      assertEquals(200, first.get(30, TimeUnit.SECONDS).status());
    }
  }
}
