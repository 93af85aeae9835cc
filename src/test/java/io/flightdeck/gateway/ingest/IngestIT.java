package io.flightdeck.gateway.ingest;

import static io.flightdeck.gateway.ingest.IngestRequests.assertAppended;
import static io.flightdeck.gateway.ingest.IngestRequests.assertError;
import static io.flightdeck.gateway.ingest.IngestRequests.batch;
import static io.flightdeck.gateway.ingest.IngestRequests.post;
import static io.flightdeck.gateway.ingest.IngestRequests.postWith;
import static io.flightdeck.gateway.ingest.IngestRequests.rowsInStream;
import static io.flightdeck.gateway.ingest.IngestRequests.rowsWithId;
import static io.flightdeck.gateway.ingest.IngestRequests.storedData;
import static io.flightdeck.gateway.ingest.IngestRequests.storedMetadata;
import static io.flightdeck.gateway.ingest.IngestRequests.stream;
import static io.flightdeck.gateway.support.HttpTestClient.pageView;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code POST /v1/events} when it succeeds: what is answered, what is stored, idempotency; and the schema list. */
@ExtendWith(PostgresExtension.class)
class IngestIT {

  private static final String WRITE_KEY = TestGateway.WRITE_KEY;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  static HttpTestClient http() {
    return gateway.http();
  }

  @Test
  @DisplayName("a single event is answered with its id, position and stream version once it is stored as sent")
  void singleEventIsStored() {
    String streamId = stream("visitor");
    String id = UUID.randomUUID().toString();
    JsonObject event = new JsonObject()
        .put("id", id)
        .put("type", "PageViewed")
        .put("streamId", streamId)
        .put("data", new JsonObject().put("pageId", "/docs/getting-started"))
        .put("metadata", new JsonObject().put("campaign", "spring"))
        .put("occurredAt", "2026-11-22T10:15:30.120Z");

    HttpTestClient.Response r = http().send(post(http(), event.encode()).header("User-Agent", "FlightDeckTest/1.0"));

    JsonObject result = assertAppended(r, 1).getJsonObject(0);
    assertTrue(r.header("Content-Type").startsWith("application/json"), r.headers().toString());
    assertEquals(id, result.getString("id"));
    assertTrue(result.getLong("position") >= 1, r.body());
    assertEquals(1L, result.getLong("streamVersion"));
    List<Object> row = gateway.db().query("""
        SELECT position, id::text, stream_id, stream_version, type, schema_version,
               occurred_at = '2026-11-22T10:15:30.120Z'::timestamptz, recorded_at IS NOT NULL, tx_id IS NOT NULL
        FROM events WHERE id = ?::uuid""", id).get(0);
    assertEquals(List.of(result.getLong("position"), id, streamId, 1L, "PageViewed", 1, true, true, true), row);
    assertEquals(new JsonObject().put("pageId", "/docs/getting-started"), storedData(gateway.db(), id));
  }

  @Test
  @DisplayName("a gzip-compressed body (Content-Encoding: gzip), one event or a batch, is stored as if sent plain")
  void gzipBodyIsStored() {
    JsonObject single = pageView(stream("gzip"), "/compressed");
    String batchStream = stream("gzip-batch");
    JsonObject batch = IngestRequests.batchOf(batchStream, 3);

    assertAppended(
        http().send(post(http(), HttpTestClient.gzip(single.encode())).header("Content-Encoding", "gzip")), 1);
    assertAppended(
        http().send(post(http(), HttpTestClient.gzip(batch.encode())).header("Content-Encoding", "GZIP")), 3);

    assertEquals(new JsonObject().put("pageId", "/compressed"), storedData(gateway.db(), single.getString("id")));
    assertEquals(3L, IngestRequests.rowsInStream(gateway.db(), batchStream));
  }

  @Test
  @DisplayName("a gzip body of several members one after another (RFC 1952), headers with a name, comment, extra "
      + "field or header CRC among them, is decoded as their bytes in a row")
  void concatenatedGzipMembersAreOneBody() {
    JsonObject event = pageView(stream("gzip-members"), "/members");
    String json = event.encode();
    byte[] first = HttpTestClient.gzip(json.substring(0, json.length() / 2));
    byte[] second = withFullHeader(HttpTestClient.gzip(json.substring(json.length() / 2)));
    byte[] body = java.util.Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, body, first.length, second.length);

