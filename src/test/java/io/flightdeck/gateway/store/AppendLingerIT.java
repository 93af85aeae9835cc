package io.flightdeck.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** appender.lingerMicros: a transaction waits for its oldest request to have waited that long. */
@ExtendWith(PostgresExtension.class)
class AppendLingerIT {

  private static final Duration ANSWERS_WITHIN = Duration.ofSeconds(30);
  /** Long enough that the requests below, sent a little apart, arrive inside it on any machine. */
  private static final long LINGER_MS = 1000;

  /** A gateway whose appender lingers {@link #LINGER_MS}, with nothing but ingest writing. */
  private static TestGateway lingering(TestDatabase db) {
    return TestGateway.start(db, Map.of(
        "FLIGHTDECK_APPENDER_LINGER_MICROS", Long.toString(LINGER_MS * 1000),
        "FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
  }

  @Test
  @DisplayName("requests trickling in while the oldest lingers share its transaction, answered after the linger")
  void tricklingRequestsShareATransaction(TestDatabase db) throws Exception {
    try (TestGateway gateway = lingering(db)) {
      List<CompletableFuture<Response>> sent = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < 3; i++) {
        // without a linger the first request commits alone long before the next arrives
        sent.add(gateway.http().postEventsAsync(HttpTestClient.pageView("linger-" + i, "/landing")));
        Thread.sleep(100);
      }
      Response first = sent.get(0).get(ANSWERS_WITHIN.toSeconds(), TimeUnit.SECONDS);
      long firstAnsweredMs = (System.nanoTime() - start) / 1_000_000;
      for (Response r : StoreProbe.all(sent, ANSWERS_WITHIN)) {
        assertEquals(200, r.status(), r.body());
        assertEquals("appended", r.results().getJsonObject(0).getString("status"));
      }
      assertEquals(200, first.status(), first.body());
      assertTrue(firstAnsweredMs >= LINGER_MS, "answered after " + firstAnsweredMs + " ms, before the linger ended");
      assertEquals(1L, db.queryLong("SELECT count(DISTINCT tx_id) FROM events WHERE stream_id LIKE 'linger-%'"),
          "three requests within the linger, one transaction");
    }
  }

  @Test
  @DisplayName("once as many requests wait as the largest recent group held, they go without waiting out the linger")
  void aFullHouseStopsTheLinger(TestDatabase db) throws Exception {
    try (TestGateway gateway = lingering(db)) {
      // three clients, one request each, trickling in: one group of three, sent when the linger ends
      List<CompletableFuture<Response>> first = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        first.add(gateway.http().postEventsAsync(HttpTestClient.pageView("house-1-" + i, "/landing")));
        Thread.sleep(100);
      }
      StoreProbe.all(first, ANSWERS_WITHIN).forEach(r -> assertEquals(200, r.status(), r.body()));

      // the same three are back at once, as clients with one request in flight are after their answers, and a
      // fourth comes a little later, still well inside the linger: the three do not wait for it
      List<CompletableFuture<Response>> again = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        again.add(gateway.http().postEventsAsync(HttpTestClient.pageView("house-2-" + i, "/landing")));
      }
      Thread.sleep(LINGER_MS / 4);
      again.add(gateway.http().postEventsAsync(HttpTestClient.pageView("house-3", "/landing")));
      StoreProbe.all(again, ANSWERS_WITHIN).forEach(r -> assertEquals(200, r.status(), r.body()));

      assertEquals(1L, db.queryLong("SELECT count(DISTINCT tx_id) FROM events WHERE stream_id LIKE 'house-1-%'"));
      assertEquals(1L, db.queryLong("SELECT count(DISTINCT tx_id) FROM events WHERE stream_id LIKE 'house-2-%'"),
          "the three sent at once shared a transaction");
      assertEquals(0L, db.queryLong("""
          SELECT count(*) FROM events a JOIN events b ON a.tx_id = b.tx_id
          WHERE a.stream_id = 'house-3' AND b.stream_id LIKE 'house-2-%'"""),
          "the three went without waiting for the fourth");
    }
  }

  @Test
  @DisplayName("a gateway stopping while a request lingers commits it instead of waiting out the linger")
  void stoppingDoesNotLinger(TestDatabase db) throws Exception {
    TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_APPENDER_LINGER_MICROS", "1000000",
        // the HTTP side stops waiting for in-flight requests long before the linger ends, so the appender is
        // stopped while the request still lingers in its queue
        "FLIGHTDECK_HTTP_SHUTDOWN_TIMEOUT_MS", "0",
        "FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
    try {
      CompletableFuture<Response> sent = gateway.http().postEventsAsync(
          HttpTestClient.pageView("stop-1", "/landing"));
      await().atMost(ANSWERS_WITHIN).until(() -> gateway.registry().find("flightdeck.append.queue.depth").gauge()
          .value() == 1);
      // the appender's linger timer dies with it: a stop that waited for the timer would never end
      gateway.stop(ANSWERS_WITHIN);
      assertEquals(1L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'stop-1'"),
          "committed when the appender stopped");
      sent.handle((r, e) -> null).get(ANSWERS_WITHIN.toSeconds(), TimeUnit.SECONDS);
    } finally {
      gateway.vertx().close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
  }
}
