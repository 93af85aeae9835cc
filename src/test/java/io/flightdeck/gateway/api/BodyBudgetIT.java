package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class BodyBudgetIT {

  @Test
  @DisplayName("request bodies held by the process are capped at http.maxBufferedBodyBytes: past it, 503 with "
      + "Retry-After before the body is read; a slot frees when a held request ends")
  void bodiesBeyondTheBudgetAreRefused(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BODY_BYTES", "1024",
        "FLIGHTDECK_HTTP_MAX_BUFFERED_BODY_BYTES", "2048",
        "FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", "60000"))) {
      HttpTestClient http = gateway.http();
      try (Socket first = holdBody(gateway)) {
        awaitHeld(gateway, 1000);
        assertEquals(200, http.postEvents(HttpTestClient.pageView("budget-1", "/a")).status(),
            "a small body still fits beside one held kilobyte");
        // its reservation is given back once its answer is done (just after the client has it)
        awaitHeld(gateway, 1000);
        try (Socket second = holdBody(gateway)) {
          awaitHeld(gateway, 2000);
          Response refused = http.postEvents(HttpTestClient.pageView("budget-2", "/b"));
          assertEquals(503, refused.status(), refused.body());
          assertEquals("unavailable", refused.errorCode());
          assertEquals("1", refused.header("Retry-After"));
        }
      }
      // the held requests' connections closed: their reservations are given back
      awaitHeld(gateway, 0);
      assertEquals(200, http.postEvents(HttpTestClient.pageView("budget-3", "/c")).status());
      assertEquals(2L, db.queryLong("SELECT count(*) FROM events"));
    }
  }

  @Test
  @DisplayName("a request whose client goes away while its events wait in the append queue keeps its body's "
      + "reservation until the appender answers it: the events stay in memory that long, so clients that give up "
      + "and send again cannot fill the queue past http.maxBufferedBodyBytes")
  void reservationOutlivesTheClientWhileTheAppendIsQueued(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BODY_BYTES", "1024",
        "FLIGHTDECK_HTTP_MAX_BUFFERED_BODY_BYTES", "2048",
        // the appends wait on the table lock far longer than this test takes
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "60000"));
         Connection locker = db.connect()) {
      HttpTestClient http = gateway.http();
      assertEquals(200, http.postEvents(HttpTestClient.pageView("queued-before", "/")).status());
      locker.setAutoCommit(false);
      try (Statement st = locker.createStatement()) {
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      }
      try {
        try (Socket first = postWhole(gateway, HttpTestClient.pageView("queued-gone", "/a"));
             Socket second = postWhole(gateway, HttpTestClient.pageView("queued-gone", "/b"))) {
          Awaitility.await("both appends are queued").atMost(Duration.ofSeconds(10))
              .until(() -> scrape(gateway).value("flightdeck_append_queue_depth") == 2);
        }
        Awaitility.await("the gateway saw both clients go").atMost(Duration.ofSeconds(10))
            .until(() -> scrape(gateway).has("vertx_http_server_request_resets_total")
                && scrape(gateway).value("vertx_http_server_request_resets_total") >= 2);
        assertEquals(2000.0, scrape(gateway).value("flightdeck_http_body_buffered_bytes"),
            "the queued events of requests whose clients left are still held");
        Response refused = http.postEvents(HttpTestClient.pageView("queued-refused", "/c"));
        assertEquals(503, refused.status(), refused.body());
        assertEquals("1", refused.header("Retry-After"));
      } finally {
        locker.rollback();
      }
      awaitHeld(gateway, 0);
      assertEquals(2L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'queued-gone'"),
          "the appender still stores what it accepted");
      assertEquals(0L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'queued-refused'"));
    }
  }

  @Test
  @DisplayName("a gzip body reserves the whole body limit, not its length on the wire: decoded, it may be that large")
  void gzipBodiesReserveTheLimit(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_INGEST_MAX_BODY_BYTES", "1024",
        "FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", "60000"));
         Socket held = new Socket("127.0.0.1", gateway.port())) {
      held.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Encoding: gzip\r\nX-Write-Key: demo-write-key\r\nContent-Length: 40\r\n\r\n\u001f")
          .getBytes(StandardCharsets.ISO_8859_1));
      held.getOutputStream().flush();

      awaitHeld(gateway, 1024);
    }
  }

  /** A request whose head promises a 1000-byte body, of which only the first byte ever comes. */
  private static Socket holdBody(TestGateway gateway) throws IOException {
    Socket s = new Socket("127.0.0.1", gateway.port());
    s.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "X-Write-Key: demo-write-key\r\nContent-Length: 1000\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return s;
  }

  /**
   * A whole ingest request for {@code event}, its body padded with spaces to 1000 bytes, sent on a socket of its own
   * that the caller closes.
   */
  private static Socket postWhole(TestGateway gateway, JsonObject event) throws IOException {
    byte[] body = String.format("%-1000s", event.encode()).getBytes(StandardCharsets.UTF_8);
    Socket s = new Socket("127.0.0.1", gateway.port());
    s.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "X-Write-Key: demo-write-key\r\nContent-Length: " + body.length + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().write(body);
    s.getOutputStream().flush();
    return s;
  }

  private static Scrape scrape(TestGateway gateway) {
    return Scrape.parse(gateway.http().send(gateway.http().request("/metrics").GET()).body());
  }

  private static void awaitHeld(TestGateway gateway, double bytes) {
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Scrape.parse(gateway.http()
        .send(gateway.http().request("/metrics?name%5B%5D=flightdeck_http_body_buffered_bytes").GET()).body())
        .value("flightdeck_http_body_buffered_bytes") == bytes);
  }
}
