package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class ConnectionLimitIT {

  @Test
  @DisplayName("connections beyond http.maxConnections are closed at once, and a slot frees when one closes")
  void connectionsBeyondTheLimitAreClosed(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_MAX_CONNECTIONS", "3"))) {
      assertCapped(gateway.port(), 3, "/health/live");
      Scrape scrape = Scrape.parse(gateway.http().send(gateway.http().request("/metrics").GET()).body());
      assertTrue(scrape.value("flightdeck_http_connections_closed_total", "reason", "max_connections") >= 1,
          "refused connections are counted");
    }
  }

  @Test
  @DisplayName("a connection counts from the moment it is accepted: sockets that never finish a request fill the cap")
  void connectionsCountBeforeTheirFirstRequest(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_MAX_CONNECTIONS", "2"));
         Socket silent = open(gateway.port());
         Socket partial = open(gateway.port())) {
      partial.getOutputStream().write("GET /health/live HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
        try (Socket third = open(gateway.port())) {
          return readOrEof(third, "/health/live") == -1;
        }
      });
      silent.close();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
        try (Socket again = open(gateway.port())) {
          return answers(again, "/health/live");
        }
      });
    }
  }

  @Test
  @DisplayName("the management port caps its connections at metrics.maxConnections, apart from the main port's")
  void managementPortIsCapped(TestDatabase db) throws Exception {
    int port = TestGateway.freePort();
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_PORT", String.valueOf(port),
        "FLIGHTDECK_METRICS_MAX_CONNECTIONS", "2"))) {
      assertCapped(port, 2, "/metrics");
      try (Socket main = open(gateway.port())) {
        assertTrue(answers(main, "/health/live"), "the main port is not limited by the management port's cap");
      }
    }
  }

  /** {@code max} connections are served; one more is closed unanswered; closing one lets a new one in. */
  private static void assertCapped(int port, int max, String path) throws Exception {
    List<Socket> held = new ArrayList<>();
    try {
      for (int i = 0; i < max; i++) {
        Socket s = open(port);
        assertTrue(answers(s, path), "connection " + (i + 1) + " of " + max + " is served");
        held.add(s);
      }
      try (Socket extra = open(port)) {
        assertEquals(-1, readOrEof(extra, path), "connection " + (max + 1) + " is closed without an answer");
      }
      held.remove(0).close();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
        try (Socket again = open(port)) {
          return answers(again, path);
        }
      });
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  private static Socket open(int port) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(5000);
    return s;
  }

  private static boolean answers(Socket s, String path) throws IOException {
    s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    byte[] buf = new byte[12];
    int n = s.getInputStream().readNBytes(buf, 0, 12);
    return n == 12 && new String(buf, StandardCharsets.US_ASCII).equals("HTTP/1.1 200");
  }

  private static int readOrEof(Socket s, String path) throws IOException {
    s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    InputStream in = s.getInputStream();
    try {
      return in.read();
    } catch (SocketTimeoutException e) {
      return -2;
    } catch (IOException reset) {
      return -1;
    }
  }
}