    assertAppended(http().send(post(http(), body).header("Content-Encoding", "gzip")), 1);
    assertEquals(new JsonObject().put("pageId", "/members"), storedData(gateway.db(), event.getString("id")));
  }

  /** The member with FEXTRA, FNAME, FCOMMENT and FHCRC in its header, as other gzip writers may set them. */
  private static byte[] withFullHeader(byte[] member) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3, 4, 0, 'A', 'B', 0, 0});
    out.writeBytes("event.json\0a comment\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(out.toByteArray());
    out.write((int) crc.getValue() & 0xff);
    out.write((int) (crc.getValue() >> 8) & 0xff);
    out.write(member, 10, member.length - 10);
    return out.toByteArray();
  }

  @Test
  @DisplayName("metadata of 128-character keys and 2048-character values is stored whole when every character is an "
      + "emoji (two UTF-16 units each)")
  void emojiMetadataAtTheLimitsIsStored() {
    String emoji = "\uD83D\uDE00";
    JsonObject event = pageView(stream("emoji-metadata"), "/")
        .put("metadata", new JsonObject().put(emoji.repeat(128), emoji.repeat(2048)));

    assertAppended(http().postEvents(event), 1);
    assertEquals(emoji.repeat(2048), storedMetadata(gateway.db(), event.getString("id")).getString(emoji.repeat(128)));
  }

  @Test
  @DisplayName("the stored metadata keeps the client's keys and adds the site, user agent and an anonymized client IP")
  void storedMetadataHasServerFields() {
    JsonObject event = pageView(stream("visitor"), "/pricing")
        .put("metadata", new JsonObject().put("campaign", "spring").put("referrer", "newsletter"));

    HttpTestClient.Response r = http().send(post(http(), event.encode()).header("User-Agent", "FlightDeckTest/1.0"));

    assertAppended(r, 1);
    assertEquals(new JsonObject()
            .put("campaign", "spring")
            .put("referrer", "newsletter")
            .put("site", "demo")
            .put("userAgent", "FlightDeckTest/1.0")
            .put("clientIp", "127.0.0.0"),
        storedMetadata(gateway.db(), event.getString("id")));
  }

  @Test
  @DisplayName("a client cannot forge the site or client IP in the stored metadata")
  void serverMetadataCannotBeForged() {
    JsonObject event = pageView(stream("visitor"), "/pricing")
        .put("metadata", new JsonObject().put("site", "someone-else").put("clientIp", "203.0.113.7"));

    assertAppended(http().postEvents(event), 1);

    JsonObject metadata = storedMetadata(gateway.db(), event.getString("id"));
    assertEquals("demo", metadata.getString("site"));
    assertEquals("127.0.0.0", metadata.getString("clientIp"));
  }

  @Test
  @DisplayName("an event without an id is stored under an id the gateway makes up and answers")
  void eventWithoutIdGetsOne() {
    String streamId = stream("visitor");
    JsonObject event = pageView(streamId, "/home");
    event.remove("id");

    JsonObject result = assertAppended(http().postEvents(event), 1).getJsonObject(0);

    String id = UUID.fromString(result.getString("id")).toString();
    assertEquals(1L, rowsWithId(gateway.db(), id));
    assertEquals(1L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("every built-in type is accepted with its version 1 data")
  void builtInTypesAreAccepted() {
    String streamId = stream("visitor");
    JsonObject page = pageView(streamId, "/signup").put("schemaVersion", 1);
    JsonObject click = new JsonObject().put("type", "ButtonClicked").put("streamId", streamId)
        .put("data", new JsonObject().put("buttonId", "cta-signup"));
    JsonObject form = new JsonObject().put("type", "FormSubmitted").put("streamId", streamId)
        .put("data", new JsonObject().put("formId", "signup")
            .put("formData", new JsonObject().put("email", "a@example.com").put("plan", "pro")));

    assertAppended(http().postEvents(batch(page, click, form)), 3);

    List<List<Object>> rows = gateway.db().query(
        "SELECT type, schema_version FROM events WHERE stream_id = ? ORDER BY stream_version", streamId);
    assertEquals(List.of(List.of("PageViewed", 1), List.of("ButtonClicked", 1), List.of("FormSubmitted", 1)), rows);
  }

  @Test
  @DisplayName("a batch is stored in the order sent, numbering each stream's events 1, 2, 3...")
  void batchKeepsOrderAndNumbersStreams() {
    String a = stream("visitor-a");
    String b = stream("visitor-b");
    JsonObject[] events = {
        pageView(a, "/1"), pageView(b, "/2"), pageView(a, "/3"), pageView(a, "/4"), pageView(b, "/5")};

    JsonArray results = assertAppended(http().postEvents(batch(events)), 5);

    long[] expectedVersions = {1, 1, 2, 3, 2};
    long previous = 0;
    for (int i = 0; i < events.length; i++) {
      JsonObject result = results.getJsonObject(i);
      assertEquals(events[i].getString("id"), result.getString("id"), "results follow the batch order");
      assertTrue(result.getLong("position") > previous, "positions follow the batch order: " + results);
      previous = result.getLong("position");
      assertEquals(expectedVersions[i], result.getLong("streamVersion"), "event " + i + ": " + results);
      List<Object> row = gateway.db().query(
          "SELECT position, stream_version, data->>'pageId' FROM events WHERE id = ?::uuid",
          events[i].getString("id")).get(0);
      assertEquals(List.of(result.getLong("position"), expectedVersions[i], "/" + (i + 1)), row);
    }

    JsonObject next = assertAppended(http().postEvents(pageView(a, "/6")), 1).getJsonObject(0);
    assertEquals(4L, next.getLong("streamVersion"), "a later request continues the stream");
    assertTrue(next.getLong("position") > previous);
  }

  @Test
  @DisplayName("a sendBeacon request (text/plain, write key in the query) is accepted as JSON")
  void textPlainWithQueryKeyIsAccepted() {
    JsonObject event = pageView(stream("visitor"), "/beacon");

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events?writeKey=" + WRITE_KEY, event.encode(),
        "Content-Type", "text/plain;charset=UTF-8"));

    assertAppended(r, 1);
    assertEquals(1L, rowsWithId(gateway.db(), event.getString("id")));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"ISO-8859-1", "windows-1252", "UTF-16", "UTF-16LE", "\"utf-16be\"", "latin1; charset=ISO-8859-1"})
  @DisplayName("a text/plain body in the charset its Content-Type names is stored as the text it encodes, even when "
      + "its bytes would also be UTF-8 of other text")
  void textPlainInItsNamedCharset(String charset) {
    // "\u00c3\u00a9" is C3 A9 in ISO-8859-1, the UTF-8 bytes of "\u00e9": read as UTF-8 it would become another page
    JsonObject event = pageView(stream("charset"), "/caf\u00e9/\u00c3\u00a9");
    java.nio.charset.Charset named = java.nio.charset.Charset.forName(charset.replace("\"", "").split(";")[0]);

    HttpTestClient.Response r = http().send(http().request("/v1/events?writeKey=" + WRITE_KEY)
        .header("Content-Type", "text/plain; charset=" + charset)
        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(event.encode().getBytes(named))));

    assertAppended(r, 1);
    assertEquals(new JsonObject().put("pageId", "/caf\u00e9/\u00c3\u00a9"),
        storedData(gateway.db(), event.getString("id")));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "2026-11-22T10:15:30.1234567891Z, 2026-11-22T10:15:30.123456Z",
      "2026-11-22T11:15:30.123456789123456789+01:00, 2026-11-22T10:15:30.123456Z",
      "1999-12-31T23:59:59.99999999999999Z, 1999-12-31T23:59:59.999999Z"})
  @DisplayName("an occurredAt with more than nine fraction digits (RFC 3339 sets no limit) is stored to the "
      + "microsecond, its finer digits cut")
  void occurredAtWithManyFractionDigits(String sent, String stored) {
    JsonObject event = pageView(stream("fraction"), "/").put("occurredAt", sent);

    assertAppended(http().postEvents(event), 1);
    assertEquals(List.of(true), gateway.db().query(
        "SELECT occurred_at = ?::timestamptz FROM events WHERE id = ?::uuid", stored, event.getString("id")).get(0));
  }

  @Test
  @DisplayName("the write key is accepted in the writeKey query parameter of a JSON request")
  void writeKeyInQuery() {
    JsonObject event = pageView(stream("visitor"), "/query-key");

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events?writeKey=" + WRITE_KEY, event.encode(),
        "Content-Type", "application/json"));

    assertAppended(r, 1);
    assertEquals("demo", storedMetadata(gateway.db(), event.getString("id")).getString("site"));
  }

  @Test
  @DisplayName("the write key is accepted as a writeKey field of a single event and is not stored with it")
  void writeKeyInSingleEventBody() {
    JsonObject event = pageView(stream("visitor"), "/body-key").put("writeKey", WRITE_KEY);

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events", event.encode(),
        "Content-Type", "text/plain"));

    assertAppended(r, 1);
    assertWriteKeyNotStored(event.getString("id"));
  }

  @Test
  @DisplayName("the write key is accepted as a writeKey field of a batch and is not stored with its events")
  void writeKeyInBatchBody() {
    String streamId = stream("visitor");
    JsonObject first = pageView(streamId, "/a");
    JsonObject second = pageView(streamId, "/b");
    JsonObject body = batch(first, second).put("writeKey", WRITE_KEY);

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events", body.encode(),
        "Content-Type", "application/json"));

    assertAppended(r, 2);
    assertWriteKeyNotStored(first.getString("id"));
    assertWriteKeyNotStored(second.getString("id"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "an empty header, the key in the query | '' | ?writeKey=" + WRITE_KEY + " | false",
      "an empty header, the key in the body | '' | '' | true",
      "an empty query parameter, the key in the body | | ?writeKey= | true",
      "a blank query parameter, the key in the body | | ?writeKey=%20%20 | true",
      "an empty header and query parameter, the key in the body | '' | ?writeKey= | true",
  })
  @DisplayName("an empty or blank write key header or query parameter counts as absent: the key sent another way is "
      + "used")
  void emptyWriteKeySourceIsSkipped(String label, String header, String query, boolean inBody) {
    JsonObject event = pageView(stream("visitor"), "/empty-key-source");
    if (inBody) {
      event.put("writeKey", WRITE_KEY);
    }
    var request = postWith(http(), "/v1/events" + (query == null ? "" : query), event.encode(),
        "Content-Type", "application/json");
    if (header != null) {
      request.header("X-Write-Key", header);
    }

    assertAppended(http().send(request), 1);
    assertEquals("demo", storedMetadata(gateway.db(), event.getString("id")).getString("site"));
  }

  private static void assertWriteKeyNotStored(String id) {
    String row = (String) gateway.db().query("SELECT data::text || metadata::text FROM events WHERE id = ?::uuid", id)
        .get(0).get(0);
    assertFalse(row.contains("writeKey") || row.contains(WRITE_KEY), "stored data and metadata: " + row);
    assertEquals("demo", storedMetadata(gateway.db(), id).getString("site"));
  }

  @Test
  @DisplayName("a re-sent event id is stored once and answered as a duplicate with its original position")
  void resentIdIsDuplicate() {
    String streamId = stream("visitor");
    JsonObject event = pageView(streamId, "/first");
    JsonObject original = assertAppended(http().postEvents(event), 1).getJsonObject(0);
    // a retry with different content must not overwrite or add anything
    JsonObject resent = event.copy().put("data", new JsonObject().put("pageId", "/changed"));

    HttpTestClient.Response r = http().postEvents(resent);

    assertEquals(200, r.status(), r.body());
    JsonObject again = r.results().getJsonObject(0);
    assertEquals("duplicate", again.getString("status"));
    assertEquals(event.getString("id"), again.getString("id"));
    assertEquals(original.getLong("position"), again.getLong("position"));
    assertEquals(original.getLong("streamVersion"), again.getLong("streamVersion"));
    assertEquals(1L, rowsWithId(gateway.db(), event.getString("id")));
    assertEquals(1L, rowsInStream(gateway.db(), streamId));
    assertEquals("/first", storedData(gateway.db(), event.getString("id")).getString("pageId"));
  }

  @Test
  @DisplayName("an id sent twice in one batch is stored once; the second copy is answered as a duplicate")
  void sameIdTwiceInOneBatch() {
    String streamId = stream("visitor");
    JsonObject event = pageView(streamId, "/twice");
    JsonObject other = pageView(streamId, "/other");

    HttpTestClient.Response r = http().postEvents(batch(event, event.copy(), other));

    assertEquals(200, r.status(), r.body());
    JsonArray results = r.results();
    assertEquals(3, results.size());
    assertEquals("appended", results.getJsonObject(0).getString("status"));
    assertEquals("duplicate", results.getJsonObject(1).getString("status"));
    assertEquals("appended", results.getJsonObject(2).getString("status"));
    assertEquals(results.getJsonObject(0).getLong("position"), results.getJsonObject(1).getLong("position"));
    assertEquals(results.getJsonObject(0).getLong("streamVersion"),
        results.getJsonObject(1).getLong("streamVersion"));
    assertEquals(2L, results.getJsonObject(2).getLong("streamVersion"), "the stream has no gap: " + results);
    assertEquals(1L, rowsWithId(gateway.db(), event.getString("id")));
    assertEquals(2L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a batch mixing an already stored id with new events of the same stream stores the new ones with no version gap")
  void storedIdAmongNewEventsOfTheSameStream() {
    String streamId = stream("visitor");
    JsonObject first = pageView(streamId, "/first");
    JsonObject original = assertAppended(http().postEvents(first), 1).getJsonObject(0);
    JsonObject second = pageView(streamId, "/second");
    JsonObject third = pageView(streamId, "/third");

    HttpTestClient.Response r = http().postEvents(batch(second, first.copy(), third));

    assertEquals(200, r.status(), r.body());
    JsonArray results = r.results();
    assertEquals("appended", results.getJsonObject(0).getString("status"));
    assertEquals(2L, results.getJsonObject(0).getLong("streamVersion"));
    assertEquals("duplicate", results.getJsonObject(1).getString("status"));
    assertEquals(original.getLong("position"), results.getJsonObject(1).getLong("position"));
    assertEquals(1L, results.getJsonObject(1).getLong("streamVersion"));
    assertEquals("appended", results.getJsonObject(2).getString("status"));
    assertEquals(3L, results.getJsonObject(2).getLong("streamVersion"), "no gap where the duplicate was: " + results);
    assertEquals(List.of(1L, 2L, 3L),
        gateway.db().query("SELECT stream_version FROM events WHERE stream_id = ? ORDER BY position", streamId)
            .stream().map(row -> ((Number) row.get(0)).longValue()).toList());
  }

  @Test
  @DisplayName("GET /v1/schemas lists PageViewed, ButtonClicked and FormSubmitted versions 1 and 2, and the Segment "
      + "calls' ScreenViewed, Identified, GroupAssigned and Aliased version 1, with their JSON schemas")
  void schemasAreListed() {
    HttpTestClient.Response r = http().send(http().request("/v1/schemas").GET());

    assertEquals(200, r.status(), r.body());
    assertTrue(r.header("Content-Type").startsWith("application/json"));
    Map<String, JsonObject> byType = new HashMap<>();
    Map<String, List<Integer>> versions = new HashMap<>();
    for (Object o : r.json().getJsonArray("schemas")) {
      JsonObject entry = (JsonObject) o;
      versions.computeIfAbsent(entry.getString("type"), t -> new ArrayList<>()).add(entry.getInteger("version"));
      // each type's versions are listed oldest first: the checks below are about version 1
      byType.putIfAbsent(entry.getString("type"), entry.getJsonObject("schema"));
    }
    assertEquals(List.of("Aliased", "ButtonClicked", "FormSubmitted", "GroupAssigned", "Identified", "PageViewed",
        "ScreenViewed"), byType.keySet().stream().sorted().toList());
    assertEquals(Map.of("PageViewed", List.of(1, 2), "ButtonClicked", List.of(1, 2), "FormSubmitted", List.of(1, 2),
        "ScreenViewed", List.of(1), "Identified", List.of(1), "GroupAssigned", List.of(1), "Aliased", List.of(1)),
        versions);
    assertRequires(byType.get("ScreenViewed"), "name", "properties");
    assertRequires(byType.get("Identified"), "traits");
    assertRequires(byType.get("GroupAssigned"), "groupId", "traits");
    assertRequires(byType.get("Aliased"), "previousId", "userId");
    assertRequires(byType.get("PageViewed"), "pageId");
    assertRequires(byType.get("ButtonClicked"), "buttonId");
    assertRequires(byType.get("FormSubmitted"), "formId", "formData");
    assertEquals("string", byType.get("FormSubmitted").getJsonObject("properties").getJsonObject("formData")
        .getJsonObject("additionalProperties").getString("type"), "formData maps strings to strings");
  }

  private static void assertRequires(JsonObject schema, String... fields) {
    assertNotNull(schema);
    assertEquals("object", schema.getString("type"), schema.encode());
    assertTrue(schema.getString("$schema", "").contains("json-schema.org"), schema.encode());
    assertEquals(new JsonArray(List.of((Object[]) fields)), schema.getJsonArray("required"), schema.encode());
    for (String field : fields) {
      assertTrue(schema.getJsonObject("properties").containsKey(field), schema.encode());
    }
  }

  @Test
  @DisplayName("an unknown path answers 404 with the JSON error body")
  void unknownPathIs404() {
    assertError(http().send(http().request("/v1/no-such-thing").GET()), 404, "not_found");
    assertError(http().send(postWith(http(), "/v1/event", "{}", "Content-Type", "application/json",
        "X-Write-Key", WRITE_KEY)), 404, "not_found");
  }
}
