package io.flightdeck.gateway.api;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every request's body has the deadline (http.bodyReadTimeoutMs), not only a tracking request's: a client that sends
 * a body with a read, an admin call or an unknown path and trickles it must not hold its connection for as long as
 * it likes (the idle timeout restarts on every byte).
 */
@ExtendWith(PostgresExtension.class)
class BodyDeadlineIT {

  private static final long DEADLINE_MS = 500;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", String.valueOf(DEADLINE_MS),
      "FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true"));

  @ParameterizedTest
  // ~ stands for a line break between headers (a CSV value cannot hold one); the last column starts the body
  @CsvSource(delimiter = '|', value = {
      "GET /v1/events|Authorization: Bearer demo-read-token~Content-Length: 100000||200",
      "GET /health/live|Content-Length: 100000||200",
      "GET /v1/events|Authorization: Bearer demo-read-token~Transfer-Encoding: chunked|186a0\\r\\n|200",
      // refused before its body: an admin action that would run waits for its body (AdminBodyDeadlineIT)
      "POST /v1/admin/projections/visitor_activity/rebuild|Content-Length: 100000||401",
      "GET /no/such/path|Content-Length: 100000||404",
      "POST /no/such/path|Content-Type: application/json~Content-Length: 100000||404",
      "OPTIONS /v1/events|Content-Length: 100000||204",
      "GET /|Content-Length: 100000||200",
      // a live stream's answer is under way (its head written) when the deadline passes
      "GET /v1/live|Authorization: Bearer demo-read-token~Accept: text/event-stream~Content-Length: 100000||200"})
  @DisplayName("a request that is not a tracking call, answered while its body is still trickling in, has its "
      + "connection closed at the body deadline")
  void answeredRequestWithTricklingBodyIsCutOff(String requestLine, String headers, String bodyStart, int status)
      throws Exception {
    try (Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(100);
      OutputStream out = socket.getOutputStream();
      out.write((requestLine + " HTTP/1.1\r\nHost: x\r\n" + headers.replace("~", "\r\n") + "\r\n\r\n"
          + (bodyStart == null ? "" : bodyStart.replace("\\r\\n", "\r\n"))).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Trickle trickle = trickleUntilClosed(socket, Duration.ofSeconds(10));
      assertTrue(trickle.answer.startsWith("HTTP/1.1 " + status), trickle.answer);
      assertTrue(trickle.closed, "the connection was still open after 10 s of trickling; answer: " + trickle.answer);
    }
  }

  @Test
  @DisplayName("on the management port too, a scrape answered while its body is still trickling in has its connection "
      + "closed at the body deadline: metrics.maxConnections such clients would otherwise shut Prometheus out")
  void managementPortScrapeWithTricklingBodyIsCutOff() throws Exception {
    int port = TestGateway.freePort();
    try (TestGateway management = TestGateway.start(gateway.db(), Map.of("FLIGHTDECK_METRICS_PORT",
        String.valueOf(port), "FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", String.valueOf(DEADLINE_MS)));
         Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(100);
      OutputStream out = socket.getOutputStream();
      out.write("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Trickle trickle = trickleUntilClosed(socket, Duration.ofSeconds(10));
      assertTrue(trickle.answer.startsWith("HTTP/1.1 200"), trickle.answer);
      assertTrue(trickle.closed, "the connection was still open after 10 s of trickling; answer: "
          + trickle.answer.substring(0, Math.min(200, trickle.answer.length())));
    }
  }

  @Test
  @DisplayName("a read still unanswered when its trickling body reaches the deadline is answered 408 request_timeout "
      + "and its connection closed")
  void unansweredReadWithTricklingBodyGets408() throws Exception {
    try (Connection locker = gateway.db().connect();
         Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      // the read waits for this lock, so the request is unanswered when its body deadline passes
      locker.setAutoCommit(false);
      try (Statement st = locker.createStatement()) {
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      }
      socket.setSoTimeout(100);
      OutputStream out = socket.getOutputStream();
      out.write(("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.READ_TOKEN
          + "\r\nContent-Length: 100000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Trickle trickle = trickleUntilClosed(socket, Duration.ofSeconds(10));
      locker.rollback();
      assertTrue(trickle.answer.startsWith("HTTP/1.1 408"), trickle.answer);
      assertTrue(trickle.answer.contains("\"code\":\"request_timeout\""), trickle.answer);
      assertTrue(trickle.closed, "the connection was still open after 10 s of trickling; answer: " + trickle.answer);
    }
  }

  @Test
  @DisplayName("a read answered 408 at its body deadline logs no error when its result comes in afterwards")
  void resultOfAReadAnswered408IsDroppedQuietly() throws Exception {
    try (GatewayProcess process = GatewayProcess.start(Map.of("FLIGHTDECK_DB_URL", gateway.db().url(),
        "FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", String.valueOf(DEADLINE_MS)));
         Connection locker = gateway.db().connect()) {
      int port = process.awaitPort(Duration.ofSeconds(60));
      locker.setAutoCommit(false);
      try (Statement st = locker.createStatement()) {
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      }
      try (Socket socket = new Socket("127.0.0.1", port)) {
        socket.setSoTimeout(100);
        socket.getOutputStream().write(("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + TestGateway.READ_TOKEN + "\r\nContent-Length: 100000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        Trickle trickle = trickleUntilClosed(socket, Duration.ofSeconds(10));
        assertTrue(trickle.answer.startsWith("HTTP/1.1 408"), trickle.answer);
      } finally {
        locker.rollback();
      }
      HttpTestClient http = new HttpTestClient("http://127.0.0.1:" + port);
      // the read waiting for the lock got it first: once a later one is answered, its result has come in
      await().atMost(Duration.ofSeconds(10)).until(() -> http.getWithReadToken("/v1/events").status() == 200);
      await().atMost(Duration.ofSeconds(10)).until(() -> process.stdout().contains("GET /v1/events 200"));
      assertFalse(process.stdout().contains(" ERROR "), process.describe());
      assertFalse(process.stdout().contains("IllegalStateException"), process.describe());
    }
  }

  @Test
  @DisplayName("over HTTP/2 a read answered while its body still trickles has its stream reset at the body deadline")
  void http2AnsweredReadWithTricklingBodyIsReset() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpClient client = vertx.createHttpClient(new HttpClientOptions()
          .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
          .setDefaultHost("127.0.0.1").setDefaultPort(gateway.get().port()));
      HttpClientRequest request = client.request(new RequestOptions().setMethod(HttpMethod.GET).setURI("/v1/events")
              .putHeader("Authorization", "Bearer " + TestGateway.READ_TOKEN)
              .putHeader("Content-Length", "100000"))
          .await(10, TimeUnit.SECONDS);
      Promise<Throwable> reset = Promise.promise();
      request.exceptionHandler(reset::tryComplete);
      request.write(Buffer.buffer("x")).await(10, TimeUnit.SECONDS);
      HttpClientResponse response = request.response().await(10, TimeUnit.SECONDS);
      assertEquals(200, response.statusCode());
      long timer = vertx.setPeriodic(100, id -> {
        if (!reset.future().isComplete()) {
          request.write(Buffer.buffer("x"));
        }
      });
      Throwable failure = reset.future().await(10, TimeUnit.SECONDS);
      vertx.cancelTimer(timer);
      assertTrue(failure instanceof StreamResetException, String.valueOf(failure));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a live stream opened without a body goes on delivering events after the body deadline")
  void liveStreamWithoutBodyOutlivesTheDeadline() throws Exception {
    String stream = "live-" + UUID.randomUUID();
    try (SseTestClient live = SseTestClient.open(gateway.get(), "/v1/live?streams=" + stream, Map.of())) {
      assertEquals(200, live.status());
      Thread.sleep(3 * DEADLINE_MS);
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView(stream, "/after")).status());
      SseTestClient.Message message = live.next(Duration.ofSeconds(10));
      assertTrue(message != null && message.data().contains(stream), String.valueOf(message));
      assertFalse(live.ended());
    }
  }

  @Test
  @DisplayName("a live stream whose request came with a whole body goes on delivering events after the body deadline")
  void liveStreamWithEndedBodyOutlivesTheDeadline() throws Exception {
    String stream = "live-body-" + UUID.randomUUID();
    try (Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET /v1/live?streams=" + stream + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
          + "Authorization: Bearer " + TestGateway.READ_TOKEN + "\r\nContent-Length: 5\r\n\r\nhello")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      assertTrue(readUntil(in, "\r\n\r\n").startsWith("HTTP/1.1 200"));
      Thread.sleep(3 * DEADLINE_MS);
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView(stream, "/after")).status());
      assertTrue(readUntil(in, stream).contains("event: PageViewed"));
    }
  }

  /** Reads until {@code marker} has arrived; what was read. */
  private static String readUntil(InputStream in, String marker) throws IOException {
    ByteArrayOutputStream read = new ByteArrayOutputStream();
    while (!read.toString(StandardCharsets.UTF_8).contains(marker)) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before " + marker + " after: " + read.toString(StandardCharsets.UTF_8));
      }
      read.write(b);
    }
    return read.toString(StandardCharsets.UTF_8);
  }

  private record Trickle(String answer, boolean closed) {
  }

  /** Sends a body byte at a time (about 10 a second), reading the answer, until the gateway closes or time is up. */
  private static Trickle trickleUntilClosed(Socket socket, Duration limit) throws IOException {
    OutputStream out = socket.getOutputStream();
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream answer = new ByteArrayOutputStream();
    long deadline = System.nanoTime() + limit.toNanos();
    byte[] chunk = new byte[4096];
    while (System.nanoTime() < deadline) {
      // read first: a byte written after the gateway's close would be answered with a reset, which may discard
      // an answer not read yet
      try {
        int n = in.read(chunk);
        if (n < 0) {
          return new Trickle(answer.toString(StandardCharsets.UTF_8), true);
        }
        answer.write(chunk, 0, n);
        continue;
      } catch (SocketTimeoutException e) {
        // nothing to read for 100 ms: trickle on
      } catch (IOException e) {
        return new Trickle(answer.toString(StandardCharsets.UTF_8), true);
      }
      try {
        out.write('x');
        out.flush();
      } catch (IOException e) {
        return new Trickle(answer.toString(StandardCharsets.UTF_8), true);
      }
    }
    return new Trickle(answer.toString(StandardCharsets.UTF_8), false);
  }
}
