package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class ResponseBudgetIT {

  @Test
  @DisplayName("read answers that clients have not taken are capped at http.maxUnsentResponseBytes: past it, 503 "
      + "with Retry-After; the bytes are given back when the client takes them or goes away")
  void unreadAnswersBeyondTheBudgetAreRefused(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_MAX_UNSENT_RESPONSE_BYTES",
        String.valueOf(1 << 20)))) {
      // 400 events of 30 KB: a page of about 8 MiB (a page stops there), more than loopback's socket buffers take
      // off the gateway's hands
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'fat', g, 'PageViewed', 1,
                 jsonb_build_object('pageId', '/fat', 'note', repeat('x', 30000)), '{"site": "demo"}', now()
          FROM generate_series(1, 400) g""");
      try (Socket reader = askAndNeverRead(gateway, "/v1/streams/fat/events?limit=1000", TestGateway.READ_TOKEN)) {

        Response refused = gateway.http().getWithReadToken("/v1/streams/fat/events?limit=1");
        assertEquals(503, refused.status(), refused.body());
        assertEquals("unavailable", refused.errorCode());
        assertEquals("1", refused.header("Retry-After"));
        assertEquals(200, gateway.http().getWithReadToken("/health/live").status(), "small answers still go out");
      }
      // the reader went away: its page is no longer held
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> unsent(gateway) == 0);
      Response page = gateway.http().getWithReadToken("/v1/streams/fat/events?limit=1000");
      assertEquals(200, page.status());
      assertTrue(page.body().length() > 8 * (1 << 20), "one answer alone goes out, eight times the budget");
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> unsent(gateway) == 0);
    }
  }

  @Test
  @DisplayName("a dead-letter page counts against the same budget as every other read answer: a page a client "
      + "does not take makes the next read answer 503 with Retry-After, events or dead letters alike")
  void deadLetterPagesShareTheBudget(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_MAX_UNSENT_RESPONSE_BYTES",
        String.valueOf(1 << 20)))) {
      // 1,000 dead letters whose errors are as long as the engine keeps them (2,000 characters), of control
      // characters that JSON writes as six bytes each: a page of about 12 MB, more than loopback's socket buffers
      // take off the gateway's hands
      db.execute("INSERT INTO projection_checkpoints (name) VALUES ('budget-retired')");
      db.execute("""
          INSERT INTO dead_letters (projection, position, event_id, error, attempts)
          SELECT 'budget-retired', g, gen_random_uuid(), repeat(chr(1), 2000), 3 FROM generate_series(1, 1000) g""");
      String page = "/v1/admin/dead-letters?projection=budget-retired&limit=1000";
      try (Socket reader = askAndNeverRead(gateway, page, TestGateway.ADMIN_TOKEN)) {

        Response refused = gateway.http().getWithAdminToken("/v1/admin/dead-letters?limit=1");
        assertEquals(503, refused.status(), refused.body());
        assertEquals("unavailable", refused.errorCode());
        assertEquals("1", refused.header("Retry-After"));
        assertEquals(503, gateway.http().getWithReadToken("/v1/events?limit=1").status(), "one budget for all reads");
      }
      // the reader went away: its page is no longer held, and one page alone goes out whatever its size
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> unsent(gateway) == 0);
      Response letters = gateway.http().getWithAdminToken(page);
      assertEquals(200, letters.status());
      assertEquals(1000, letters.json().getJsonArray("deadLetters").size());
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> unsent(gateway) == 0);
    }
  }

  /**
   * Asks for {@code path} with a small receive buffer and never reads: the answer stays in the gateway's memory,
   * and counts. Returns once more than 1 MiB of it is held.
   */
  private static Socket askAndNeverRead(TestGateway gateway, String path, String token) throws IOException {
    Socket reader = new Socket();
    try {
      reader.setReceiveBufferSize(8 * 1024);
      reader.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
      reader.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n"
          + "Authorization: Bearer " + token + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> unsent(gateway) > 1 << 20);
      return reader;
    } catch (IOException | RuntimeException e) {
      reader.close();
      throw e;
    }
  }

  private static double unsent(TestGateway gateway) {
    return Scrape.parse(gateway.http().send(gateway.http()
        .request("/metrics?name%5B%5D=flightdeck_http_response_unsent_bytes").GET()).body())
        .value("flightdeck_http_response_unsent_bytes");
  }
}
