package io.flightdeck.gateway.ingest.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Segment-compatible API over HTTP, as analytics.js and analytics-node use it: every call type, how it is
 * stored (type, stream, data, metadata, time), write keys, idempotency, atomic batches, custom types and errors.
 */
@ExtendWith(PostgresExtension.class)
class SegmentApiIT {

  /**
   * shop lists one custom type with a small data limit; blog has none; tiny has the smallest rate limit; colons has a
   * write key with colons in it.
   */
  private static final String RESTRICTED_SITES = """
      [{"id":"shop","writeKey":"wk-shop-2b9e71c4","allowedOrigins":["https://shop.example"],
        "customEvents":{"allowed":["Order Completed"],"maxDataBytes":256}},
       {"id":"blog","writeKey":"wk-blog-88d1e0aa","allowedOrigins":["*"]},
       {"id":"tiny","writeKey":"wk-tiny-4c7d20e1","allowedOrigins":["*"],"rateLimit":{"eventsPerSecond":1,"burst":500}},
       {"id":"colons","writeKey":"wk:colons:9a41e7","allowedOrigins":["*"]}]""";
  private static final Set<String> ERROR_FIELDS = Set.of("code", "message", "details");

  // two gateways on the one database: the demo's starts first and closes last
  @RegisterExtension
  @Order(1)
  static final ClassGateway gateway = ClassGateway.defaults();
  @RegisterExtension
  @Order(2)
  static final ClassGateway restricted = ClassGateway.with(Map.of("FLIGHTDECK_SITES", RESTRICTED_SITES));

  static HttpTestClient http() {
    return gateway.http();
  }

  // ---- helpers

