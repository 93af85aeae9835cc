package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The read API over the event store: one stream in version order, everything in position order, and who may read. */
@ExtendWith(PostgresExtension.class)
class ReadApiIT {

  private static final Set<String> ENVELOPE_FIELDS = Set.of("id", "position", "streamId", "streamVersion", "type",
      "schemaVersion", "data", "metadata", "occurredAt", "recordedAt");

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();
  /** The events posted before all tests: five on stream reader-a, three on reader-b, interleaved. */
  static List<JsonObject> posted = new ArrayList<>();
  /** What ingest answered for each, in the same order. */
  static List<JsonObject> answered = new ArrayList<>();

  @BeforeAll
  static void postFixtures() {
    String[] streams = {"reader-a", "reader-b", "reader-a", "reader-a", "reader-b", "reader-a", "reader-b", "reader-a"};
    for (int i = 0; i < streams.length; i++) {
      JsonObject event = HttpTestClient.pageView(streams[i], "/page/" + i)
          .put("metadata", new JsonObject().put("campaign", "spring"))
          .put("occurredAt", "2026-11-22T10:15:3" + i + ".120Z");
      Response r = gateway.http().postEvents(event);
      assertEquals(200, r.status(), r.body());
      posted.add(event);
      answered.add(r.results().getJsonObject(0));
    }
  }

  @Test
  @DisplayName("a stream's events come back in stream order with exactly the envelope fields, as they were posted")
  void streamReadsInVersionOrder() {
    JsonArray events = read("/v1/streams/reader-a/events").getJsonArray("events");

    assertEquals(5, events.size());
    List<JsonObject> expected = postedOn("reader-a");
    for (int i = 0; i < events.size(); i++) {
      JsonObject e = events.getJsonObject(i);
      JsonObject sent = expected.get(i);
      assertEquals(ENVELOPE_FIELDS, e.fieldNames(), "envelope fields");
      assertEquals(sent.getString("id"), e.getString("id"));
      assertEquals(answeredFor(sent.getString("id")).getLong("position"), e.getLong("position"));
      assertEquals("reader-a", e.getString("streamId"));
      assertEquals(i + 1L, e.getLong("streamVersion"));
      assertEquals("PageViewed", e.getString("type"));
      // posted as version 1; readers see the current version, 2, with its new properties null
      assertEquals(2, e.getInteger("schemaVersion"));
      assertEquals(sent.getJsonObject("data").copy().putNull("url").putNull("title").putNull("referrer"),
          e.getJsonObject("data"));
      assertEquals("spring", e.getJsonObject("metadata").getString("campaign"));
      assertEquals(Instant.parse(sent.getString("occurredAt")), Instant.parse(e.getString("occurredAt")));
      assertNotNull(Instant.parse(e.getString("recordedAt")));
    }
  }

  @Test
  @DisplayName("fromVersion and limit pick a window of a stream")
  void streamReadHonoursFromVersionAndLimit() {
    assertEquals(List.of(2L, 3L), versions(read("/v1/streams/reader-a/events?fromVersion=2&limit=2")));
    assertEquals(List.of(4L, 5L), versions(read("/v1/streams/reader-a/events?fromVersion=4")));
    assertEquals(List.of(1L), versions(read("/v1/streams/reader-a/events?limit=1")));
    assertEquals(List.of(), versions(read("/v1/streams/reader-a/events?fromVersion=6")));
    assertEquals(List.of(), versions(read("/v1/streams/nobody/events")));
  }

  @Test
  @DisplayName("paging the global feed with next visits every event once in position order and then stays put")
  void globalReadPagesWithNext() {
    List<Long> seen = new ArrayList<>();
    long next = 0;
    for (int page = 0; page < 10; page++) {
      JsonObject body = read("/v1/events?after=" + next + "&limit=3");
      JsonArray events = body.getJsonArray("events");
      if (events.isEmpty()) {
        assertEquals(next, body.getLong("next"), "an empty page answers next = after");
        break;
      }
      assertEquals(Math.min(3, posted.size() - seen.size()), events.size(), "a page holds at most limit events");
      for (int i = 0; i < events.size(); i++) {
        assertEquals(ENVELOPE_FIELDS, events.getJsonObject(i).fieldNames(), "envelope fields");
        seen.add(events.getJsonObject(i).getLong("position"));
      }
      assertEquals(events.getJsonObject(events.size() - 1).getLong("position"), body.getLong("next"),
          "next is the last position returned");
      next = body.getLong("next");
    }

    assertEquals(StoreProbe.positions(gateway.db(), ""), seen);
    List<Long> postedPositions = new ArrayList<>();
    for (JsonObject a : answered) {
      postedPositions.add(a.getLong("position"));
    }
    assertEquals(postedPositions, seen, "global order is the order the events were stored in");
    long last = seen.get(seen.size() - 1);
    assertEquals(List.of(seen.get(seen.size() - 2), last),
        positions(read("/v1/events?after=" + seen.get(seen.size() - 3) + "&limit=1000")));
    assertEquals(seen.subList(0, 1), positions(read("/v1/events?limit=1")), "after defaults to 0");
  }

