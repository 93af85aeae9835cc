package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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

  private static void awaitHeld(TestGateway gateway, double bytes) {
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Scrape.parse(gateway.http()
        .send(gateway.http().request("/metrics?name%5B%5D=flightdeck_http_body_buffered_bytes").GET()).body())
        .value("flightdeck_http_body_buffered_bytes") == bytes);
  }
}
