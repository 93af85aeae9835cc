package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.RawHttp;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How an HTTP/1.x request body is framed (RFC 9112 section 6): a request whose framing is ambiguous or unknowable
 * (both Content-Length and Transfer-Encoding, a transfer coding other than chunked, chunked not last) is answered
 * with the JSON error and {@code Connection: close}, and its connection closed, on every route, so that no byte of
 * it can be read as the next request (request smuggling). Sent over a plain socket, as a client library would not.
 */
@ExtendWith(PostgresExtension.class)
class RequestFramingIT {

  private static final String WRITE = "X-Write-Key: " + TestGateway.WRITE_KEY + "\r\n";

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  @ParameterizedTest(name = "{0} {1}, {2}")
  @CsvSource(delimiter = '|', value = {
      "POST | /v1/events | Content-Length first",
      "POST | /v1/events | Transfer-Encoding first",
      "GET | /health/live | Content-Length first",
      "POST | /v1/nowhere | Transfer-Encoding first"})
  @DisplayName("a request with both Content-Length and Transfer-Encoding: chunked is 400 invalid_request with "
      + "Connection: close, its connection is closed, and nothing is stored")
  void contentLengthWithChunked(String method, String target, String order) throws IOException {
    String chunks = chunked(event("framing-cl-te"));
    String length = "Content-Length: " + chunks.length() + "\r\n";
    String coding = "Transfer-Encoding: chunked\r\n";
    String framing = order.startsWith("Content") ? length + coding : coding + length;

    Answer a = exchange(head(method, target, framing) + chunks);

    a.assertClosingError(400, "invalid_request");
    assertEquals(0L, stored("framing-cl-te"));
  }

  @ParameterizedTest(name = "Transfer-Encoding: {0}")
  @CsvSource(delimiter = '|', value = {
      "gzip, chunked | gzip | POST | /v1/events",
      "deflate,chunked | deflate | POST | /v1/events",
      "x-foo ; q=1 , chunked | x-foo | GET | /health/live",
      "gzip\\r\\nTransfer-Encoding: chunked | gzip | POST | /v1/nowhere"})
  @DisplayName("a transfer coding other than chunked, chunked last, is 501 not_implemented naming the coding, with "
      + "Connection: close, and its connection is closed")
  void unknownTransferCoding(String codings, String named, String method, String target) throws IOException {
    String te = "Transfer-Encoding: " + codings.replace("\\r\\n", "\r\n") + "\r\n";

    Answer a = exchange(head(method, target, te) + chunked(event("framing-gzip")));

    a.assertClosingError(501, "not_implemented");
    assertTrue(a.error().getString("message").contains(named), a.text);
    assertEquals(0L, stored("framing-gzip"));
  }

  @ParameterizedTest(name = "Transfer-Encoding: {0}")
  @CsvSource(delimiter = '|', value = {
      "chunked, gzip | POST | /v1/events", "gzip | POST | /v1/events", "chunked, chunked | POST | /v1/events",
      "identity | GET | /health/live", "chunked;x=1 | POST | /v1/events"})
  @DisplayName("a Transfer-Encoding whose last coding is not chunked (or that applies chunked twice) is 400 "
      + "invalid_request with Connection: close, and its connection is closed")
  void chunkedNotLast(String codings, String method, String target) throws IOException {
    Answer a = exchange(head(method, target, "Transfer-Encoding: " + codings + "\r\n")
        + chunked(event("framing-not-last")));

    a.assertClosingError(400, "invalid_request");
    assertEquals(0L, stored("framing-not-last"));
  }

  @Test
  @DisplayName("an HTTP/1.0 request with a Transfer-Encoding is 400 invalid_request, and its connection is closed")
  void transferEncodingInHttp10() throws IOException {
    Answer a = exchange(head("POST", "/v1/events", "Transfer-Encoding: chunked\r\n").replace("HTTP/1.1", "HTTP/1.0")
        + chunked(event("framing-http10")));

    a.assertClosingError(400, "invalid_request");
    assertEquals(0L, stored("framing-http10"));
  }

