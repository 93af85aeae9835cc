package io.flightdeck.gateway.api;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.RawHttp;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Requests that are wrong below the API (percent-escapes that do not decode, HTTP that does not parse, an Expect
 * the server cannot meet): each answered with its 4xx and the contract's JSON error body, never a 500 or an empty
 * body. Sent over a plain socket, since an HTTP client library refuses to send most of them.
 */
@ExtendWith(PostgresExtension.class)
class MalformedRequestsIT {

  private static final String READ = "Authorization: Bearer " + TestGateway.READ_TOKEN + "\r\n";
  private static final String ADMIN = "Authorization: Bearer " + TestGateway.ADMIN_TOKEN + "\r\n";
  private static final String EVENT = "{\"type\":\"PageViewed\",\"streamId\":\"malformed\",\"data\":{\"pageId\":\"/\"}}";

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  @ParameterizedTest(name = "GET {0}")
  @ValueSource(strings = {"/v1/events?after=%", "/v1/events?limit=%zz", "/v1/events?%zz=1", "/v1/live?types=%zz",
      "/v1/pages?site=%zz", "/metrics?name%5B%5D=%zz", "/v1/events?access_token=" + TestGateway.READ_TOKEN + "&after=%"})
  @DisplayName("a query string whose percent-escapes do not decode is 400 invalid_parameter")
  void malformedQueryEscape(String target) throws IOException {
    Answer a = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + READ + "\r\n");

