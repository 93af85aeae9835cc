package io.flightdeck.gateway.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The gateway's own log output, as an operator's log shipper reads it from a real process. */
@ExtendWith(PostgresExtension.class)
class LogsIT {

  static final String READ = "read-token-for-logs-7f3a";
  static final String ADMIN = "admin-token-for-logs-9c1e";
  static final String KEY = "write-key-for-logs-2b8d";
  static final String SITES = "[{\"id\":\"logs\",\"writeKey\":\"" + KEY + "\",\"allowedOrigins\":[\"*\"]}]";
  /** LogsIT's site, without a rate limit in the way of the big events that fill a slow client's buffer. */
  static final String UNLIMITED_SITES = "[{\"id\":\"logs\",\"writeKey\":\"" + KEY + "\",\"allowedOrigins\":[\"*\"],"
      + "\"rateLimit\":{\"eventsPerSecond\":100000,\"burst\":200000}}]";

  /** Requests carrying every secret there is, in every place a client can put it. */
  static void traffic(HttpTestClient http) {
    String event = HttpTestClient.pageView("log-visitor", "/logs").encode();
    assertEquals(200, http.send(http.request("/v1/events?writeKey=" + KEY).header("Content-Type", "text/plain")
        .header("X-Forwarded-For", "203.0.113.77").POST(HttpRequest.BodyPublishers.ofString(event))).status());
    assertEquals(200, http.send(http.request("/v1/events").header("Content-Type", "application/json")
        .header("X-Write-Key", KEY).POST(HttpRequest.BodyPublishers.ofString(event))).status());
    assertEquals(401, http.send(http.request("/v1/events").header("Content-Type", "application/json")
        .header("X-Write-Key", "wrong-" + KEY).POST(HttpRequest.BodyPublishers.ofString(event))).status());
    assertEquals(200, http.send(http.request("/v1/streams/log-visitor/events?access_token=" + READ).GET()).status());
    assertEquals(200, http.send(http.request("/v1/admin/projections").header("Authorization", "Bearer " + ADMIN)
        .GET()).status());
    assertEquals(401, http.send(http.request("/v1/events?access_token=wrong-" + READ).GET()).status());
    assertEquals(404, http.send(http.request("/no/such/path?access_token=" + READ).GET()).status());
  }

  static void assertNoSecrets(List<String> lines) {
    for (String line : lines) {
      for (String secret : new String[] {READ, ADMIN, KEY, "203.0.113", "127.0.0.1", "log-visitor"}) {
        assertFalse(line.contains(secret), "a log line holds '" + secret + "': " + line);
      }
    }
  }

