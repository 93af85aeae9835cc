package io.flightdeck.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.RawHttp;
import io.flightdeck.gateway.support.TestDatabase;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** SIGTERM, as an orchestrator sends it: stop accepting, answer what was accepted, exit 0 within 10 seconds. */
@ExtendWith(PostgresExtension.class)
class ShutdownIT {

  /** The store's position lock (see V1__event_store.sql): every insert into events waits for it. */
  private static final long POSITION_LOCK = 1178861569L;
  private static final int REQUESTS = 20;

  private static Map<String, String> env(TestDatabase db) {
    return Map.of(
        "FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0",
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "20000",
        // one transaction (and connection) per request, so the test can see every request reach the store
        "FLIGHTDECK_APPENDER_MAX_CONCURRENT_TRANSACTIONS", String.valueOf(REQUESTS),
        "FLIGHTDECK_APPENDER_MAX_EVENTS_PER_TRANSACTION", "1");
  }

  @Test
  @DisplayName("SIGTERM lets every in-flight event be stored and answered 200, refuses new connections, and exits 0 within 10 s")
  void sigtermDrainsInFlightAppends(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.start(env(db));
         Connection lockHolder = db.connect()) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5)).build();
      holdPositionLock(lockHolder);
      List<String> ids = new ArrayList<>();
      List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < REQUESTS; i++) {
        String id = UUID.randomUUID().toString();
        ids.add(id);
        String body = "{\"type\":\"PageViewed\",\"streamId\":\"v" + i + "\",\"data\":{\"pageId\":\"/x\"},\"id\":\"" + id + "\"}";
        responses.add(postEvent(client, port, body));
      }
      // every request has reached the store and waits there for the position lock
      await("all appends waiting for the position lock").atMost(Duration.ofSeconds(20))
          .until(() -> appendsWaitingForLock(db), n -> n == REQUESTS);
      assertTrue(responses.stream().noneMatch(CompletableFuture::isDone), "no POST is answered while the lock is held");

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      await("new connections refused").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
          .until(() -> connectionRefused(port));
      // the appends stay blocked a little longer: the gateway must keep waiting for them, not give up
      Thread.sleep(1000);
      assertTrue(gateway.isAlive(), "the gateway is still draining while appends are in flight\n" + gateway.describe());
      assertTrue(responses.stream().noneMatch(CompletableFuture::isDone), "no POST is answered before its commit");

      try (Statement st = lockHolder.createStatement()) {
        st.execute("SELECT pg_advisory_unlock(" + POSITION_LOCK + ")");
      }
      for (int i = 0; i < REQUESTS; i++) {
        HttpResponse<String> r = responses.get(i).get(10, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
        assertTrue(r.body().contains("\"appended\""), r.body());
      }
      long leftMs = 10_000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      assertTrue(leftMs > 0, "the answers came back within 10 s of SIGTERM");
      assertEquals(0, gateway.waitFor(Duration.ofMillis(leftMs)), gateway.describe());
      // this test's streams (v0, v1, ...): the database is the class's, other tests' events may be in it
      Set<String> stored = db.query("SELECT id::text FROM events WHERE stream_id ~ '^v[0-9]+$'").stream()
          .map(row -> (String) row.get(0)).collect(Collectors.toSet());
      assertEquals(Set.copyOf(ids), stored, "every event answered 200 is in the store");
    }
  }

  @Test
  @DisplayName("SIGTERM stops an idle gateway at once with exit code 0")
  void sigtermOnIdleGatewayExitsZero(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(env(db))) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      assertFalse(connectionRefused(port), "the gateway accepts connections before SIGTERM");
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(5)), gateway.describe());
      assertTrue(connectionRefused(port), "nothing listens on the port after exit");
    }
  }

  @Test
  @DisplayName("SIGTERM with a client that stalls in the middle of its body still stops in order with the shipped "
      + "settings, inside the drain's budget, with no ERROR")
  void sigtermWithAStalledClientDrainsInOrder(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url());
         Socket stalled = new Socket()) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      stalled.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      stalled.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "X-Write-Key: demo-write-key\r\nContent-Length: 100\r\n\r\n{\"type\"")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      stalled.getOutputStream().flush();
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpRequest metrics = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build();
      await("the stalled request is in flight").atMost(Duration.ofSeconds(10)).until(() -> client
          .send(metrics, HttpResponse.BodyHandlers.ofString()).body()
          .contains("vertx_http_server_active_requests{method=\"POST\"} 1.0"));

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      long exitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      assertTrue(exitedMs < 10_000, "exited " + exitedMs + " ms after SIGTERM");
      String out = gateway.stdout();
      assertTrue(out.contains("drained in"), "the drain finished in order\n" + gateway.describe());
      assertFalse(out.contains("drain did not finish"), gateway.describe());
      assertFalse(out.contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
    }
  }

  @Test
  @DisplayName("SIGTERM answers a request whose body stalled 503 unavailable with Connection: close at once, so the "
      + "drain does not wait for it, while a body still arriving is read to its end, stored and answered 200")
  void sigtermAnswersAStalledBodyAndFinishesOneStillArriving(TestDatabase db) throws Exception {
    try (GatewayProcess gateway = GatewayProcess.on(db.url());
         Socket stalled = new Socket();
         Socket arriving = new Socket()) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      stalled.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      stalled.setSoTimeout(10_000);
      send(stalled, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "X-Write-Key: demo-write-key\r\nContent-Length: 1000\r\n\r\n{\"type\":\"");
      String id = UUID.randomUUID().toString();
      byte[] event = ("{\"type\":\"PageViewed\",\"streamId\":\"arriving\",\"data\":{\"pageId\":\"/x\"},\"id\":\""
          + id + "\"}").getBytes(StandardCharsets.US_ASCII);
      arriving.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      arriving.setSoTimeout(10_000);
      send(arriving, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "X-Write-Key: demo-write-key\r\nContent-Length: " + event.length + "\r\n\r\n");
      int sent = 10;
      arriving.getOutputStream().write(event, 0, sent);
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpRequest metrics = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build();
      await("both requests are in flight").atMost(Duration.ofSeconds(10)).until(() -> client
          .send(metrics, HttpResponse.BodyHandlers.ofString()).body()
          .contains("vertx_http_server_active_requests{method=\"POST\"} 2.0"));

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      // the other client goes on sending its body, a few bytes every 200 ms, for a while after SIGTERM
      while (sent < event.length) {
        Thread.sleep(200);
        int piece = Math.min(4, event.length - sent);
        arriving.getOutputStream().write(event, sent, piece);
        arriving.getOutputStream().flush();
        sent += piece;
        if (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm) > 1500) {
          arriving.getOutputStream().write(event, sent, event.length - sent);
          sent = event.length;
        }
      }
      String answer = new String(RawHttp.readResponse(arriving.getInputStream()), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      assertTrue(answer.contains("\"appended\""), answer);
      String refusal = new String(stalled.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(refusal.startsWith("HTTP/1.1 503"), "the stalled request is answered before the drain ends: "
          + refusal + "\n" + gateway.describe());
      assertTrue(refusal.contains("\"code\":\"unavailable\""), refusal);
      assertTrue(refusal.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), refusal);

      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      long exitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      // before, the drain waited for the stalled body until http.shutdownTimeoutMs (6000, shipped) closed it
      assertTrue(exitedMs < 6000, "exited " + exitedMs + " ms after SIGTERM, before the stalled connection would "
          + "have been closed by http.shutdownTimeoutMs\n" + gateway.describe());
      assertEquals(1L, db.queryLong("SELECT count(*) FROM events WHERE id = ?::uuid", id),
          "the event answered 200 is stored");
      assertFalse(gateway.stdout().contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
    }
  }

  @Test
  @DisplayName("over HTTP/2 too, SIGTERM answers a stream whose body stalled 503 unavailable at once, and the drain "
      + "does not wait for it")
  void sigtermAnswersAStalledHttp2Body(TestDatabase db) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (GatewayProcess gateway = startH2c(db)) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      io.vertx.core.http.HttpClient client = h2cClient(vertx, port);
      HttpClientRequest stalled = client.request(new RequestOptions().setMethod(HttpMethod.POST)
              .setURI("/v1/events").putHeader("Content-Type", "application/json")
              .putHeader("X-Write-Key", "demo-write-key").putHeader("Content-Length", "1000"))
          .await(10, TimeUnit.SECONDS);
      stalled.write(Buffer.buffer("{\"type\":")).await(10, TimeUnit.SECONDS);
      Future<JsonObject> answer = stalled.response().compose(response -> response.body()
          .map(body -> new JsonObject().put("status", response.statusCode()).put("body", body.toString())));
      HttpClient metricsClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpRequest metrics = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build();
      await("the stalled request is in flight").atMost(Duration.ofSeconds(10)).until(() -> metricsClient
          .send(metrics, HttpResponse.BodyHandlers.ofString()).body()
          .contains("vertx_http_server_active_requests{method=\"POST\"} 1.0"));

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      JsonObject refused = answer.await(10, TimeUnit.SECONDS);
      assertEquals(503, refused.getInteger("status"), refused.encode());
      assertEquals("unavailable", new JsonObject(refused.getString("body")).getJsonObject("error")
          .getString("code"));
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      long exitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      assertTrue(exitedMs < 6000, "exited " + exitedMs + " ms after SIGTERM, before the stalled stream would "
          + "have been closed by http.shutdownTimeoutMs\n" + gateway.describe());
      assertFalse(gateway.stdout().contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("over HTTP/2, SIGTERM does not wait for a read answered while its body was still arriving and then "
      + "stalled: its stream is reset at once and the drain ends")
  void sigtermResetsAnAnsweredHttp2ReadWhoseBodyStalled(TestDatabase db) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (GatewayProcess gateway = startH2c(db)) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      io.vertx.core.http.HttpClient client = h2cClient(vertx, port);
      HttpClientRequest stalled = client.request(new RequestOptions().setMethod(HttpMethod.GET)
              .setURI("/health/live").putHeader("Content-Length", "1000"))
          .await(10, TimeUnit.SECONDS);
      Promise<Throwable> reset = Promise.promise();
      stalled.exceptionHandler(reset::tryComplete);
      stalled.write(Buffer.buffer("xx")).await(10, TimeUnit.SECONDS);
      assertEquals(200, stalled.response().await(10, TimeUnit.SECONDS).statusCode());

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      long exitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      // before, the drain waited for the unended stream until http.shutdownTimeoutMs (6000, shipped)
      assertTrue(exitedMs < 6000, "exited " + exitedMs + " ms after SIGTERM, before the stalled stream would "
          + "have been closed by http.shutdownTimeoutMs\n" + gateway.describe());
      assertFalse(gateway.stdout().contains(" ERROR "), "no ERROR while stopping\n" + gateway.describe());
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
  }

  @Test
  @DisplayName("SIGTERM with an append that cannot finish (the position lock held past any drain) still exits 0 "
      + "within 10 s, without answering that append 200")
  void sigtermWithAStuckAppendExitsWithinTheBudget(TestDatabase db) throws Exception {
    Map<String, String> env = new HashMap<>(env(db));
    // lock_timeout follows the retry deadline: the append waits for the lock far longer than the drain may
    env.put("FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "120000");
    try (GatewayProcess gateway = GatewayProcess.start(env);
         Connection lockHolder = db.connect()) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5)).build();
      holdPositionLock(lockHolder);
      String body = "{\"type\":\"PageViewed\",\"streamId\":\"stuck\",\"data\":{\"pageId\":\"/x\"}}";
      CompletableFuture<HttpResponse<String>> response = postEvent(client, port, body);
      await("the append waits for the position lock").atMost(Duration.ofSeconds(20))
          .until(() -> appendsWaitingForLock(db), n -> n == 1);

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      long exitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      assertTrue(exitedMs < 10_000, "exited " + exitedMs + " ms after SIGTERM");
      try {
        HttpResponse<String> r = response.get(10, TimeUnit.SECONDS);
        assertTrue(r.statusCode() != 200, "an append that never committed is not acknowledged: " + r.body());
      } catch (java.util.concurrent.ExecutionException e) {
        // the connection closed without an answer: the client retries with the event's id
      }
    }
  }

  @Test
  @DisplayName("SIGTERM while start-up still waits for an unreachable store exits 0 within 10 s, not 1 as a failed "
      + "start")
  void sigtermWhileWaitingForTheStoreExitsZero() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Map<String, String> env = Map.of(
        "FLIGHTDECK_DB_URL", "postgresql://postgres@127.0.0.1:" + closedPort + "/flightdeck_unreachable",
        "FLIGHTDECK_HTTP_PORT", "0",
        "FLIGHTDECK_DB_STARTUP_TIMEOUT_SECONDS", "120");
    try (GatewayProcess gateway = GatewayProcess.start(env)) {
      await("start-up waits for the store").atMost(Duration.ofSeconds(60))
          .until(() -> gateway.stdout().contains("not reachable yet"));

      long sigterm = System.nanoTime();
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
      long exitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      assertTrue(exitedMs < 10_000, "exited " + exitedMs + " ms after SIGTERM");
      assertFalse(gateway.stderr().contains("failed to start"), gateway.describe());
    }
  }

  @Test
  @DisplayName("SIGTERM while the configuration is still being read exits 0, not 143 as the JVM's default")
  void sigtermWhileReadingTheConfigurationExitsZero(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(env(db))) {
      // the first line the gateway logs, before it reads the store or starts a server
      await("the configuration is being read").atMost(Duration.ofSeconds(60))
          .until(() -> gateway.stdout().contains("ConfigLoader - configuration:"));
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
    }
  }

  /** Every append then waits at the store, until {@code holder} unlocks or closes. */
  private static void holdPositionLock(Connection holder) throws SQLException {
    try (Statement st = holder.createStatement()) {
      st.execute("SELECT pg_advisory_lock(" + POSITION_LOCK + ")");
    }
  }

  private static CompletableFuture<HttpResponse<String>> postEvent(HttpClient client, int port, String body) {
    return client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .header("X-Write-Key", "demo-write-key")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static long appendsWaitingForLock(TestDatabase db) {
    return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND application_name = "
        + "'flightdeck-append' AND wait_event_type = 'Lock'", db.name());
  }

  private static boolean connectionRefused(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** A gateway process that also speaks HTTP/2 without TLS, on a free port. */
  private static GatewayProcess startH2c(TestDatabase db) {
    return GatewayProcess.on(db.url(), "FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true");
  }

  /** An HTTP/2 client with prior knowledge (no upgrade) of the gateway at {@code port}. */
  private static io.vertx.core.http.HttpClient h2cClient(Vertx vertx, int port) {
    return vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false).setDefaultHost("127.0.0.1").setDefaultPort(port));
  }
}