  @Test
  @DisplayName("GET /v1/events/head answers the last committed position: nothing comes after it yet")
  void headIsTheLastCommittedPosition() {
    long last = answered.get(answered.size() - 1).getLong("position");

    JsonObject head = read("/v1/events/head");

    assertEquals(new JsonObject().put("head", last), head);
    assertEquals(StoreProbe.positions(gateway.db(), "").get(posted.size() - 1), last);
    assertTrue(read("/v1/events?after=" + last).getJsonArray("events").isEmpty());
    assertEquals(List.of(last), positions(read("/v1/events?after=" + (last - 1))));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/events?limit=0", "/v1/events?limit=1001", "/v1/events?after=-1",
      "/v1/events?after=abc", "/v1/events?limit=ten", "/v1/streams/reader-a/events?limit=0",
      "/v1/streams/reader-a/events?limit=1001", "/v1/streams/reader-a/events?fromVersion=x"})
  @DisplayName("a read parameter out of range or not a number is answered 400 invalid_parameter")
  void badParametersAreRejected(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(400, r.status(), r.body());
    assertEquals("invalid_parameter", r.errorCode());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/streams/reader%00a/events", "/v1/streams/%00/events",
      "/v1/streams/reader-a/events?fromVersion=1%00"})
  @DisplayName("a NUL character in a read parameter is answered 400 invalid_parameter naming it, not a server error")
  void nulInParameterIsRejected(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(400, r.status(), r.body());
    assertEquals("invalid_parameter", r.errorCode());
    String parameter = path.contains("fromVersion") ? "fromVersion" : "streamId";
    assertTrue(r.json().getJsonObject("error").getString("message").startsWith(parameter + " "), r.body());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/streams//events", "/v1/streams///events", "/v1/streams//events?fromVersion=2"})
  @DisplayName("an empty stream id is answered 400 invalid_parameter naming streamId, as /v1/forms//submissions is, "
      + "not 404 because the router joined the slashes")
  void emptyStreamIdIsRejected(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(400, r.status(), r.body());
    assertEquals("invalid_parameter", r.errorCode());
    assertTrue(r.json().getJsonObject("error").getString("message").startsWith("streamId "), r.body());
    assertUnauthorized(gateway.http().send(gateway.http().request(path).GET()));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/streams/", "/v1/streams//", "/v1/streams/reader-a", "/v1/streams/reader-a/events/x",
      "/v1/stream//events", "/v1/streams//events/x"})
  @DisplayName("paths beside a stream's events, with the read token, are still 404 not_found")
  void otherStreamPathsAreNotFound(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(404, r.status(), r.body());
    assertEquals("not_found", r.errorCode());
  }

  @Test
  @DisplayName("limit 1000 is the largest page a reader may ask for")
  void largestLimitIsAccepted() {
    assertEquals(200, gateway.http().getWithReadToken("/v1/events?limit=1000").status());
    assertEquals(200, gateway.http().getWithReadToken("/v1/streams/reader-a/events?limit=1000").status());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/events", "/v1/streams/reader-a/events", "/v1/events/head"})
  @DisplayName("reads without a valid read token are answered 401 unauthorized, and the write key is not one")
  void readsNeedTheReadToken(String path) {
    assertUnauthorized(gateway.http().send(gateway.http().request(path).GET()));
    assertUnauthorized(gateway.http().send(gateway.http().request(path)
        .header("Authorization", "Bearer not-the-read-token").GET()));
    assertUnauthorized(gateway.http().send(gateway.http().request(path)
        .header("Authorization", "Bearer " + TestGateway.WRITE_KEY).GET()));
    assertUnauthorized(gateway.http().send(gateway.http().request(path + "?access_token=" + TestGateway.WRITE_KEY)
        .GET()));
    assertUnauthorized(gateway.http().send(gateway.http().request(path)
        .header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).GET()));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/events", "/v1/streams/reader-a/events"})
  @DisplayName("a browser may pass the read token as ?access_token=")
  void accessTokenQueryParameterWorks(String path) {
    Response r = gateway.http().send(gateway.http().request(path + "?access_token=" + TestGateway.READ_TOKEN).GET());
    assertEquals(200, r.status(), r.body());
    assertEquals(path.startsWith("/v1/events") ? posted.size() : 5, r.json().getJsonArray("events").size());
  }

  private static void assertUnauthorized(Response r) {
    assertEquals(401, r.status(), r.body());
    assertEquals("unauthorized", r.errorCode());
  }

  private static JsonObject read(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  private static List<Long> versions(JsonObject body) {
    List<Long> out = new ArrayList<>();
    for (Object o : body.getJsonArray("events")) {
      out.add(((JsonObject) o).getLong("streamVersion"));
    }
    return out;
  }

  private static List<Long> positions(JsonObject body) {
    List<Long> out = new ArrayList<>();
    for (Object o : body.getJsonArray("events")) {
      out.add(((JsonObject) o).getLong("position"));
    }
    return out;
  }

  private static List<JsonObject> postedOn(String stream) {
    List<JsonObject> out = new ArrayList<>();
    for (JsonObject e : posted) {
      if (e.getString("streamId").equals(stream)) {
        out.add(e);
      }
    }
    return out;
  }

  private static JsonObject answeredFor(String id) {
    for (JsonObject a : answered) {
      if (a.getString("id").equals(id)) {
        return a;
      }
    }
    throw new AssertionError("no answer for " + id);
  }
}
