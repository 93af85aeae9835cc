package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.util.Set;
import java.util.UUID;

/** Requests and assertions shared by the ingest tests: what a client sends and what it must get back. */
final class IngestRequests {

  static final String EVENTS = "/v1/events";

  private static final Set<String> ERROR_FIELDS = Set.of("code", "message", "details");
  private static final Set<String> DETAIL_FIELDS = Set.of("index", "field", "problem");

  private IngestRequests() {
  }

  /** A POST /v1/events of {@code body} as application/json with the demo write key; add headers as needed. */
  static HttpRequest.Builder post(HttpTestClient http, String body) {
    return http.request(EVENTS)
        .header("Content-Type", "application/json")
        .header("X-Write-Key", TestGateway.WRITE_KEY)
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  /** A POST /v1/events of the raw bytes {@code body} as application/json with the demo write key. */
  static HttpRequest.Builder post(HttpTestClient http, byte[] body) {
    return http.request(EVENTS)
        .header("Content-Type", "application/json")
        .header("X-Write-Key", TestGateway.WRITE_KEY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
  }

  /** A POST /v1/events of {@code body} with only the given headers (name, value, name, value...). */
  static HttpRequest.Builder postWith(HttpTestClient http, String path, String body, String... headers) {
    HttpRequest.Builder b = http.request(path).POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return b;
  }

  static JsonObject batch(JsonObject... events) {
    JsonArray array = new JsonArray();
    for (JsonObject e : events) {
      array.add(e);
    }
    return new JsonObject().put("events", array);
  }

  /** {@code {"events": [...]}} with {@code n} page views of one stream. */
  static JsonObject batchOf(String streamId, int n) {
    JsonObject[] events = new JsonObject[n];
    for (int k = 0; k < n; k++) {
      events[k] = HttpTestClient.pageView(streamId, "/" + k);
    }
    return batch(events);
  }

  /** A stream id no other test uses, so row counts per stream belong to one test. */
  static String stream(String label) {
    return label + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static long rowsInStream(TestDatabase db, String streamId) {
    return db.queryLong("SELECT count(*) FROM events WHERE stream_id = ?", streamId);
  }

  static long rowsWithId(TestDatabase db, String id) {
    return db.queryLong("SELECT count(*) FROM events WHERE id = ?::uuid", id);
  }

  /** {@code metadata} of the stored event, as JSON. */
  static JsonObject storedMetadata(TestDatabase db, String id) {
    return new JsonObject((String) db.query("SELECT metadata::text FROM events WHERE id = ?::uuid", id).get(0).get(0));
  }

  /** {@code data} of the stored event, as JSON. */
  static JsonObject storedData(TestDatabase db, String id) {
    return new JsonObject((String) db.query("SELECT data::text FROM events WHERE id = ?::uuid", id).get(0).get(0));
  }

  /** A 200 with one result per event, each "appended"; answers the results. */
  static JsonArray assertAppended(HttpTestClient.Response r, int events) {
    assertEquals(200, r.status(), r.body());
    JsonArray results = r.results();
    assertEquals(events, results.size(), r.body());
    for (int i = 0; i < events; i++) {
      assertEquals("appended", results.getJsonObject(i).getString("status"), r.body());
    }
    return results;
  }

  /**
   * The contract's error answer: this status, a JSON body that is exactly {@code {"error": {"code", "message",
   * "details"}}} with this code, and details (an array, empty or not) made only of index, field and problem.
   */
  static JsonObject assertError(HttpTestClient.Response r, int status, String code) {
    assertEquals(status, r.status(), r.body());
    String type = r.header("Content-Type");
    assertNotNull(type, "an error answer says it is JSON");
    assertTrue(type.startsWith("application/json"), type);
    JsonObject body = r.json();
    assertEquals(Set.of("error"), body.fieldNames(), r.body());
    JsonObject error = body.getJsonObject("error");
    assertTrue(ERROR_FIELDS.containsAll(error.fieldNames()), r.body());
    assertEquals(code, error.getString("code"), r.body());
    assertFalse(error.getString("message", "").isBlank(), "the error has a message: " + r.body());
    JsonArray details =
        assertInstanceOf(JsonArray.class, error.getValue("details"), "the error always has details: " + r.body());
    for (Object d : details) {
      JsonObject detail = assertInstanceOf(JsonObject.class, d, r.body());
      assertTrue(DETAIL_FIELDS.containsAll(detail.fieldNames()), r.body());
      assertInstanceOf(String.class, detail.getValue("field"), r.body());
      assertInstanceOf(String.class, detail.getValue("problem"), r.body());
    }
    return error;
  }

  /** The details of an error answer (empty when it has none). */
  static JsonArray details(HttpTestClient.Response r) {
    return r.json().getJsonObject("error").getJsonArray("details", new JsonArray());
  }

  /** The detail naming {@code field} of event {@code index}; fails when there is none. */
  static JsonObject detail(HttpTestClient.Response r, int index, String field) {
    for (Object d : details(r)) {
      JsonObject detail = (JsonObject) d;
      if (field.equals(detail.getString("field")) && Integer.valueOf(index).equals(detail.getInteger("index"))) {
        return detail;
      }
    }
    return fail("no detail for event " + index + " field '" + field + "' in " + r.body());
  }

  /** A {@code Retry-After} of a whole number of seconds, at least 1. */
  static long assertRetryAfter(HttpTestClient.Response r) {
    String retryAfter = r.header("Retry-After");
    assertNotNull(retryAfter, "Retry-After is sent: " + r.headers());
    long seconds = Long.parseLong(retryAfter.trim());
    assertTrue(seconds >= 1, "Retry-After is at least one second: " + retryAfter);
    return seconds;
  }
}