    a.assertError(400, "invalid_parameter");
  }

  @Test
  @DisplayName("the management port answers a metrics query that does not decode with 400 invalid_parameter too")
  void malformedQueryEscapeOnTheManagementPort(TestDatabase database) throws Exception {
    int port = TestGateway.freePort();
    try (TestGateway management = TestGateway.start(database, Map.of("FLIGHTDECK_METRICS_PORT",
        String.valueOf(port), "FLIGHTDECK_PROJECTIONS_ENABLED", "false"))) {
      Answer a = exchange(port, "GET /metrics?name%5B%5D=%zz HTTP/1.1\r\nHost: x\r\n\r\n", false);

      a.assertError(400, "invalid_parameter");
    }
  }

  @ParameterizedTest(name = "POST {0}")
  @ValueSource(strings = {"/v1/events?writeKey=%zz", "/v1/events?x=%zz", "/v1/events?x=\u00e9"})
  @DisplayName("an ingest with a query string that does not decode is 400 invalid_parameter, and nothing is stored")
  void malformedQueryEscapeOnIngest(String target) throws IOException {
    Answer a = exchange(post(target, "X-Write-Key: " + TestGateway.WRITE_KEY + "\r\n", EVENT));

    a.assertError(400, "invalid_parameter");
    assertNothingStored();
  }

  @ParameterizedTest(name = "GET {0}")
  @ValueSource(strings = {"/v1/streams/%zz/events", "/v1/streams/x/events?fromVersion=%zz", "/v1/visitors/%zz"})
  @DisplayName("a path or parameter that does not decode is a 400 with the JSON error body")
  void malformedPathEscape(String target) throws IOException {
    Answer a = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + READ + "\r\n");

    assertEquals(400, a.status, a.text);
    assertTrue(a.error().getString("code").startsWith("invalid_"), a.text);
  }

  @ParameterizedTest(name = "GET {0}")
  @CsvSource(delimiter = '|', value = {
      "/v1/streams/%FF/events | invalid_request", "/v1/streams/%C0%AF/events | invalid_request",
      "/v1/streams/a%C3/events | invalid_request", "/v1/visitors/%ED%A0%80 | invalid_request",
      "/v1/pages?site=%FF | invalid_parameter", "/v1/events?after=1&x=%C3%28 | invalid_parameter",
      "/v1/live?types=%80 | invalid_parameter"})
  @DisplayName("percent-escapes that are not UTF-8 (a stray byte, an overlong form, a cut or surrogate sequence) are a "
      + "400, not decoded to U+FFFD: in the path invalid_request, in the query invalid_parameter")
  void escapesThatAreNotUtf8(String target, String code) throws IOException {
    Answer a = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + READ + "\r\n");

    a.assertError(400, code);
  }

  @ParameterizedTest(name = "GET {0}")
  @CsvSource(delimiter = '|', value = {
      "/v1/pages?site=d\u00e9mo | invalid_parameter", "/v1/events?after=1&x=\u00e9 | invalid_parameter",
      "/v1/live?streams=\u20ac | invalid_parameter", "/v1/streams/d\u00e9mo/events | invalid_request",
      "/v1/visitors/\u20ac | invalid_request"})
  @DisplayName("a character that is not ASCII, sent as such in the path or query (as curl sends a query's), is a 400, "
      + "not read byte by byte as Latin-1 (d\u00e9mo as d\u00c3\u00a9mo): in the path invalid_request, in the query "
      + "invalid_parameter")
  void rawNonAsciiTarget(String target, String code) throws IOException {
    Answer a = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + READ + "\r\n");

    a.assertError(400, code);
    assertTrue(a.error().getString("message").contains("%C3%A9"), "says how to send it: " + a.text);
  }

  @ParameterizedTest(name = "GET {0}")
  @ValueSource(strings = {"/v1/events?after=%D9%A3", "/v1/events?limit=%EF%BC%95", "/v1/events?after=+1",
      "/v1/events?limit=%2B5", "/v1/streams/x/events?fromVersion=%D9%A1", "/v1/forms/f/submissions?after=%EF%BC%91",
      "/v1/admin/dead-letters?limit=%2B5"})
  @DisplayName("a number parameter in another script's digits (Arabic-Indic, fullwidth) or with a + sign is 400 "
      + "invalid_parameter, not read as the ASCII number")
  void numbersAreAsciiDigits(String target) throws IOException {
    String token = target.startsWith("/v1/admin") ? ADMIN : READ;
    Answer a = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + token + "\r\n");

    a.assertError(400, "invalid_parameter");
  }

  @ParameterizedTest(name = "GET {0}")
  @ValueSource(strings = {"/v1/streams/caf%C3%A9%20%F0%9F%98%80/events", "/v1/visitors/%E2%82%AC?at=",
      "/v1/pages?site=caf%C3%A9"})
  @DisplayName("percent-escaped UTF-8 (two, three and four bytes) is read as such: 200 or 404, never a 400")
  void escapedUtf8IsRead(String target) throws IOException {
    Answer a = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + READ + "\r\n");

    assertTrue(a.status == 200 || a.status == 404, a.text);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "a header line without a colon | 400 | invalid_request | X-Broken\\r\\n",
      "two Content-Length headers | 400 | invalid_request | Content-Length: 5\\r\\nContent-Length: 6\\r\\n",
      "a Content-Length that is not a number | 400 | invalid_request | Content-Length: five\\r\\n",
      "a 9 KB header | 431 | headers_too_large | X-Big: BIG\\r\\n"})
  @DisplayName("HTTP that does not parse gets its status with the JSON error body, and the connection is closed")
  void unparsableHttp(String what, int status, String code, String headers) throws IOException {
    String head = headers.replace("\\r\\n", "\r\n").replace("BIG", "x".repeat(9 * 1024));

    Answer a = exchangeWatchingClose("GET /health/live HTTP/1.1\r\nHost: x\r\n" + head + "\r\n");

    a.assertError(status, code);
    assertTrue(a.closed(), "the connection stays open after " + what);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "a chunk size that is not hex | 400 | invalid_request | zz\\r\\nBODY\\r\\n0\\r\\n\\r\\n",
      "a chunk size past any length | 400 | invalid_request | fffffffffffffffffff\\r\\nBODY\\r\\n0\\r\\n\\r\\n",
      "a 9 KB trailer | 431 | headers_too_large | 2\\r\\n{}\\r\\n0\\r\\nX-Big: BIG\\r\\n\\r\\n"})
  @DisplayName("a chunked body that cannot be framed gets its status with the JSON error body, not a bare close, "
      + "and nothing is stored")
  void unframableChunkedBody(String what, int status, String code, String chunks) throws Exception {
    String body = chunks.replace("\\r\\n", "\r\n").replace("BIG", "x".repeat(9 * 1024)).replace("BODY", EVENT);

    Answer a = exchangeWatchingClose("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "X-Write-Key: " + TestGateway.WRITE_KEY + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body);

    a.assertError(status, code);
    assertTrue(a.closed(), "the connection stays open after " + what);
    assertEquals(0L, gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = 'malformed'"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "a read without a token | GET /v1/events | | 401 | unauthorized",
      "a rebuild without a token | POST /v1/admin/projections/page-stats/rebuild | | 401 | unauthorized",
      "a dead-letter retry with the read token | POST /v1/admin/dead-letters/1/retry | READ | 401 | unauthorized",
      "a tracking call without a content type | POST /v1/events | | 415 | unsupported_media_type"})
  @DisplayName("a request refused before its body is read still gets its answer when its chunked body, arriving with "
      + "its head, then cannot be framed: the answer is sent before the connection is closed, not dropped with it")
  void answerBeforeBodyOutlivesUnframableChunk(String what, String requestLine, String auth, int status, String code)
      throws Exception {
    String headers = "READ".equals(auth) ? READ : "";

    // one write: the head and the broken chunk reach the server together, as a client's single packet does
    Answer a = exchangeWatchingClose(requestLine + " HTTP/1.1\r\nHost: x\r\n" + headers
        + "Transfer-Encoding: chunked\r\n\r\nzz\r\nBODY\r\n0\r\n\r\n");

    a.assertError(status, code);
    assertTrue(a.closed(), "the connection stays open after " + what);
  }

  @ParameterizedTest(name = "a request line of {0} bytes")
  @ValueSource(ints = {9 * 1024})
  @DisplayName("a request line over the limit is 414 uri_too_long with the JSON error body")
  void requestLineTooLong(int length) throws IOException {
    Answer a = exchangeWatchingClose("GET /v1/events?after=" + "1".repeat(length) + " HTTP/1.1\r\nHost: x\r\n" + READ
        + "\r\n");

    a.assertError(414, "uri_too_long");
    assertTrue(a.closed());
  }

  @ParameterizedTest(name = "Expect: {0}")
  @ValueSource(strings = {"foo", "200-ok"})
  @DisplayName("an Expect other than 100-continue is 417 expectation_failed, and nothing is stored")
  void unmetExpectation(String expect) throws IOException {
    Answer a = exchange(post("/v1/events", "X-Write-Key: " + TestGateway.WRITE_KEY + "\r\nExpect: " + expect + "\r\n",
        EVENT));

    a.assertError(417, "expectation_failed");
    assertNothingStored();
  }

  @ParameterizedTest(name = "HEAD {0}")
  @ValueSource(strings = {"/v1/events?limit=5", "/v1/schemas", "/health/ready", "/v1/event-counts", "/metrics",
      "/", "/dashboard/", "/dashboard/dashboard.js", "/dashboard/dashboard.css", "/fd.js"})
  @DisplayName("HEAD answers wherever GET does: the same status and headers, no body")
  void headAnswersLikeGet(String target) {
    HttpTestClient http = gateway.http();
    HttpTestClient.Response get = http.send(http.request(target)
        .header("Authorization", "Bearer " + TestGateway.READ_TOKEN).GET());
    HttpTestClient.Response head = http.send(http.request(target)
        .header("Authorization", "Bearer " + TestGateway.READ_TOKEN).method("HEAD", HttpRequest.BodyPublishers.noBody()));

    assertEquals(200, get.status(), get.body());
    assertEquals(200, head.status());
    assertEquals(get.header("Content-Type"), head.header("Content-Type"));
    assertEquals("", head.body());
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
      "DELETE, /v1/events, 'GET, HEAD, OPTIONS, POST'",
      "POST, /v1/streams/s-1/events, 'GET, HEAD'",
      "PUT, /health/live, 'GET, HEAD'",
      "HEAD, /v1/live, GET"})
  @DisplayName("a method the path does not answer is 405 with Allow listing the methods it does")
  void methodNotAllowedListsAllow(String method, String target, String allow) {
    HttpTestClient http = gateway.http();
    HttpTestClient.Response r = http.send(http.request(target)
        .header("Authorization", "Bearer " + TestGateway.READ_TOKEN)
        .method(method, HttpRequest.BodyPublishers.noBody()));

    assertEquals(405, r.status(), r.body());
    assertEquals(allow, r.header("Allow"));
    if (!method.equals("HEAD")) {
      assertEquals("method_not_allowed", r.errorCode(), r.body());
    }
  }

  /**
   * No event is stored, now nor in the two seconds after the answer: a write the refusal failed to prevent may land
   * just after it. (These tests used to get those two seconds from watching the connection close.)
   */
  private static void assertNothingStored() {
    assertEquals(0L, gateway.db().queryLong("SELECT count(*) FROM events"));
    await("nothing is stored after the answer either").during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
        .until(() -> gateway.db().queryLong("SELECT count(*) FROM events") == 0);
  }

  private static String post(String target, String headers, String body) {
    return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers
        + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
  }

  /**
   * One answer read off a socket: its status, its body, and whether the server closed the connection after it (null
   * when that was not watched).
   */
  private record Answer(int status, String text, String body, Boolean closed) {

    @Override
    public Boolean closed() {
      if (closed == null) {
        throw new IllegalStateException("whether the connection closed was not watched: use exchangeWatchingClose");
      }
      return closed;
    }

    JsonObject error() {
      return new JsonObject(body).getJsonObject("error");
    }

    void assertError(int expectedStatus, String code) {
      assertEquals(expectedStatus, status, text);
      assertTrue(text.toLowerCase(Locale.ROOT).contains("content-type: application/json"), text);
      assertEquals(code, error().getString("code"), text);
      assertTrue(!error().getString("message").isBlank(), text);
    }
  }

  /**
   * Sends {@code request} as it is and reads one answer. Whether the server then closes the connection is not
   * watched (that waits up to 2 s on a connection kept open): {@link Answer#closed()} fails.
   */
  private static Answer exchange(String request) throws IOException {
    return exchange(gateway.get().port(), request, false);
  }

  /** {@link #exchange}, then whether the server closes the connection (waiting up to 2 s for it to). */
  private static Answer exchangeWatchingClose(String request) throws IOException {
    return exchange(gateway.get().port(), request, true);
  }

  private static Answer exchange(int port, String request, boolean watchClose) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      String text = new String(RawHttp.readResponse(in), StandardCharsets.UTF_8);
      Boolean closed = null;
      if (watchClose) {
        try {
          socket.setSoTimeout(2_000);
          closed = in.read() < 0;
        } catch (SocketTimeoutException e) {
          closed = false;
        }
      }
      int status = Integer.parseInt(text.substring(9, 12));
      return new Answer(status, text, text.substring(text.indexOf("\r\n\r\n") + 4), closed);
    }
  }
}
