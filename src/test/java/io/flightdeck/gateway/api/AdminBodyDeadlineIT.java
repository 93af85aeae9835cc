package io.flightdeck.gateway.api;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.RawHttp;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An admin action that changes something (a rebuild, a dead-letter retry) and whose request body stalls is answered
 * 408 by the body deadline; the client takes that for a failure, so the action must not run. One that did run is
 * answered with its outcome, however long it took. The test holds the projection's checkpoint lock so that an action
 * that started is still unanswered at the deadline.
 */
@ExtendWith(PostgresExtension.class)
class AdminBodyDeadlineIT {

  private static final long DEADLINE_MS = 500;
  private static final String REBUILT = "visitor-activity";
  private static final String RETRIED = "event-counts";

  // one read connection, which the admin actions use: an admin request sent after the 408 queues behind an action
  // that started (and holds it in its transaction), so its answer shows whether that action ran. No runner: only
  // the test touches the checkpoints
  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", String.valueOf(DEADLINE_MS),
      "FLIGHTDECK_DB_READ_POOL_SIZE", "1",
      "FLIGHTDECK_PROJECTIONS_ENABLED", "false",
      "FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true"));

  @Test
  @DisplayName("a rebuild whose request body stalls is answered 408 and the projection is not rebuilt")
  void stalledRebuildDoesNotRun() throws Exception {
    notRebuilding();
    String answer;
    try (Connection locker = lockCheckpoint(REBUILT)) {
      answer = sendStalled("/v1/admin/projections/" + REBUILT + "/rebuild");
      locker.rollback();
    }
    assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
    JsonObject status = gateway.http().projectionStatus(REBUILT);
    assertNull(status.getValue("rebuildStarted"), "rebuilt after its 408: " + status.encode());
  }

  @Test
  @DisplayName("over HTTP/2 a rebuild whose request body stalls is answered 408 and the projection is not rebuilt")
  void stalledHttp2RebuildDoesNotRun() throws Exception {
    notRebuilding();
    Vertx vertx = Vertx.vertx();
    try (Connection locker = lockCheckpoint(REBUILT)) {
      HttpClient client = vertx.createHttpClient(new HttpClientOptions()
          .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
          .setDefaultHost("127.0.0.1").setDefaultPort(gateway.get().port()));
      HttpClientRequest request = client.request(new RequestOptions().setMethod(HttpMethod.POST)
              .setURI("/v1/admin/projections/" + REBUILT + "/rebuild")
              .putHeader("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
              .putHeader("Content-Length", "100"))
          .await(10, TimeUnit.SECONDS);
      request.write(Buffer.buffer("{")).await(10, TimeUnit.SECONDS);
      assertEquals(408, request.response().await(10, TimeUnit.SECONDS).statusCode());
      locker.rollback();
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
    JsonObject status = gateway.http().projectionStatus(REBUILT);
    assertNull(status.getValue("rebuildStarted"), "rebuilt after its 408: " + status.encode());
  }

  @Test
  @DisplayName("a dead-letter retry whose request body stalls is answered 408 and the dead letter is not retried")
  void stalledRetryDoesNotRun() throws Exception {
    long id = deadLetter();
    String answer;
    try (Connection locker = lockCheckpoint(RETRIED)) {
      answer = sendStalled("/v1/admin/dead-letters/" + id + "/retry");
      locker.rollback();
    }
    assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
    JsonObject letter = listedDeadLetter(id);
    assertNotNull(letter, "retried after its 408: the dead letter is gone");
    assertEquals(1, letter.getInteger("attempts"), letter.encode());
  }

  @Test
  @DisplayName("a rebuild whose body arrived in time is answered 202 once it ran, even after the body deadline")
  void rebuildAnsweredAfterTheDeadlineWithItsOutcome() throws Exception {
    notRebuilding();
    String answer = sendWholeWhileLocked("/v1/admin/projections/" + REBUILT + "/rebuild", REBUILT);
    assertTrue(answer.startsWith("HTTP/1.1 202"), answer);
    assertNotNull(gateway.http().projectionStatus(REBUILT).getValue("rebuildStarted"));
  }

  @Test
  @DisplayName("a dead-letter retry whose body arrived in time is answered 200 once it applied, even after the body "
      + "deadline")
  void retryAnsweredAfterTheDeadlineWithItsOutcome() throws Exception {
    long id = deadLetter();
    String answer = sendWholeWhileLocked("/v1/admin/dead-letters/" + id + "/retry", RETRIED);
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertTrue(answer.contains("\"status\":\"applied\""), answer);
    assertNull(listedDeadLetter(id));
  }

  private static void notRebuilding() {
    gateway.db().execute("INSERT INTO projection_checkpoints (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
        REBUILT);
    gateway.db().execute("UPDATE projection_checkpoints SET rebuild_started = NULL, rebuild_target = NULL "
        + "WHERE name = ?", REBUILT);
    assertNull(gateway.http().projectionStatus(REBUILT).getValue("rebuildStarted"));
  }

  /** A dead letter of {@link #RETRIED} for a stored page view, which a retry applies. */
  private static long deadLetter() {
    String stream = "admin-deadline-" + UUID.randomUUID();
    gateway.http().postBatch(HttpTestClient.pageView(stream, "/dead"));
    gateway.db().execute("INSERT INTO projection_checkpoints (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
        RETRIED);
    return gateway.db().queryLong("INSERT INTO dead_letters (projection, position, event_id, error, attempts) "
        + "SELECT ?, position, id, 'poison', 1 FROM events WHERE stream_id = ? RETURNING id", RETRIED, stream);
  }

  /** The dead letter as {@code GET /v1/admin/dead-letters} lists it, or null. */
  private static JsonObject listedDeadLetter(long id) {
    JsonArray letters = gateway.http().getWithAdminToken("/v1/admin/dead-letters?projection=" + RETRIED).json()
        .getJsonArray("deadLetters");
    for (int i = 0; i < letters.size(); i++) {
      if (letters.getJsonObject(i).getLong("id") == id) {
        return letters.getJsonObject(i);
      }
    }
    return null;
  }

  /** Holds the projection's checkpoint row lock, as a runner's batch or another admin action does, until rollback. */
  private static Connection lockCheckpoint(String projection) throws SQLException {
    Connection locker = gateway.db().connect();
    locker.setAutoCommit(false);
    try (PreparedStatement st = locker.prepareStatement(
        "SELECT 1 FROM projection_checkpoints WHERE name = ? FOR UPDATE")) {
      st.setString(1, projection);
      st.executeQuery().close();
    }
    return locker;
  }

  /** POSTs with the admin token and a body that never comes; the answer, read until the gateway closes. */
  private static String sendStalled(String path) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(head(path, 100).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      try {
        in.transferTo(answer);
      } catch (SocketException e) {
        // a reset after the answer: what came before it counts
      }
      return answer.toString(StandardCharsets.UTF_8);
    }
  }

  /**
   * POSTs with a whole body while the projection's lock is held, lets the lock go once the action waits for it and
   * the body deadline has passed; the answer.
   */
  private static String sendWholeWhileLocked(String path, String projection) throws Exception {
    try (Connection locker = lockCheckpoint(projection);
         Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(head(path, 2).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      out.write("{}".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      await().atMost(Duration.ofSeconds(10)).until(AdminBodyDeadlineIT::someoneWaitsForALock);
      Thread.sleep(3 * DEADLINE_MS);
      assertFalse(socket.getInputStream().available() > 0, "answered while the action waited for its lock");
      locker.rollback();
      return new String(RawHttp.readResponse(socket.getInputStream()), StandardCharsets.UTF_8);
    }
  }

  private static boolean someoneWaitsForALock() {
    List<List<Object>> rows = gateway.db().query("SELECT count(*) FROM pg_stat_activity "
        + "WHERE datname = current_database() AND wait_event_type = 'Lock'");
    return ((Number) rows.get(0).get(0)).longValue() > 0;
  }

  private static String head(String path, int contentLength) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.ADMIN_TOKEN
        + "\r\nContent-Type: application/json\r\nContent-Length: " + contentLength + "\r\n\r\n";
  }
}
