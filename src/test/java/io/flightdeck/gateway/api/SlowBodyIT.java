package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class SlowBodyIT {

  @Test
  @DisplayName("a client that never finishes its body gets 408 request_timeout and a closed connection")
  void bodyThatNeverArrivesTimesOut(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", "500"));
         Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "X-Write-Key: demo-write-key\r\nContent-Length: 1000\r\n\r\n{\"type\":").getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      assertTrue(answer.contains("\"code\":\"request_timeout\""), answer);
      assertEquals(0L, db.queryLong("SELECT count(*) FROM events"));
    }
  }
}
