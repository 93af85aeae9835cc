package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.PostgresExtension;
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
      List<Socket> held = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Socket s = open(gateway);
          assertTrue(answers(s), "connection " + (i + 1) + " of 3 is served");
          held.add(s);
        }
        try (Socket extra = open(gateway)) {
          assertEquals(-1, readOrEof(extra), "the fourth connection is closed without an answer");
        }
        held.remove(0).close();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
          try (Socket again = open(gateway)) {
            return answers(again);
          }
        });
      } finally {
        for (Socket s : held) {
          s.close();
        }
      }
    }
  }

  private static Socket open(TestGateway gateway) throws IOException {
    Socket s = new Socket("127.0.0.1", gateway.port());
    s.setSoTimeout(5000);
    return s;
  }

  private static boolean answers(Socket s) throws IOException {
    s.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] buf = new byte[12];
    int n = s.getInputStream().readNBytes(buf, 0, 12);
    return n == 12 && new String(buf, StandardCharsets.US_ASCII).equals("HTTP/1.1 200");
  }

  private static int readOrEof(Socket s) throws IOException {
    s.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
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
