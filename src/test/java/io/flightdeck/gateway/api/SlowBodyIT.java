package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.RawHttp;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.sql.Connection;
import java.sql.Statement;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Clients too slow to send what they promised: request heads and bodies have deadlines the idle timeout lacks. */
@ExtendWith(PostgresExtension.class)
class SlowBodyIT {

  /** The store's position lock (see V1__event_store.sql): every insert into events waits for it. */
  private static final long POSITION_LOCK = 1178861569L;

  @Test
  @DisplayName("a client that never finishes its body gets 408 request_timeout and a closed connection")
  void bodyThatNeverArrivesTimesOut(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", "500"));
         Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "X-Write-Key: demo-write-key\r\nContent-Length: 1000\r\n\r\n{\"type\":\"unfinished\"").getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      assertTrue(answer.contains("\"code\":\"request_timeout\""), answer);
      assertEquals(0L, db.queryLong("SELECT count(*) FROM events WHERE type = 'unfinished'"));
    }
  }

  @ParameterizedTest
  // ~ stands for a line break between headers (a CSV value cannot hold one)
  @CsvSource(delimiter = '|', value = {
      "/v1/events|Content-Type: image/png~Content-Length: 100000|415",
      "/v1/events|Content-Type: application/json~Content-Length: 100000000|413",
      // the query check answers before any tracking handler
      "/v1/events?writeKey=%C0%AF|Content-Type: text/plain~Content-Length: 100000|400",
      "/v1/track?x=%zz|Content-Type: text/plain~Content-Length: 100000|400"})
  @DisplayName("an answer given before the body arrived (415, 413, a bad query's 400) still ends the connection at "
      + "the body deadline when the client goes on trickling the body")
  void earlyAnswerKeepsTheBodyDeadline(String target, String headers, int status, TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", "500"));
         Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(200);
      OutputStream out = socket.getOutputStream();
      out.write(("POST " + target + " HTTP/1.1\r\nHost: x\r\nX-Write-Key: demo-write-key\r\n"
          + headers.replace("~", "\r\n") + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      boolean closed = false;
      while (!closed && System.nanoTime() < deadline) {
        try {
          out.write('x');
          out.flush();
        } catch (java.io.IOException e) {
          closed = true;
          break;
        }
        try {
          int n = in.read();
          if (n < 0) {
            closed = true;
          } else {
            answer.write(n);
          }
        } catch (java.net.SocketTimeoutException e) {
          // nothing to read yet: trickle on
        }
      }
      String text = answer.toString(StandardCharsets.UTF_8);
      assertTrue(text.startsWith("HTTP/1.1 " + status), text);
      assertTrue(closed, "the connection was still open after 10 s of trickling; answer: " + text);
    }
  }

  @Test
  @DisplayName("a client trickling its request headers gets 408 and a closed connection at the head deadline, "
      + "counted from the head's first byte (the idle timeout, restarted by every byte, would never end it)")
  void headersTrickledAreCutOff(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_HEADER_READ_TIMEOUT_MS", "600"));
         Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write("POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
      // a header byte every 100 ms for a while (stopping well before the deadline: a byte written after the
      // gateway's close would be answered with a reset that discards the 408 still unread here)
      for (int i = 0; i < 3; i++) {
        Thread.sleep(100);
        out.write('a');
        out.flush();
      }
      // the idle timeout (60 s) closes silently; the head deadline answers 408 and closes
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      assertTrue(answer.contains("\"code\":\"request_timeout\""), answer);
      Scrape scrape = Scrape.parse(gateway.http().send(gateway.http().request("/metrics").GET()).body());
      assertEquals(1.0, scrape.value("flightdeck_http_connections_closed_total", "reason", "head_timeout"));
    }
  }

  @Test
  @DisplayName("a keep-alive connection may wait longer than the head deadline between requests")
  void idleKeepAliveIsNotAHeadTimeout(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_HEADER_READ_TIMEOUT_MS", "300"));
         Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(5000);
      for (int i = 0; i < 2; i++) {
        socket.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        assertEquals("HTTP/1.1 200", new String(RawHttp.readResponse(socket.getInputStream()), StandardCharsets.US_ASCII)
            .substring(0, 12));
        Thread.sleep(1000);
      }
    }
  }

  @Test
  @DisplayName("a pipelined request head waiting behind a slow answer is not late: both are answered, no 408")
  void pipelinedHeadBehindSlowAnswerIsNotTimedOut(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_HEADER_READ_TIMEOUT_MS", "1000"));
         Connection lockHolder = db.connect();
         Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(20_000);
      // the first request's append waits for the store's position lock, so its answer takes a while
      try (Statement st = lockHolder.createStatement()) {
        st.execute("SELECT pg_advisory_lock(" + POSITION_LOCK + ")");
      }
      byte[] event = HttpTestClient.pageView("pipelined", "/p").toBuffer().getBytes();
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Write-Key: "
          + TestGateway.WRITE_KEY + "\r\nContent-Length: " + event.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(event);
      out.flush();
      // once the first request is in, the next one's head begins, and is finished only after two deadlines
      Thread.sleep(200);
      out.write("GET /health/live HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // the answer goes out about 100 ms before the second deadline since that head began
      Thread.sleep(1900);
      try (Statement st = lockHolder.createStatement()) {
        st.execute("SELECT pg_advisory_unlock(" + POSITION_LOCK + ")");
      }
      String first = new String(RawHttp.readResponse(socket.getInputStream()), StandardCharsets.UTF_8);
      assertTrue(first.startsWith("HTTP/1.1 200"), first);
      // a client that holds the rest back until it has read the answer gets a whole deadline from that answer,
      // not the 100 ms left of the one that was running
      Thread.sleep(500);
      out.write("st: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String second = new String(RawHttp.readResponse(socket.getInputStream()), StandardCharsets.UTF_8);
      assertTrue(second.startsWith("HTTP/1.1 200"), second);
    }
  }

  @Test
  @DisplayName("over HTTP/2 a body that never finishes gets 408 on its stream; the connection and its other "
      + "requests go on")
  void http2BodyTimeoutResetsOnlyTheStream(TestDatabase db) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_BODY_READ_TIMEOUT_MS", "500",
        "FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true"))) {
      HttpClient client = vertx.createHttpClient(new HttpClientOptions()
          .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
          .setDefaultHost("127.0.0.1").setDefaultPort(gateway.port()));
      HttpClientRequest slow = client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/events")
              .putHeader("Content-Type", "application/json").putHeader("X-Write-Key", TestGateway.WRITE_KEY)
              .putHeader("Content-Length", "1000"))
          .await(10, TimeUnit.SECONDS);
      slow.write(Buffer.buffer("{\"type\":")).await(10, TimeUnit.SECONDS);
      JsonObject timedOut = slow.response().compose(response -> {
        assertEquals(408, response.statusCode());
        return response.body();
      }).await(10, TimeUnit.SECONDS).toJsonObject();
      assertEquals("request_timeout", timedOut.getJsonObject("error").getString("code"));
      HttpConnection connection = slow.connection();

      Buffer body = client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/events")
              .putHeader("Content-Type", "application/json").putHeader("X-Write-Key", TestGateway.WRITE_KEY))
          .compose(request -> request.send(HttpTestClient.pageView("h2-after-408", "/h2").toBuffer())
              .compose(response -> {
                assertEquals(200, response.statusCode());
                assertSame(connection, request.connection(), "the same HTTP/2 connection carried the next request");
                return response.body();
              }))
          .await(10, TimeUnit.SECONDS);
      assertEquals(1, body.toJsonObject().getJsonArray("results").size(), body.toString());
      assertEquals(1L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'h2-after-408'"));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