  @Test
  @DisplayName("on one keep-alive connection a chunked POST (any case, gzip content), a Content-Length POST and a "
      + "GET are each answered, and the connection stays open")
  void wellFramedRequestsKeepTheConnection() throws IOException {
    byte[] gzipped = HttpTestClient.gzip(event("framing-ok-3"));
    ByteArrayOutputStream requests = new ByteArrayOutputStream();
    requests.writeBytes(ascii(head("POST", "/v1/events", "Transfer-Encoding: chunked\r\n")
        + chunked(event("framing-ok-1"))));
    requests.writeBytes(ascii(head("POST", "/v1/events", "Content-Length: " + event("framing-ok-2").length() + "\r\n")
        + event("framing-ok-2")));
    requests.writeBytes(ascii(head("POST", "/v1/events", "Content-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n")
        + Integer.toHexString(gzipped.length) + "\r\n"));
    requests.writeBytes(gzipped);
    requests.writeBytes(ascii("\r\n0\r\n\r\n" + "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"));

    try (Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(requests.toByteArray());
      InputStream in = socket.getInputStream();
      for (int i = 0; i < 4; i++) {
        String text = new String(RawHttp.readResponse(in), StandardCharsets.UTF_8);
        assertEquals("200", text.substring(9, 12), text);
        assertFalse(text.toLowerCase(Locale.ROOT).contains("connection: close"), text);
      }
      assertFalse(closedAfter(socket, in), "the connection was closed after well-framed requests");
    }
    assertEquals(3L, gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id LIKE 'framing-ok-%'"));
  }

  @Test
  @DisplayName("a refused request pipelined behind a well-framed one: the first is answered, then the refusal, then "
      + "the connection is closed")
  void refusalBehindAPipelinedRequest() throws IOException {
    String chunks = chunked(event("framing-pipelined"));
    String requests = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
        + head("POST", "/v1/events", "Transfer-Encoding: chunked\r\nContent-Length: " + chunks.length() + "\r\n")
        + chunks;

    try (Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(ascii(requests));
      InputStream in = socket.getInputStream();
      String first = new String(RawHttp.readResponse(in), StandardCharsets.UTF_8);
      String second = new String(RawHttp.readResponse(in), StandardCharsets.UTF_8);
      assertTrue(first.startsWith("HTTP/1.1 200"), first);
      assertTrue(second.startsWith("HTTP/1.1 400"), second);
      assertTrue(second.contains("\"invalid_request\""), second);
      assertTrue(closedAfter(socket, in), "the connection stays open after " + second);
    }
    assertEquals(0L, stored("framing-pipelined"));
  }

  private static String event(String streamId) {
    return "{\"type\":\"PageViewed\",\"streamId\":\"" + streamId + "\",\"data\":{\"pageId\":\"/\"}}";
  }

  /** {@code body} as two chunks and the last chunk. */
  private static String chunked(String body) {
    int half = body.length() / 2;
    return Integer.toHexString(half) + "\r\n" + body.substring(0, half) + "\r\n"
        + Integer.toHexString(body.length() - half) + "\r\n" + body.substring(half) + "\r\n0\r\n\r\n";
  }

  private static String head(String method, String target, String framing) {
    return method + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + WRITE + framing
        + "\r\n";
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static long stored(String streamId) {
    return gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = ?", streamId);
  }

  /** One answer read off a socket, and whether the server closed the connection after it. */
  private record Answer(int status, String text, String body, boolean closed) {

    JsonObject error() {
      return new JsonObject(body).getJsonObject("error");
    }

    void assertClosingError(int expectedStatus, String code) {
      String lower = text.toLowerCase(Locale.ROOT);
      assertEquals(expectedStatus, status, text);
      assertTrue(lower.contains("content-type: application/json"), text);
      assertTrue(lower.contains("connection: close"), text);
      assertEquals(code, error().getString("code"), text);
      assertTrue(!error().getString("message").isBlank(), text);
      assertTrue(closed, "the connection stays open after " + text);
    }
  }

  /** Sends {@code request} as it is and reads one answer, then whether the server closes the connection. */
  private static Answer exchange(String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", gateway.get().port())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(ascii(request));
      InputStream in = socket.getInputStream();
      String text = new String(RawHttp.readResponse(in), StandardCharsets.UTF_8);
      int status = Integer.parseInt(text.substring(9, 12));
      return new Answer(status, text, text.substring(text.indexOf("\r\n\r\n") + 4), closedAfter(socket, in));
    }
  }

  private static boolean closedAfter(Socket socket, InputStream in) throws IOException {
    try {
      socket.setSoTimeout(2_000);
      return in.read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    }
  }
}
