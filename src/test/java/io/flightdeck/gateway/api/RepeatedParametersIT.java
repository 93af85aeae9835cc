package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A query parameter an endpoint reads, given more than once, is ambiguous: which one did the client mean? Each is
 * refused with 400 invalid_parameter naming it, on every family of endpoints (reads, read models, admin, the live
 * feed, ingest), instead of the first value being taken without a word. A parameter an endpoint does not read stays
 * ignored, and the live feed's {@code type} and {@code stream}, repeatable by design, stay so.
 */
@ExtendWith(PostgresExtension.class)
class RepeatedParametersIT {

  private static final String ORIGIN = "https://blog.example";

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  /** For the live feed's answers, which stay open: only the status and the head are read, then it is closed. */
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "read  | /v1/streams/s-1/events?fromVersion=1&fromVersion=2                        | fromVersion",
      "read  | /v1/streams/s-1/events?limit=5&limit=6                                    | limit",
      "read  | /v1/events?after=5&after=100                                              | after",
      "read  | /v1/events?after=&after=5                                                 | after",
      "read  | /v1/events?limit=1&limit=                                                 | limit",
      "read  | /v1/events?after=5&AFTER=100                                              | after",
      "none  | /v1/events?access_token=demo-read-token&access_token=demo-read-token      | access_token",
      "none  | /v1/events/head?access_token=demo-read-token&access_token=other          | access_token",
      "read  | /v1/events/head?access_token=demo-read-token&access_token=other          | access_token",
      "read  | /v1/visitors/v-1?at=2026-01-01T00:00:00Z&at=2027-01-01T00:00:00Z          | at",
      "read  | /v1/pages?site=demo&site=shop                                             | site",
      "read  | /v1/pages?site=demo&from=2026-01-01&from=2026-01-02                       | from",
      "read  | /v1/pages?site=demo&to=2026-01-01&to=2026-01-02                           | to",
      "read  | /v1/pages?site=demo&limit=5&limit=5                                       | limit",
      "read  | /v1/pages?site=demo&order=page&order=views                                | order",
      "read  | /v1/pages?site=demo&after=0&after=0                                       | after",
      "read  | /v1/forms/f-1/submissions?after=1&after=2                                 | after",
      "read  | /v1/forms/f-1/submissions?limit=1&limit=2                                 | limit",
      "read  | /v1/event-counts?types=1&types=2                                          | types",
      "read  | /v1/event-counts?from=2026-01-01T00:00:00Z&from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z | from",
      "read  | /v1/event-counts?to=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z          | to",
      "read  | /v1/event-counts?from=2026-01-01T00:00:00Z&to=2026-01-01T02:00:00Z&after=2026-01-01T00:10:00Z"
          + "&after=2026-01-01T00:10:00Z | after",
      "admin | /v1/admin/dead-letters?projection=page-stats&projection=visitor-activity  | projection",
      "admin | /v1/admin/dead-letters?after=0&after=1                                    | after",
      "admin | /v1/admin/dead-letters?limit=1&limit=2                                    | limit",
      "admin | /v1/admin/projections?access_token=demo-admin-token&access_token=x        | access_token",
      "read  | /v1/live?types=PageViewed&types=ButtonClicked                             | types",
      "read  | /v1/live?streams=a&streams=b                                              | streams",
      "read  | /v1/live?site=demo&site=shop                                              | site",
      "read  | /v1/live?unnamed=true&unnamed=false                                       | unnamed",
      "read  | /v1/live?lastEventId=1&lastEventId=2                                      | lastEventId",
      "none  | /v1/live?access_token=demo-read-token&access_token=demo-read-token        | access_token"})
  @DisplayName("a parameter a read, read-model, admin or live-feed endpoint reads, given twice, is 400 "
      + "invalid_parameter naming it")
  void repeatedParameterIsRefused(String token, String target, String parameter) {
    Answer a = get(target, token);

    a.assertRefused(parameter);
  }

  @Test
  @DisplayName("a repeated lastEventId is refused even when a Last-Event-ID header is sent too")
  void repeatedLastEventIdBesideTheHeader() {
    Answer a = get("/v1/live?lastEventId=1&lastEventId=2", "read", "Last-Event-ID", "1");

    a.assertRefused("lastEventId");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/events?x=1&x=2", "/v1/events?site=a&site=b&after=0", "/v1/streams/s-1/events?at=1&at=2",
      "/v1/pages?site=demo&types=1&types=2", "/v1/events/head?after=1&after=2", "/v1/schemas?x=1&x=2",
      "/health/live?x=1&x=2", "/metrics?name%5B%5D=flightdeck_events_appended_total&name%5B%5D=x",
      "/v1/live?type=PageViewed&type=ButtonClicked&stream=a&stream=b", "/v1/live?x=1&x=2"})
  @DisplayName("a parameter the endpoint does not read, or one it reads as a list (type, stream, name[]), may come "
      + "more than once: 200")
  void notReadOrRepeatableIsAccepted(String target) {
    Answer a = get(target, "read");

    assertEquals(200, a.status, a.body);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "/v1/events?writeKey=demo-write-key&writeKey=other | ''",
      "/v1/events?writeKey=demo-write-key&writeKey=demo-write-key | ''",
      "/v1/events?writeKey=&writeKey=demo-write-key | demo-write-key",
      "/v1/events?writeKey=a&writeKey=b | demo-write-key"})
  @DisplayName("an ingest with writeKey given twice in the query is 400 invalid_parameter naming it, readable by the "
      + "page (CORS), and nothing is stored")
  void repeatedWriteKeyIsRefused(String target, String headerKey) {
    String streamId = "repeated-" + UUID.randomUUID();
    HttpTestClient.Response r = post(target, streamId, headerKey, "text/plain;charset=UTF-8");

    assertEquals(400, r.status(), r.body());
    JsonObject error = r.json().getJsonObject("error");
    assertEquals("invalid_parameter", error.getString("code"), r.body());
    assertTrue(error.getString("message").contains("writeKey"), r.body());
    assertEquals(ORIGIN, r.header("Access-Control-Allow-Origin"), r.headers().toString());
    assertEquals(0L, gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = ?", streamId));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/events?writeKey=demo-write-key", "/v1/events?utm=a&utm=b&writeKey=demo-write-key",
      "/v1/events"})
  @DisplayName("an ingest with writeKey once (or in the body, as the snippet's sendBeacon sends it) and other "
      + "parameters repeated is stored")
  void singleWriteKeyIsStored(String target) {
    String streamId = "single-" + UUID.randomUUID();
    HttpTestClient.Response r = post(target, streamId, "", "text/plain;charset=UTF-8");

    assertEquals(200, r.status(), r.body());
    assertEquals(1L, gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = ?", streamId));
  }

  /** A PageViewed with the write key in the body too (as the snippet sends it), and in a header when given. */
  private static HttpTestClient.Response post(String target, String streamId, String headerKey, String type) {
    String body = new JsonObject().put("writeKey", TestGateway.WRITE_KEY)
        .put("events", new JsonArray().add(HttpTestClient.pageView(streamId, "/"))).encode();
    HttpTestClient http = gateway.http();
    HttpRequest.Builder request = http.request(target).header("Content-Type", type).header("Origin", ORIGIN)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (!headerKey.isEmpty()) {
      request.header("X-Write-Key", headerKey);
    }
    return http.send(request);
  }

  /** A GET with the read or admin token as a bearer header ("none": without), and any further headers. */
  private static Answer get(String target, String token, String... headers) {
    HttpRequest.Builder request = gateway.http().request(target).GET();
    if (!token.equals("none")) {
      request.header("Authorization", "Bearer "
          + (token.equals("admin") ? TestGateway.ADMIN_TOKEN : TestGateway.READ_TOKEN));
    }
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    try {
      HttpResponse<InputStream> r = CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = r.body()) {
        boolean stream = r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream");
        // a live feed that opened never ends: its status says enough
        String body = stream ? "(a live stream)" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return new Answer(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), body);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private record Answer(int status, String contentType, String body) {

    void assertRefused(String parameter) {
      assertEquals(400, status, body);
      assertTrue(contentType.startsWith("application/json"), contentType);
      JsonObject error = new JsonObject(body).getJsonObject("error");
      assertEquals("invalid_parameter", error.getString("code"), body);
      String message = error.getString("message");
      assertTrue(message.startsWith(parameter + " "), "the message names " + parameter + ": " + body);
      assertTrue(message.contains("more than once"), body);
      assertFalse(message.contains(TestGateway.READ_TOKEN) || message.contains(TestGateway.ADMIN_TOKEN), body);
    }
  }
}