  private static String basic(String writeKey) {
    return "Basic " + Base64.getEncoder().encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8));
  }

  /** A POST of {@code body} to {@code path} as analytics-node sends it: JSON, the write key as Basic user name. */
  private static HttpTestClient.Response post(String path, JsonObject body) {
    return post(http(), path, body, TestGateway.WRITE_KEY);
  }

  private static HttpTestClient.Response post(HttpTestClient client, String path, JsonObject body, String writeKey) {
    return send(client, path, body.encode(), "Content-Type", "application/json", "Authorization", basic(writeKey),
        "User-Agent", "analytics-node-next/latest");
  }

  private static HttpTestClient.Response send(HttpTestClient client, String path, String body, String... headers) {
    HttpRequest.Builder b = client.request(path).POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b);
  }

  private static void assertSuccess(HttpTestClient.Response r) {
    assertEquals(200, r.status(), r.body());
    assertTrue(r.header("Content-Type").startsWith("application/json"), r.headers().toString());
    assertEquals(new JsonObject().put("success", true), r.json());
  }

  /** The contract's error answer with this status and code; answers its details (empty when none). */
  private static JsonArray assertError(HttpTestClient.Response r, int status, String code) {
    assertEquals(status, r.status(), r.body());
    assertTrue(r.header("Content-Type").startsWith("application/json"), r.headers().toString());
    assertEquals(Set.of("error"), r.json().fieldNames(), r.body());
    JsonObject error = r.json().getJsonObject("error");
    assertTrue(ERROR_FIELDS.containsAll(error.fieldNames()), r.body());
    assertEquals(code, error.getString("code"), r.body());
    assertFalse(error.getString("message").isBlank(), r.body());
    return error.getJsonArray("details", new JsonArray());
  }

  private static JsonObject detail(JsonArray details, Integer index, String field) {
    for (Object o : details) {
      JsonObject d = (JsonObject) o;
      if (field.equals(d.getString("field")) && java.util.Objects.equals(index, d.getInteger("index"))) {
        return d;
      }
    }
    return fail("no detail for " + index + " " + field + " in " + details);
  }

  private static String unique(String label) {
    return label + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** The stored event of {@code streamId} (there must be exactly one) as the read envelope's fields. */
  private static JsonObject onlyEvent(String streamId) {
    List<JsonObject> events = events(streamId);
    assertEquals(1, events.size(), events.toString());
    return events.get(0);
  }

  private static List<JsonObject> events(String streamId) {
    return gateway.db().query("""
        SELECT id::text, type, schema_version, data::text, metadata::text,
               ((metadata->>'segment.receivedAt')::timestamptz - occurred_at)::text
        FROM events WHERE stream_id = ? ORDER BY position""", streamId).stream()
        .map(row -> new JsonObject()
            .put("id", row.get(0))
            .put("type", row.get(1))
            .put("schemaVersion", row.get(2))
            .put("data", new JsonObject((String) row.get(3)))
            .put("metadata", new JsonObject((String) row.get(4)))
            .put("receivedMinusOccurred", row.get(5)))
        .toList();
  }

  private static long rows(String streamId) {
    return gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = ?", streamId);
  }

  private static String derivedId(String site, String messageId) {
    return UUID.nameUUIDFromBytes(("site:" + site + ":" + messageId).getBytes(StandardCharsets.UTF_8)).toString();
  }

  // ---- every call type

  @Test
  @DisplayName("a track call is stored as an event of its name, in the user's stream, with the properties as data")
  void trackCustomEvent() {
    String user = unique("user");
    JsonObject message = new JsonObject()
        .put("type", "track").put("event", "Order Completed").put("userId", user).put("anonymousId", "anon-7")
        .put("messageId", "node-next-1700000000000-abc")
        .put("properties", new JsonObject().put("orderId", "o-1").put("total", 42.5).put("currency", "EUR"))
        .put("context", new JsonObject().put("ip", "203.0.113.7")
            .put("library", new JsonObject().put("name", "analytics-node-next").put("version", "1.3.0")));

    assertSuccess(post("/v1/track", message));

    JsonObject e = onlyEvent(user);
    assertEquals(derivedId("demo", "node-next-1700000000000-abc"), e.getString("id"));
    assertEquals("Order Completed", e.getString("type"));
    assertEquals(1, e.getInteger("schemaVersion"));
    assertEquals(new JsonObject().put("orderId", "o-1").put("total", 42.5).put("currency", "EUR"), e.getJsonObject("data"));
    JsonObject metadata = e.getJsonObject("metadata");
    assertEquals(Set.of("site", "userAgent", "clientIp", "segment.call", "segment.messageId", "segment.userId",
        "segment.anonymousId", "segment.receivedAt", "segment.library"), metadata.fieldNames());
    assertEquals("demo", metadata.getString("site"));
    assertEquals("analytics-node-next/latest", metadata.getString("userAgent"));
    assertEquals("127.0.0.0", metadata.getString("clientIp"), "the server's anonymized address, not context.ip");
    assertEquals("track", metadata.getString("segment.call"));
    assertEquals("node-next-1700000000000-abc", metadata.getString("segment.messageId"));
    assertEquals(user, metadata.getString("segment.userId"));
    assertEquals("anon-7", metadata.getString("segment.anonymousId"));
    assertEquals("analytics-node-next/1.3.0", metadata.getString("segment.library"));
    assertFalse(metadata.encode().contains("203.0.113"), metadata.encode());
    assertEquals("00:00:00", e.getString("receivedMinusOccurred"), "without a timestamp it happened at receipt");
  }

  @Test
  @DisplayName("a track call named like a built-in type is stored as that type, checked against its schema")
  void trackBuiltInType() {
    String user = unique("user");
    assertSuccess(post("/v1/track", new JsonObject().put("event", "ButtonClicked").put("userId", user)
        .put("properties", new JsonObject().put("buttonId", "buy").put("label", "Buy now"))));

    JsonObject e = onlyEvent(user);
    assertEquals("ButtonClicked", e.getString("type"));
    assertEquals(2, e.getInteger("schemaVersion"));
    assertEquals(new JsonObject().put("buttonId", "buy").put("label", "Buy now"), e.getJsonObject("data"));

    JsonArray details = assertError(post("/v1/track", new JsonObject().put("event", "ButtonClicked").put("userId", user)
        .put("properties", new JsonObject().put("label", "no id"))), 400, "invalid_event");
    assertEquals("required", detail(details, 0, "properties.buttonId").getString("problem"));
    assertEquals(1L, rows(user));
  }

  @Test
  @DisplayName("a page call is stored as PageViewed version 2 in the anonymous visitor's stream, readable by the API")
  void page() {
    String anon = unique("anon");
    assertSuccess(post("/v1/page", new JsonObject()
        .put("type", "page").put("anonymousId", anon).put("name", "Pricing").put("category", "Docs")
        .put("properties", new JsonObject().put("path", "/pricing").put("search", "?plan=pro"))
        .put("context", new JsonObject().put("page", new JsonObject()
            .put("url", "https://shop.example/pricing?plan=pro").put("title", "Pricing | Shop")
            .put("referrer", "https://search.example/")))));

    JsonObject e = onlyEvent(anon);
    assertEquals("PageViewed", e.getString("type"));
    assertEquals(2, e.getInteger("schemaVersion"));
    JsonObject data = new JsonObject().put("pageId", "/pricing").put("url", "https://shop.example/pricing?plan=pro")
        .put("title", "Pricing | Shop").put("referrer", "https://search.example/")
        .put("properties", new JsonObject().put("search", "?plan=pro").put("name", "Pricing").put("category", "Docs"));
    assertEquals(data, e.getJsonObject("data"));
    assertEquals("page", e.getJsonObject("metadata").getString("segment.call"));

    JsonArray read = http().getWithReadToken("/v1/streams/" + anon + "/events").json().getJsonArray("events");
    assertEquals(1, read.size(), read.encode());
    assertEquals("PageViewed", read.getJsonObject(0).getString("type"));
    assertEquals(data, read.getJsonObject(0).getJsonObject("data"));
  }

  @Test
  @DisplayName("identify, screen, group and alias calls are stored as Identified, ScreenViewed, GroupAssigned and Aliased")
  void identifyScreenGroupAlias() {
    String user = unique("user");
    String anon = unique("anon");
    JsonObject traits = new JsonObject().put("email", "ada@example.com").put("plan", "pro");

    assertSuccess(post("/v1/identify", new JsonObject().put("userId", user).put("anonymousId", anon).put("traits", traits)));
    assertSuccess(post("/v1/screen", new JsonObject().put("userId", user).put("name", "Checkout")
        .put("properties", new JsonObject().put("step", 2))));
    assertSuccess(post("/v1/group", new JsonObject().put("userId", user).put("groupId", "acme")
        .put("traits", new JsonObject().put("employees", 120))));
    assertSuccess(post("/v1/alias", new JsonObject().put("previousId", anon).put("userId", user)));

    List<JsonObject> events = events(user);
    assertEquals(List.of("Identified", "ScreenViewed", "GroupAssigned", "Aliased"),
        events.stream().map(e -> e.getString("type")).toList());
    assertEquals(List.of(new JsonObject().put("traits", traits),
            new JsonObject().put("name", "Checkout").put("properties", new JsonObject().put("step", 2)),
            new JsonObject().put("groupId", "acme").put("traits", new JsonObject().put("employees", 120)),
            new JsonObject().put("previousId", anon).put("userId", user)),
        events.stream().map(e -> e.getJsonObject("data")).toList());
    assertTrue(events.stream().allMatch(e -> e.getInteger("schemaVersion") == 1), events.toString());
    assertEquals(anon, events.get(0).getJsonObject("metadata").getString("segment.anonymousId"),
        "the anonymous id is kept, so the visitor can be linked to the user");
    assertEquals(0L, rows(anon), "a user id wins over the anonymous id as the stream");
  }

  @Test
  @DisplayName("a batch of every call type is stored in order in one request, each mapped as its own call would be")
  void mixedBatch() {
    String user = unique("user");
    JsonArray batch = new JsonArray()
        .add(new JsonObject().put("type", "identify").put("userId", user).put("traits", new JsonObject()))
        .add(new JsonObject().put("type", "page").put("userId", user).put("properties", new JsonObject().put("path", "/")))
        .add(new JsonObject().put("type", "screen").put("userId", user).put("name", "Home"))
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "Signed Up"))
        .add(new JsonObject().put("type", "group").put("userId", user).put("groupId", 7))
        .add(new JsonObject().put("type", "alias").put("userId", user).put("previousId", "anon-1"));

    assertSuccess(post("/v1/batch", new JsonObject().put("batch", batch).put("sentAt", Instant.now().toString())));

    List<JsonObject> events = events(user);
    assertEquals(List.of("Identified", "PageViewed", "ScreenViewed", "Signed Up", "GroupAssigned", "Aliased"),
        events.stream().map(e -> e.getString("type")).toList());
    assertEquals(List.of("identify", "page", "screen", "track", "group", "alias"),
        events.stream().map(e -> e.getJsonObject("metadata").getString("segment.call")).toList());
    assertEquals("7", events.get(4).getJsonObject("data").getString("groupId"));
    assertEquals(1L, gateway.db().queryLong("SELECT count(DISTINCT tx_id) FROM events WHERE stream_id = ?", user),
        "one request, one transaction");
  }

  // ---- how clients send

  @Test
  @DisplayName("a gzip-compressed batch (Content-Encoding: gzip, as server-side SDKs send) is stored like a plain one")
  void gzipBatch() {
    String user = unique("user");
    String body = new JsonObject().put("batch", new JsonArray()
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "Signed Up"))
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "Upgraded"))).encode();

    assertSuccess(http().send(http().request("/v1/batch")
        .header("Content-Type", "application/json").header("Content-Encoding", "gzip")
        .header("Authorization", basic(TestGateway.WRITE_KEY))
        .POST(HttpRequest.BodyPublishers.ofByteArray(HttpTestClient.gzip(body)))));

    assertEquals(List.of("Signed Up", "Upgraded"), events(user).stream().map(e -> e.getString("type")).toList());
  }

  @Test
  @DisplayName("analytics-ruby's batches (POST /v1/import, its default path) are stored like /v1/batch's")
  void analyticsRubyImportPath() {
    String user = unique("user");
    JsonObject message = new JsonObject().put("type", "track").put("userId", user).put("event", "Signed Up")
        .put("messageId", UUID.randomUUID().toString()).put("timestamp", Instant.now().toString())
        .put("context", new JsonObject().put("library", new JsonObject().put("name", "analytics-ruby")
            .put("version", "2.5.0")));

    assertSuccess(post("/v1/import", new JsonObject().put("batch", new JsonArray().add(message))
        .put("sentAt", Instant.now().toString())));

    assertEquals("analytics-ruby/2.5.0", onlyEvent(user).getJsonObject("metadata").getString("segment.library"));
  }

  @Test
  @DisplayName("analytics.js's requests (text/plain, writeKey in the body, one-letter paths) are accepted")
  void analyticsJsStyle() {
    String anon = unique("anon");
    JsonObject message = new JsonObject().put("anonymousId", anon).put("type", "track").put("event", "Clicked CTA")
        .put("writeKey", TestGateway.WRITE_KEY).put("messageId", "ajs-next-" + anon)
        .put("sentAt", Instant.now().toString()).put("timestamp", Instant.now().toString());

    assertSuccess(send(http(), "/v1/t", message.encode(), "Content-Type", "text/plain"));
    assertSuccess(send(http(), "/v1/b", new JsonObject().put("writeKey", TestGateway.WRITE_KEY)
        .put("batch", new JsonArray().add(message.copy().put("messageId", "ajs-next-2-" + anon)))
        .put("sentAt", Instant.now().toString()).encode(), "Content-Type", "text/plain"));

    assertEquals(2L, rows(anon));
    assertEquals(derivedId("demo", "ajs-next-" + anon), events(anon).get(0).getString("id"));
  }

  @Test
  @DisplayName("the write key is accepted in the X-Write-Key header too")
  void writeKeyHeader() {
    String anon = unique("anon");
    assertSuccess(send(http(), "/v1/identify", new JsonObject().put("anonymousId", anon).encode(),
        "Content-Type", "application/json", "X-Write-Key", TestGateway.WRITE_KEY));
    assertEquals(1L, rows(anon));
  }

  @Test
  @DisplayName("an empty or blank Basic user name or X-Write-Key header counts as absent: the key sent another way is "
      + "used")
  void emptyWriteKeySourceIsSkipped() {
    String anon = unique("anon");
    String body = new JsonObject().put("anonymousId", anon).encode();
    String keyInBody = new JsonObject(body).put("writeKey", TestGateway.WRITE_KEY).encode();

    assertSuccess(send(http(), "/v1/identify", body, "Content-Type", "application/json",
        "Authorization", basic("  "), "X-Write-Key", TestGateway.WRITE_KEY));
    assertSuccess(send(http(), "/v1/identify", keyInBody, "Content-Type", "application/json", "X-Write-Key", ""));
    assertSuccess(send(http(), "/v1/identify", keyInBody, "Content-Type", "application/json",
        "Authorization", basic(" "), "X-Write-Key", ""));
    assertEquals(3L, rows(anon));
  }

  @Test
  @DisplayName("a write key with colons in it is taken whole from Basic credentials as Segment's libraries send them, "
      + "base64(writeKey + \":\"), not cut at its first colon; user:password is still split at the first colon")
  void writeKeyWithColons() {
    String user = unique("user");
    HttpTestClient client = restricted.http();

    assertSuccess(post(client, "/v1/identify", new JsonObject().put("userId", user), "wk:colons:9a41e7"));
    assertSuccess(send(client, "/v1/identify", new JsonObject().put("userId", user).encode(),
        "Content-Type", "application/json", "Authorization", "Basic " + Base64.getEncoder()
            .encodeToString("wk-blog-88d1e0aa:s3cret".getBytes(StandardCharsets.UTF_8))));

    assertEquals(List.of("colons", "blog"),
        events(user).stream().map(e -> e.getJsonObject("metadata").getString("site")).toList());
  }

  @Test
  @DisplayName("Basic credentials that name no site (a staging site's own HTTP Basic login, which a browser sends to a "
      + "first-party proxy of the gateway, or no base64 at all) do not hide the key sent in X-Write-Key or the body; "
      + "alone they are still 401")
  void foreignBasicCredentialsDoNotHideTheKey() {
    String anon = unique("anon");
    String staffLogin = "Basic " + Base64.getEncoder().encodeToString("staff:hunter2".getBytes(StandardCharsets.UTF_8));
    String body = new JsonObject().put("anonymousId", anon).encode();
    String keyInBody = new JsonObject(body).put("writeKey", TestGateway.WRITE_KEY).encode();

    assertSuccess(send(http(), "/v1/i", keyInBody, "Content-Type", "text/plain", "Authorization", staffLogin));
    assertSuccess(send(http(), "/v1/identify", body, "Content-Type", "application/json", "Authorization", staffLogin,
        "X-Write-Key", TestGateway.WRITE_KEY));
    assertSuccess(send(http(), "/v1/identify", keyInBody, "Content-Type", "application/json",
        "Authorization", "Basic %%%"));
    assertEquals(3L, rows(anon));

    assertError(send(http(), "/v1/identify", body, "Content-Type", "application/json", "Authorization", staffLogin),
        401, "unknown_write_key");
    assertError(send(http(), "/v1/identify", new JsonObject(body).put("writeKey", "wk-nobody-00000000").encode(),
        "Content-Type", "application/json", "Authorization", staffLogin), 401, "unknown_write_key");
    assertError(send(http(), "/v1/identify", body, "Content-Type", "application/json", "Authorization", "Basic %%%"),
        401, "missing_write_key");
    assertEquals(3L, rows(anon));
  }

  @Test
  @DisplayName("a Basic user name, X-Write-Key header and writeKey field that are all empty are 401 missing_write_key")
  void allWriteKeySourcesEmpty() {
    String anon = unique("anon");
    String body = new JsonObject().put("anonymousId", anon).put("writeKey", "").encode();

    assertError(send(http(), "/v1/identify", body, "Content-Type", "application/json",
        "Authorization", basic(""), "X-Write-Key", ""), 401, "missing_write_key");
    assertEquals(0L, rows(anon));
  }

  @Test
  @DisplayName("without a write key the answer is 401 missing_write_key, with an unknown one 401 unknown_write_key")
  void writeKeys() {
    String anon = unique("anon");
    String body = new JsonObject().put("anonymousId", anon).put("event", "Signed Up").encode();

    assertError(send(http(), "/v1/track", body, "Content-Type", "application/json"), 401, "missing_write_key");
    assertError(post(http(), "/v1/track", new JsonObject(body), "wk-nobody-00000000"), 401, "unknown_write_key");
    assertError(send(http(), "/v1/track", new JsonObject(body).put("writeKey", "wk-nobody-00000000").encode(),
        "Content-Type", "application/json"), 401, "unknown_write_key");
    assertError(send(http(), "/v1/track", body, "Content-Type", "application/json", "Authorization", "Basic %%%"),
        401, "missing_write_key");
    assertEquals(0L, rows(anon));
  }

  // ---- idempotency

  @Test
  @DisplayName("a message sent twice with the same messageId is stored once, and both answers are success")
  void retriedMessageIsStoredOnce() {
    String user = unique("user");
    String uuid = UUID.randomUUID().toString();
    JsonObject derived = new JsonObject().put("userId", user).put("event", "Signed Up").put("messageId", "retry-" + user);
    JsonObject asUuid = new JsonObject().put("userId", user).put("event", "Logged In").put("messageId", uuid);

    for (int attempt = 0; attempt < 2; attempt++) {
      assertSuccess(post("/v1/track", derived));
      assertSuccess(post("/v1/batch", new JsonObject().put("batch", new JsonArray().add(asUuid.copy().put("type", "track")))));
    }

    List<JsonObject> events = events(user);
    assertEquals(2, events.size(), events.toString());
    assertEquals(derivedId("demo", "retry-" + user), events.get(0).getString("id"));
    assertEquals(uuid, events.get(1).getString("id"), "a UUID messageId is the event id itself");
    assertEquals(uuid, events.get(1).getJsonObject("metadata").getString("segment.messageId"));
  }

  @Test
  @DisplayName("a messageId of the nil or max UUID is stored under a name-based id of the site and message id, as any "
      + "id that is not a UUID, rather than refused: the nil and max UUIDs are no event's id on /v1/events")
  void nilMessageIdIsNotTheEventId() {
    String user = unique("user");
    for (String messageId : List.of("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff")) {
      assertSuccess(post("/v1/track", new JsonObject().put("userId", user).put("event", "Signed Up")
          .put("messageId", messageId)));
    }

    List<JsonObject> events = events(user);
    assertEquals(2, events.size(), events.toString());
    assertEquals(derivedId("demo", "00000000-0000-0000-0000-000000000000"), events.get(0).getString("id"));
    assertEquals(derivedId("demo", "ffffffff-ffff-ffff-ffff-ffffffffffff"), events.get(1).getString("id"));
  }

  @Test
  @DisplayName("messages without a messageId are each stored, since nothing identifies a retry")
  void noMessageIdNoDedupe() {
    String user = unique("user");
    JsonObject message = new JsonObject().put("userId", user).put("event", "Signed Up");
    assertSuccess(post("/v1/track", message));
    assertSuccess(post("/v1/track", message));
    assertEquals(2L, rows(user));
  }

  // ---- time

  @Test
  @DisplayName("a timestamp with more than nine fraction digits (ISO 8601 sets no limit) is taken to the "
      + "microsecond, its finer digits cut, not refused")
  void timestampWithManyFractionDigits() {
    String user = unique("user");

    assertSuccess(post("/v1/track", new JsonObject().put("userId", user).put("event", "Signed Up")
        .put("timestamp", "2026-11-22T11:15:30.123456789123+01:00")));

    assertEquals(List.of(true), gateway.db().query("SELECT occurred_at = '2026-11-22T10:15:30.123456Z'::timestamptz "
        + "FROM events WHERE stream_id = ?", user).get(0));
  }

  @Test
  @DisplayName("a client clock an hour ahead is corrected: occurredAt is receipt minus (sentAt minus timestamp)")
  void clockSkewIsCorrected() {
    String user = unique("user");
    Instant before = Instant.now().truncatedTo(ChronoUnit.MICROS);
    Instant clientNow = before.plus(Duration.ofHours(1));
    String timestamp = clientNow.minusSeconds(90).toString();
    String sentAt = clientNow.toString();

    assertSuccess(post("/v1/track", new JsonObject().put("userId", user).put("event", "Signed Up")
        .put("timestamp", timestamp).put("sentAt", sentAt).put("originalTimestamp", timestamp)));
    Instant after = Instant.now();

    JsonObject e = onlyEvent(user);
    JsonObject metadata = e.getJsonObject("metadata");
    assertEquals(timestamp, metadata.getString("segment.timestamp"));
    assertEquals(sentAt, metadata.getString("segment.sentAt"));
    assertEquals(timestamp, metadata.getString("segment.originalTimestamp"));
    Instant receivedAt = Instant.parse(metadata.getString("segment.receivedAt"));
    assertTrue(!receivedAt.isBefore(before) && !receivedAt.isAfter(after), receivedAt + " within the request");
    assertEquals("00:01:30", e.getString("receivedMinusOccurred"), "90 s before receipt, not an hour ahead");
  }

  @Test
  @DisplayName("in a batch the batch's sentAt corrects every message that has none of its own")
  void batchSentAtCorrects() {
    String user = unique("user");
    Instant clientNow = Instant.now().minus(Duration.ofDays(2)); // a client clock two days behind
    JsonArray batch = new JsonArray()
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "A")
            .put("timestamp", clientNow.minusSeconds(10).toString()))
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "B")
            .put("timestamp", clientNow.minusSeconds(10).toString()).put("sentAt", clientNow.minusSeconds(4).toString()));

    assertSuccess(post("/v1/batch", new JsonObject().put("batch", batch).put("sentAt", clientNow.toString())));

    assertEquals(List.of("00:00:10", "00:00:06"),
        events(user).stream().map(e -> e.getString("receivedMinusOccurred")).toList());
  }

  @Test
  @DisplayName("a malformed timestamp is refused with 400 invalid_event naming timestamp")
  void malformedTimestamp() {
    String user = unique("user");
    JsonArray details = assertError(post("/v1/track", new JsonObject().put("userId", user).put("event", "X")
        .put("timestamp", "yesterday")), 400, "invalid_event");
    detail(details, 0, "timestamp");
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("an id written as a number too long to write out (1e400, 1e999999999, 1e-400) is refused with 400 "
      + "naming the field, and nothing is stored")
  void hugeNumericIds() {
    String user = unique("user");
    String problem = "must be a string or a number of at most 200 digits";
    String[] bodies = {
        "{\"userId\":1e400,\"event\":\"Signed Up\"}",
        "{\"userId\":\"" + user + "\",\"messageId\":1e999999999,\"event\":\"Signed Up\"}",
        "{\"batch\":[{\"type\":\"track\",\"userId\":\"" + user + "\",\"event\":\"Signed Up\"},"
            + "{\"type\":\"identify\",\"anonymousId\":1e-400},{\"type\":\"group\",\"userId\":\"" + user
            + "\",\"groupId\":-1E+9999}]}"};
    String[] paths = {"/v1/track", "/v1/track", "/v1/batch"};
    for (int i = 0; i < bodies.length; i++) {
      HttpTestClient.Response r = send(http(), paths[i], bodies[i], "Content-Type", "application/json",
          "Authorization", basic(TestGateway.WRITE_KEY));
      JsonArray details = assertError(r, 400, "invalid_event");
      if (i == 0) {
        assertEquals(problem, detail(details, 0, "userId").getString("problem"));
      } else if (i == 1) {
        assertEquals(problem, detail(details, 0, "messageId").getString("problem"));
      } else {
        assertEquals(problem, detail(details, 1, "anonymousId").getString("problem"));
        assertEquals(problem, detail(details, 2, "groupId").getString("problem"));
      }
    }
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("a number whose exponent no decimal can hold is refused with 400 invalid_json on every Segment path, "
      + "before the write key is looked at; nothing is stored")
  void numbersOutOfRangeAreInvalidJson() {
    String user = unique("user");
    Map<String, String> bodies = Map.of(
        "/v1/track", "{\"userId\":\"" + user + "\",\"event\":\"Signed Up\",\"properties\":{\"x\":1e2147483648}}",
        "/v1/page", "{\"userId\":\"" + user + "\",\"properties\":{\"x\":1e-9999999999}}",
        "/v1/identify", "{\"userId\":\"" + user + "\",\"traits\":{\"x\":1e99999999999}}",
        "/v1/batch", "{\"batch\":[{\"type\":\"track\",\"userId\":\"" + user + "\",\"event\":\"E\"}],"
            + "\"context\":{\"x\":1e-2147483648}}");
    bodies.forEach((path, body) -> {
      JsonArray details = assertError(send(http(), path, body, "Content-Type", "application/json",
          "Authorization", basic(TestGateway.WRITE_KEY)), 400, "invalid_json");
      assertTrue(details.isEmpty(), details.encode());
      assertError(send(http(), path, body, "Content-Type", "application/json"), 400, "invalid_json");
    });
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("a number at the edge of a decimal's range in properties is refused with 400 naming it, never written "
      + "out; nothing is stored")
  void edgeOfRangeNumbersInPropertiesAreRefused() {
    String user = unique("user");
    String body = "{\"userId\":\"" + user + "\",\"event\":\"Signed Up\",\"properties\":{\"x\":1e2147483647}}";

    JsonArray details = assertError(send(http(), "/v1/track", body, "Content-Type", "application/json",
        "Authorization", basic(TestGateway.WRITE_KEY)), 400, "invalid_event");

    assertTrue(detail(details, 0, "properties.x").getString("problem").contains("1000 digits"), details.encode());
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("an id written as a decimal number is the number written out: userId 1.25e3 is stream 1250")
  void decimalIdWrittenOut() {
    String digits = String.valueOf(1_000_000 + new java.util.Random().nextInt(1_000_000));
    assertSuccess(send(http(), "/v1/identify", "{\"userId\":" + digits + "25e-2}", "Content-Type",
        "application/json", "Authorization", basic(TestGateway.WRITE_KEY)));
    assertEquals("Identified", onlyEvent(digits + ".25").getString("type"));
  }

  // ---- atomic batches and their errors

  @Test
  @DisplayName("a batch with one invalid message is refused with 400 naming each problem, and nothing of it is stored")
  void batchIsAtomic() {
    String user = unique("user");
    JsonArray batch = new JsonArray()
        .add(new JsonObject().put("type", "page").put("userId", user))
        .add(new JsonObject().put("type", "track").put("userId", user))
        .add(new JsonObject().put("type", "identify").put("traits", new JsonObject()))
        .add(new JsonObject().put("type", "teleport").put("userId", user))
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "ButtonClicked"));

    JsonArray details = assertError(post("/v1/batch", new JsonObject().put("batch", batch)), 400, "invalid_event");

    assertEquals("required", detail(details, 1, "event").getString("problem"));
    assertEquals("userId or anonymousId is required", detail(details, 2, "userId").getString("problem"));
    assertTrue(detail(details, 3, "type").getString("problem").contains("track"), details.encode());
    assertEquals("required", detail(details, 4, "properties.buttonId").getString("problem"));
    assertEquals(4, details.size(), details.encode());
    assertEquals(0L, rows(user));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "not a batch object | [1,2] | ''",
      "no batch | {\"sentAt\":\"2026-11-22T10:00:00Z\"} | batch",
      "an empty batch | {\"batch\":[]} | batch",
      "a batch that is not a list | {\"batch\":{}} | batch",
      "a malformed batch sentAt | {\"batch\":[{\"type\":\"identify\",\"userId\":\"u\"}],\"sentAt\":\"soon\"} | sentAt"})
  @DisplayName("a batch body of the wrong shape is refused with 400 invalid_event naming the field")
  void batchShape(String what, String body, String field) {
    JsonArray details = assertError(send(http(), "/v1/batch", body, "Content-Type", "application/json",
        "Authorization", basic(TestGateway.WRITE_KEY)), 400, "invalid_event");
    detail(details, null, field);
  }

  @Test
  @DisplayName("a batch over ingest.maxBatchEvents messages is refused with 413 payload_too_large")
  void batchTooLarge() {
    String user = unique("user");
    JsonArray batch = new JsonArray();
    for (int i = 0; i < 501; i++) {
      batch.add(new JsonObject().put("type", "track").put("userId", user).put("event", "E"));
    }
    assertError(post("/v1/batch", new JsonObject().put("batch", batch)), 413, "payload_too_large");
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("the contract's other errors hold: invalid JSON 400, another media type 415, a preflight 204")
  void otherErrors() {
    assertError(send(http(), "/v1/page", "{\"anonymousId\":", "Content-Type", "application/json",
        "Authorization", basic(TestGateway.WRITE_KEY)), 400, "invalid_json");
    assertError(send(http(), "/v1/page", "{}", "Content-Type", "application/x-www-form-urlencoded",
        "Authorization", basic(TestGateway.WRITE_KEY)), 415, "unsupported_media_type");
    HttpTestClient.Response preflight = http().send(http().request("/v1/track")
        .header("Origin", "https://any.example").header("Access-Control-Request-Method", "POST")
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertEquals(204, preflight.status(), preflight.body());
    assertTrue(preflight.header("Access-Control-Allow-Headers").contains("Authorization"), preflight.headers().toString());
  }

  // ---- custom types per site

  @Test
  @DisplayName("custom data over the site's limit (8 KiB on the demo site) is refused with 413 and not stored")
  void customDataTooLarge() {
    String user = unique("user");
    JsonObject message = new JsonObject().put("userId", user).put("event", "Big")
        .put("properties", new JsonObject().put("blob", "x".repeat(8200)));
    JsonArray details = assertError(post("/v1/track", message), 413, "payload_too_large");
    assertTrue(detail(details, 0, "properties").getString("problem").contains("8192"), details.encode());
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("a string of more than 32768 characters in properties or traits is data too large, 413 as on "
      + "/v1/events, not 400 invalid_json, in a single message and in a batch")
  void overlongStringInDataIsTooLarge() {
    String user = unique("user");
    String blob = "x".repeat(40_000);

    JsonArray track = assertError(post("/v1/track", new JsonObject().put("userId", user).put("event", "Big")
        .put("properties", new JsonObject().put("blob", blob))), 413, "payload_too_large");
    assertNotNull(detail(track, 0, "properties"), track.encode());
    JsonArray identify = assertError(post("/v1/identify", new JsonObject().put("userId", user)
        .put("traits", new JsonObject().put("bio", blob))), 413, "payload_too_large");
    assertNotNull(detail(identify, 0, "traits"), identify.encode());
    JsonArray batch = assertError(post("/v1/batch", new JsonObject().put("batch", new JsonArray()
        .add(new JsonObject().put("type", "track").put("userId", user).put("event", "Small"))
        .add(new JsonObject().put("type", "page").put("userId", user)
            .put("properties", new JsonObject().put("blob", blob))))), 413, "payload_too_large");
    assertNotNull(detail(batch, 1, "properties"), batch.encode());
    // outside what becomes data, such a string is malformed JSON, as on /v1/events
    assertError(post("/v1/track", new JsonObject().put("userId", user).put("event", "Big")
        .put("context", new JsonObject().put("blob", blob))), 400, "invalid_json");
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("a \\u escape of an unpaired surrogate (half an emoji a page's script cut off) in a Segment batch is "
      + "stored as U+FFFD, in a value, at a string's end or in a key; an escaped pair is stored as sent; "
      + "POST /v1/events still refuses it with 400 invalid_json")
  void loneSurrogateEscapesReplaced() {
    String user = unique("user");
    String m = "{\"type\":\"track\",\"event\":\"Cut\",\"userId\":\"" + user + "\",\"properties\":";
    String body = "{\"batch\":["
        + m + "{\"n\":1,\"high\":\"Hi \\ud83d!\"}},"
        + m + "{\"n\":2,\"low\":\"\\uDE00 there\"}},"
        + m + "{\"n\":3,\"end\":\"Hi \\ud83d\"}},"
        + m + "{\"n\":4,\"k\\ud800ey\":\"v\"}},"
        + m + "{\"n\":5,\"pair\":\"\\ud83d\\ude00\",\"reversed\":\"\\ude00\\ud83d\","
        + "\"text\":\"\\\\ud83d\"}}]}";

    assertSuccess(send(http(), "/v1/batch", body, "Content-Type", "application/json",
        "Authorization", basic(TestGateway.WRITE_KEY)));

    List<JsonObject> data = events(user).stream().map(e -> e.getJsonObject("data"))
        .sorted(java.util.Comparator.comparing(d -> d.getInteger("n"))).toList();
    assertEquals(List.of(
        new JsonObject().put("n", 1).put("high", "Hi \ufffd!"),
        new JsonObject().put("n", 2).put("low", "\ufffd there"),
        new JsonObject().put("n", 3).put("end", "Hi \ufffd"),
        new JsonObject().put("n", 4).put("k\ufffdey", "v"),
        new JsonObject().put("n", 5).put("pair", "\ud83d\ude00").put("reversed", "\ufffd\ufffd")
            .put("text", "\\ud83d")), data);

    // two keys that differ only in their halves become the same key: a duplicate, as any other
    assertError(send(http(), "/v1/track", "{\"userId\":\"" + user + "\",\"event\":\"Cut\","
        + "\"properties\":{\"a\\ud800\":1,\"a\\udc00\":2}}", "Content-Type", "application/json",
        "Authorization", basic(TestGateway.WRITE_KEY)), 400, "invalid_json");
    assertEquals(5L, rows(user));

    String stream = unique("visitor");
    assertError(send(http(), "/v1/events",
        "{\"type\":\"Order Completed\",\"streamId\":\"" + stream + "\",\"data\":{\"t\":\"Hi \\ud83d\"}}",
        "Content-Type", "application/json", "X-Write-Key", TestGateway.WRITE_KEY), 400, "invalid_json");
    assertEquals(0L, rows(stream));
  }

  @Test
  @DisplayName("a custom type the site does not list is refused with 400 naming event; one it lists is stored")
  void customTypeNotAllowed() {
    String user = unique("user");
    HttpTestClient shop = restricted.http();

    JsonArray details = assertError(post(shop, "/v1/track",
        new JsonObject().put("userId", user).put("event", "Signed Up"), "wk-shop-2b9e71c4"), 400, "invalid_event");
    assertEquals("unknown type 'Signed Up'", detail(details, 0, "event").getString("problem"));
    assertError(post(shop, "/v1/track", new JsonObject().put("userId", user).put("event", "Order Completed"),
        "wk-blog-88d1e0aa"), 400, "invalid_event");
    assertSuccess(post(shop, "/v1/track", new JsonObject().put("userId", user).put("event", "Order Completed")
        .put("properties", new JsonObject().put("total", 10)), "wk-shop-2b9e71c4"));

    JsonObject e = onlyEvent(user);
    assertEquals("Order Completed", e.getString("type"));
    assertEquals("shop", e.getJsonObject("metadata").getString("site"));
    assertError(post(shop, "/v1/track", new JsonObject().put("userId", user).put("event", "Order Completed")
        .put("properties", new JsonObject().put("note", "n".repeat(300))), "wk-shop-2b9e71c4"), 413, "payload_too_large");
    assertEquals(1L, rows(user));
  }

  @Test
  @DisplayName("POST /v1/events accepts a custom type only where the site names it: the shipped demo site's \"*\" "
      + "covers Segment track names, and an unknown type on /v1/events is 400 as the contract says")
  void customTypesOnEventsEndpoint() {
    String stream = unique("visitor");
    JsonObject order = new JsonObject().put("type", "Order Completed").put("streamId", stream)
        .put("data", new JsonObject().put("total", 10));

    JsonArray unknown = assertError(http().postEvents(order.copy().put("type", "Any Name At All")), 400,
        "invalid_event");
    assertEquals("unknown type 'Any Name At All'", detail(unknown, 0, "type").getString("problem"));
    assertEquals(200, post("/v1/track", new JsonObject().put("userId", stream).put("event", "Any Name At All")
        .put("messageId", unique("m"))).status(), "the same name as a Segment track call, on the same site");
    HttpTestClient.Response shop = send(restricted.http(), "/v1/events", order.encode(),
        "Content-Type", "application/json", "X-Write-Key", "wk-shop-2b9e71c4");
    assertEquals("appended", shop.results().getJsonObject(0).getString("status"), shop.body());
    JsonArray refused = assertError(send(restricted.http(), "/v1/events", order.encode(),
        "Content-Type", "application/json", "X-Write-Key", "wk-blog-88d1e0aa"), 400, "invalid_event");
    assertEquals("unknown type 'Order Completed'", detail(refused, 0, "type").getString("problem"));
    assertError(send(restricted.http(), "/v1/events", order.copy().put("type", "Signed Up").encode(),
        "Content-Type", "application/json", "X-Write-Key", "wk-shop-2b9e71c4"), 400, "invalid_event");

    assertEquals(List.of("Any Name At All", "Order Completed"),
        events(stream).stream().map(e -> e.getString("type")).toList());
  }

  @Test
  @DisplayName("a site's origin and rate limits apply to Segment calls as to /v1/events (403, 429 with Retry-After)")
  void originAndRateLimit() {
    String user = unique("user");
    HttpTestClient client = restricted.http();
    HttpTestClient.Response foreign = client.send(client.request("/v1/identify")
        .header("Content-Type", "text/plain").header("Origin", "https://evil.example")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("userId", user)
            .put("writeKey", "wk-shop-2b9e71c4").encode())));
    assertError(foreign, 403, "origin_not_allowed");

    JsonArray batch = new JsonArray();
    for (int i = 0; i < 500; i++) {
      batch.add(new JsonObject().put("type", "identify").put("userId", user));
    }
    assertSuccess(post(client, "/v1/batch", new JsonObject().put("batch", batch), "wk-tiny-4c7d20e1"));
    HttpTestClient.Response limited = post(client, "/v1/batch", new JsonObject().put("batch", batch), "wk-tiny-4c7d20e1");
    assertError(limited, 429, "rate_limited");
    assertNotNull(limited.header("Retry-After"), limited.headers().toString());
    assertEquals(500L, rows(user));

    // analytics.js waits what X-RateLimit-Reset says (seconds) before it retries a batch answered 429, never
    // Retry-After, and can read it only when the answer exposes it
    HttpTestClient.Response browser = send(client, "/v1/b", new JsonObject().put("batch", batch)
        .put("writeKey", "wk-tiny-4c7d20e1").encode(), "Content-Type", "text/plain", "Origin", "https://a.example");
    assertError(browser, 429, "rate_limited");
    assertEquals(browser.header("Retry-After"), browser.header("X-RateLimit-Reset"), browser.headers().toString());
    assertTrue(browser.header("Access-Control-Expose-Headers").contains("X-RateLimit-Reset"),
        browser.headers().toString());
  }
}