  @Test
  @DisplayName("with FLIGHTDECK_LOG_FORMAT=json every line is a JSON object, one access line per request, no secret")
  void jsonLines(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(Map.of("FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_LOG_FORMAT", "json", "FLIGHTDECK_READ_TOKEN", READ,
        "FLIGHTDECK_ADMIN_TOKEN", ADMIN, "FLIGHTDECK_SITES", SITES))) {
      HttpTestClient http = gateway.client();
      traffic(http);
      Awaitility.await("access lines written").atMost(Duration.ofSeconds(10))
          .until(() -> gateway.stdout().contains("GET (unmatched) 404"));
      List<String> lines = gateway.stdout().lines().filter(l -> !l.isBlank()).toList();
      List<String> messages = lines.stream().map(LogsIT::json).map(j -> j.getString("formattedMessage")).toList();
      assertTrue(messages.contains("POST /v1/events 200") || messages.stream()
          .anyMatch(m -> m.matches("POST /v1/events 200 \\d+ms")), String.join("\n", messages));
      for (String expected : new String[] {"POST /v1/events 401", "GET /v1/streams/:streamId/events 200",
          "GET /v1/admin/projections 200", "GET /v1/events 401", "GET (unmatched) 404"}) {
        assertTrue(messages.stream().anyMatch(m -> m.startsWith(expected + " ")), expected + " in " + messages);
      }
      JsonObject first = json(lines.get(0));
      assertTrue(first.containsKey("timestamp") && first.containsKey("level") && first.containsKey("loggerName"),
          first.encode());
      assertNoSecrets(lines);
      assertNoSecrets(gateway.stderr().lines().toList());
    }
  }

  @Test
  @DisplayName("the default human-readable log holds no secret, token, stream id or client address either")
  void textLines(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(Map.of("FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_READ_TOKEN", READ, "FLIGHTDECK_ADMIN_TOKEN", ADMIN,
        "FLIGHTDECK_SITES", SITES))) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      HttpTestClient http = new HttpTestClient("http://127.0.0.1:" + port);
      traffic(http);
      // a client that goes away in the middle of its body got no answer: its line must not say 200
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
        socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: 59\r\n\r\n{\"type\":").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        Thread.sleep(300);
      } catch (java.io.IOException | InterruptedException e) {
        throw new AssertionError(e);
      }
      Awaitility.await("access lines written").atMost(Duration.ofSeconds(10))
          .until(() -> gateway.stdout().contains("GET (unmatched) 404")
              && gateway.stdout().contains("POST /v1/events 499 "));
      assertTrue(gateway.stdout().contains(" INFO  "), gateway.stdout());
      assertNoSecrets(gateway.stdout().lines().toList());
      assertNoSecrets(gateway.stderr().lines().toList());
    }
  }

  @Test
  @DisplayName("a live stream gets one access line when it ends, with its status, duration, events and bytes sent "
      + "and why it ended: the client closed it, it was cut off as slow, or the server shut down")
  void liveStreamLines(TestDatabase db) throws Exception {
    // a small buffer and a short stall time: a client that stops reading is cut off after a few big events
    try (GatewayProcess gateway = GatewayProcess.start(Map.of("FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_READ_TOKEN", READ, "FLIGHTDECK_ADMIN_TOKEN", ADMIN,
        "FLIGHTDECK_SITES", UNLIMITED_SITES, "FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", "196608",
        "FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", "1000"))) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      String base = "http://127.0.0.1:" + port;
      HttpTestClient http = new HttpTestClient(base);

      // the client closes its stream after one event
      try (SseTestClient reader = SseTestClient.open(base, "/v1/live?access_token=" + READ, Map.of())) {
        assertEquals(200, reader.status());
        post(http, new JsonArray().add(HttpTestClient.pageView("log-visitor", "/live")));
        reader.take(1, Duration.ofSeconds(10));
      }
      String closed = awaitLine(gateway, "ended=client_closed");
      assertTrue(closed.matches(".*GET /v1/live 200 \\d+ms events=1 bytes=\\d+ ended=client_closed"), closed);
      assertTrue(bytes(closed) > 100, closed);

      // a client that stops reading is cut off
      try (Socket stalled = stalledSubscriber(port)) {
        String blob = "x".repeat(30 * 1024);
        for (int i = 0; i < 2048 && !gateway.stdout().contains("ended=slow_client"); i += 2) {
          JsonArray big = new JsonArray();
          for (int k = i; k < i + 2; k++) {
            JsonObject view = HttpTestClient.pageView("log-visitor", "/big/" + k);
            big.add(view.put("data", view.getJsonObject("data").put("blob", blob)));
          }
          post(http, big);
        }
        String slow = awaitLine(gateway, "ended=slow_client");
        assertTrue(slow.matches(".*GET /v1/live 200 \\d+ms events=\\d+ bytes=\\d+ ended=slow_client"), slow);
      }

      // the server shuts down with a stream open
      try (SseTestClient open = SseTestClient.open(base, "/v1/live?access_token=" + READ, Map.of())) {
        assertEquals(200, open.status());
        open.nextComment(Duration.ofSeconds(10));
        gateway.sendSigterm();
        assertEquals(0, gateway.waitFor(Duration.ofSeconds(30)));
      }
      String shutdown = awaitLine(gateway, "ended=shutdown");
      assertTrue(shutdown.matches(".*GET /v1/live 200 \\d+ms events=0 bytes=\\d+ ended=shutdown"), shutdown);
      assertEquals(3, gateway.stdout().lines().filter(l -> l.contains("GET /v1/live ")).count(), gateway.stdout());
      assertNoSecrets(gateway.stdout().lines().toList());
    }
  }

  private static void post(HttpTestClient http, JsonArray events) {
    Response r = http.send(http.request("/v1/events").header("Content-Type", "application/json")
        .header("X-Write-Key", KEY).POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("events", events)
            .encode())));
    assertEquals(200, r.status(), r.body());
  }

  /** The one stdout line holding {@code marker}, once there. */
  private static String awaitLine(GatewayProcess gateway, String marker) {
    Awaitility.await(marker).atMost(Duration.ofSeconds(20)).until(() -> gateway.stdout().contains(marker));
    List<String> lines = gateway.stdout().lines().filter(l -> l.contains(marker)).toList();
    assertEquals(1, lines.size(), gateway.stdout());
    return lines.get(0);
  }

  private static long bytes(String line) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(" bytes=(\\d+) ").matcher(line);
    assertTrue(m.find(), line);
    return Long.parseLong(m.group(1));
  }

  /** A stream over HTTP/1.1 whose client reads its greeting, then nothing more, through a small receive buffer. */
  private static Socket stalledSubscriber(int port) throws IOException {
    Socket stalled = new Socket();
    stalled.setReceiveBufferSize(4096);
    stalled.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    stalled.getOutputStream().write(("GET /v1/live?access_token=" + READ + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
        + "\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    stalled.getOutputStream().flush();
    stalled.setSoTimeout(10_000);
    ByteArrayOutputStream read = new ByteArrayOutputStream();
    while (!read.toString(StandardCharsets.US_ASCII).endsWith(": connected\n\n")) {
      int b = stalled.getInputStream().read();
      assertTrue(b >= 0, "the stream ended before its greeting: " + read);
      read.write(b);
    }
    assertTrue(read.toString(StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"), read.toString());
    return stalled;
  }

  @Test
  @DisplayName("a read answered 503 is logged by its route template, never its path: no stream id in the warning")
  void serverErrorLinesNameTheRoute(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url(), "FLIGHTDECK_READ_TOKEN", READ, "FLIGHTDECK_ADMIN_TOKEN",
        ADMIN, "FLIGHTDECK_SITES", SITES, "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "300")) {
      HttpTestClient http = gateway.client();
      // the events table held: the read's statement is cancelled at the statement timeout, and answered 503
      try (java.sql.Connection held = db.connect(); java.sql.Statement st = held.createStatement()) {
        held.setAutoCommit(false);
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
        Response r = http.send(http.request("/v1/streams/log-visitor/events").header("Authorization",
            "Bearer " + READ).GET());
        assertEquals(503, r.status(), r.body());
      }
      Awaitility.await("the warning written").atMost(Duration.ofSeconds(10))
          .until(() -> gateway.stdout().contains("answered 503"));
      assertTrue(gateway.stdout().contains("GET /v1/streams/:streamId/events answered 503"), gateway.stdout());
      assertNoSecrets(gateway.stdout().lines().toList());
    }
  }

  @Test
  @DisplayName("a request HTTP itself refuses (a tracking POST whose headers are over the limit, a Content-Length that "
      + "is not a number) gets its access line too, with its status")
  void refusedByHttpGetAccessLines(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url(), "FLIGHTDECK_SITES", SITES)) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      String body = HttpTestClient.pageView("log-visitor", "/cookies").encode();
      for (String request : List.of(
          "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nX-Write-Key: " + KEY
              + "\r\nCookie: c=" + "x".repeat(9000) + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
          "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
          socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
          io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream());
        }
      }
      Awaitility.await("both access lines written").atMost(Duration.ofSeconds(10))
          .until(() -> gateway.stdout().contains("POST /v1/events 431 ") && gateway.stdout().contains(" 400 "));
      assertNoSecrets(gateway.stdout().lines().toList());
    }
  }

  @Test
  @DisplayName("requests HTTP cannot parse, or whose query or path does not decode, log none of the tokens they carry")
  void malformedRequestsLogNoSecret(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url(), "FLIGHTDECK_READ_TOKEN", READ, "FLIGHTDECK_ADMIN_TOKEN",
        ADMIN, "FLIGHTDECK_SITES", SITES, "FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true")) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      String auth = "Authorization: Bearer " + READ + "\r\nX-Write-Key: " + KEY + "\r\n";
      List<String> requests = List.of(
          "GET /v1/events?access_token=" + READ + " HTTP/1.1\r\nHost: x\r\n" + auth + "no colon " + ADMIN + "\r\n\r\n",
          "POST /v1/events?writeKey=" + KEY + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: abc\r\n\r\n{}",
          "POST /v1/events?writeKey=" + KEY + " HTTP/1.1\r\nHost: x\r\n" + auth
              + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
          "GET /v1/events?access_token=" + READ + "&x=" + "a".repeat(9000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
          "GET /v1/events HTTP/1.1\r\nHost: x\r\n" + auth + "X-Big: " + "b".repeat(9000) + "\r\n\r\n",
          "GET /v1/streams/%zz/events?access_token=" + READ + " HTTP/1.1\r\nHost: x\r\n\r\n",
          "GET /v1/events?access_token=" + READ + "&%zz=1 HTTP/1.1\r\nHost: x\r\n\r\n",
          "GET /v1/events?access_token=" + READ + "&access_token=" + ADMIN + " HTTP/1.1\r\nHost: x\r\n\r\n",
          "GET /v1/live?access_token=" + READ + "&lastEventId=" + ADMIN + " HTTP/1.1\r\nHost: x\r\n\r\n",
          "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
              + "{\"writeKey\":\"" + KEY + "\",\"type\":");
      for (String request : requests) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
          socket.setSoTimeout(5000);
          socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
          socket.getOutputStream().flush();
          io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream());
        } catch (IOException e) {
          // a connection the gateway closed: what it logged is what counts
        }
      }
      Response ok = gateway.client().send(gateway.client().request("/health/live").GET());
      assertEquals(200, ok.status());
      Awaitility.await("access lines written").atMost(Duration.ofSeconds(10))
          .until(() -> gateway.stdout().contains("GET /health/live 200"));
      assertNoSecrets(gateway.stdout().lines().toList());
      assertNoSecrets(gateway.stderr().lines().toList());
    }
  }

  @Test
  @DisplayName("readiness reports the store, the LISTEN connection and every projection in its body")
  void readinessBody(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_SAMPLE_INTERVAL_MS", "200"))) {
      Awaitility.await("ready and fully up").atMost(Duration.ofSeconds(15)).until(() ->
          "UP".equals(gateway.http().send(gateway.http().request("/health/ready").GET()).json().getString("status")));
      Response r = gateway.http().send(gateway.http().request("/health/ready").GET());
      assertEquals(200, r.status());
      JsonObject checks = r.json().getJsonObject("checks");
      assertEquals("UP", checks.getJsonObject("store").getString("status"));
      assertEquals("UP", checks.getJsonObject("listener").getString("status"));
      JsonObject projections = checks.getJsonObject("projections");
      assertEquals("UP", projections.getString("status"));
      assertEquals(4, projections.getJsonObject("projections").size(), projections.encode());
      assertEquals("running", projections.getJsonObject("projections").getJsonObject("visitor-activity")
          .getString("state"));

      db.queryLong("""
          SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE application_name = 'flightdeck-listen' AND datname = current_database()""");
      // the listener reconnects within ~50 ms; readiness itself never depended on it
      assertEquals(200, gateway.http().send(gateway.http().request("/health/ready").GET()).status());
    }
  }

  private static JsonObject json(String line) {
    try {
      return new JsonObject(line);
    } catch (DecodeException e) {
      throw new AssertionError("not a JSON line: " + line, e);
    }
  }
}
