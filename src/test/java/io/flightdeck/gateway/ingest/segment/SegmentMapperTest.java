package io.flightdeck.gateway.ingest.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.config.IngestConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.event.Problem;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Segment messages to FlightDeck events, without HTTP: types, streams, data, metadata and corrected times. */
class SegmentMapperTest {

  private static final IngestConfig LIMITS = new IngestConfig(512 * 1024, 500, 32 * 1024, 32, 32 * 1024, 64, 64, 2048);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant RECEIVED = Instant.parse("2026-11-22T10:00:00.250Z");
  private static final SegmentMapper.Request REQUEST = new SegmentMapper.Request("demo", RECEIVED, null, null);

  private static SegmentMapper mapper;

  @BeforeAll
  static void setUp() {
    mapper = new SegmentMapper(EventSchemas.builtIn(), LIMITS);
  }

  private static MappedMessage map(String call, JsonObject message) {
    return map(call, message, REQUEST);
  }

  private static MappedMessage map(String call, JsonObject message, SegmentMapper.Request request) {
    try {
      return mapper.map(call, JSON.readTree(message.encode()), request);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The mapped event as JSON; fails when the message was refused. */
  private static JsonObject event(String call, JsonObject message) {
    MappedMessage m = map(call, message);
    assertEquals(List.of(), m.problems());
    return new JsonObject(m.event().toString());
  }

  private static JsonObject data(String call, JsonObject message) {
    return event(call, message).getJsonObject("data");
  }

  private static JsonNode json(JsonObject object) throws Exception {
    return JSON.readTree(object.encode());
  }

  private static JsonObject track(String event) {
    return new JsonObject().put("type", "track").put("event", event).put("userId", "user-1");
  }

  private static JsonObject page() {
    return new JsonObject().put("anonymousId", "anon-1");
  }

  @Test
  @DisplayName("a track call becomes an event of its name with the properties as data, in the user's stream")
  void trackCustom() {
    JsonObject event = event("track", track("Order Completed")
        .put("messageId", "ajs-next-1")
        .put("properties", new JsonObject().put("total", 42.5).put("currency", "EUR")));

    assertEquals("Order Completed", event.getString("type"));
    assertEquals(1, event.getInteger("schemaVersion"));
    assertEquals("user-1", event.getString("streamId"));
    assertEquals(new JsonObject().put("total", 42.5).put("currency", "EUR"), event.getJsonObject("data"));
    assertEquals(SegmentMapper.eventId("demo", "ajs-next-1"), event.getString("id"));
    assertEquals(RECEIVED.toString(), event.getString("occurredAt"));
  }

  @Test
  @DisplayName("a track call named like a built-in type becomes that type at its latest version")
  void trackBuiltIn() {
    JsonObject event = event("track", track("ButtonClicked").put("properties", new JsonObject().put("buttonId", "buy")));

    assertEquals("ButtonClicked", event.getString("type"));
    assertEquals(2, event.getInteger("schemaVersion"));
    assertEquals(new JsonObject().put("buttonId", "buy"), event.getJsonObject("data"));
  }

  @Test
  @DisplayName("a track call without properties has empty data, and one without an event name is refused")
  void trackWithoutPropertiesOrName() {
    assertEquals(new JsonObject(), data("track", track("Signed Up")));
    MappedMessage refused = map("track", new JsonObject().put("userId", "u"));
    assertNull(refused.event());
    assertEquals(List.of(new Problem("event", "required")), refused.problems());
  }

  @Test
  @DisplayName("a page call becomes PageViewed version 2 with path, url, title and referrer, the rest under properties")
  void pageFromProperties() {
    JsonObject event = event("page", page()
        .put("name", "Pricing").put("category", "Docs")
        .put("properties", new JsonObject()
            .put("path", "/pricing").put("url", "https://shop.example/pricing?plan=pro").put("title", "Pricing")
            .put("referrer", "https://search.example/").put("search", "?plan=pro")));

    assertEquals("PageViewed", event.getString("type"));
    assertEquals(2, event.getInteger("schemaVersion"));
    assertEquals("anon-1", event.getString("streamId"));
    assertEquals(new JsonObject()
        .put("pageId", "/pricing")
        .put("url", "https://shop.example/pricing?plan=pro")
        .put("title", "Pricing")
        .put("referrer", "https://search.example/")
        .put("properties", new JsonObject().put("search", "?plan=pro").put("name", "Pricing").put("category", "Docs")),
        event.getJsonObject("data"));
  }

  @Test
  @DisplayName("a page call without page properties takes them from context.page, and leaves the rest null")
  void pageFromContext() {
    JsonObject context = new JsonObject().put("page", new JsonObject()
        .put("path", "/docs").put("url", "https://shop.example/docs").put("title", "Docs"));

    assertEquals(new JsonObject().put("pageId", "/docs").put("url", "https://shop.example/docs").put("title", "Docs")
        .putNull("referrer"), data("page", page().put("context", context)));
  }

  @Test
  @DisplayName("a page property named path, url, title or referrer that is not a string is kept under properties, "
      + "not lost")
  void pageFieldsOfAnotherKindAreKept() {
    JsonObject odd = new JsonObject().put("path", 7).put("url", new JsonObject().put("href", "https://shop.example/x"))
        .put("title", new JsonArray().add("Docs")).put("referrer", false);
    JsonObject context = new JsonObject().put("page", new JsonObject().put("url", "https://shop.example/docs"));

    JsonObject data = data("page", page().put("properties", odd.copy().put("plan", "pro")).put("context", context));

    assertEquals("/docs", data.getString("pageId"), "taken from context.page.url, as the property is no path");
    assertEquals("https://shop.example/docs", data.getString("url"));
    assertNull(data.getValue("title"));
    assertEquals(odd.copy().put("plan", "pro"), data.getJsonObject("properties"), "kept as sent");
  }

  @Test
  @DisplayName("a page's long path, url, title and referrer are cut to PageViewed's limits, never inside an emoji, "
      + "so the call is stored instead of refused")
  void longPageTextIsCut() throws Exception {
    String emoji = "\uD83D\uDE00";
    String url = "https://shop.example/" + "a".repeat(2026) + emoji + "b".repeat(3000);
    JsonObject properties = new JsonObject().put("path", "/" + emoji.repeat(3000)).put("url", url)
        .put("title", "t".repeat(1023) + emoji + "t".repeat(10)).put("referrer", "r".repeat(5000));

    JsonObject data = data("page", page().put("properties", properties));

    assertEquals("/" + emoji.repeat(2047), data.getString("pageId"));
    assertEquals(url.substring(0, url.offsetByCodePoints(0, 2048)), data.getString("url"));
    assertTrue(data.getString("url").endsWith(emoji), "the emoji at the limit is kept whole");
    assertEquals("t".repeat(1023) + emoji, data.getString("title"));
    assertEquals("r".repeat(2048), data.getString("referrer"));
    EventSchemas schemas = EventSchemas.builtIn();
    assertEquals(List.of(), schemas.validate("PageViewed", 2, json(data)), "within the schema");
    for (String field : List.of("pageId", "url", "title", "referrer")) {
      JsonObject longer = data.copy().put(field, data.getString(field) + "x");
      assertFalse(schemas.validate("PageViewed", 2, json(longer)).isEmpty(),
          field + " was cut to the schema's own limit, not below it");
    }
  }

  @Test
  @DisplayName("a screen's long name is cut to ScreenViewed's limit, never inside an emoji, so the call is stored "
      + "instead of refused")
  void longScreenNameIsCut() throws Exception {
    String emoji = "\uD83D\uDE00";
    JsonObject data = data("screen", new JsonObject().put("userId", "user-1")
        .put("name", "s".repeat(1023) + emoji + "s".repeat(500)));

    assertEquals("s".repeat(1023) + emoji, data.getString("name"));
    EventSchemas schemas = EventSchemas.builtIn();
    assertEquals(List.of(), schemas.validate("ScreenViewed", 1, json(data)), "within the schema");
    assertFalse(schemas.validate("ScreenViewed", 1, json(data.copy().put("name", data.getString("name") + "x")))
        .isEmpty(), "cut to the schema's own limit, not below it");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "{\"properties\":{\"url\":\"https://shop.example/a/b?x=1\"}} | /a/b",
      "{\"context\":{\"page\":{\"url\":\"https://shop.example\"}}} | /",
      "{\"name\":\"Home\"} | Home",
      "{} | /",
      "{\"properties\":{\"path\":\"\",\"url\":\"not a url\"},\"name\":\"Landing\"} | Landing",
      // what browsers leave unescaped in location.href (WHATWG URL), which java.net.URI refuses
      "{\"properties\":{\"url\":\"https://shop.example/search?q={shoes}\"},\"name\":\"S\"} | /search",
      "{\"properties\":{\"url\":\"https://shop.example/p/[id]/x^y?v=`1`\"},\"name\":\"P\"} | /p/[id]/x^y",
      "{\"context\":{\"page\":{\"url\":\"https://shop.example/a/b#top{1}\"}},\"name\":\"A\"} | /a/b",
      "{\"properties\":{\"url\":\"/relative/path?q={x}\"},\"name\":\"R\"} | /relative/path",
      "{\"properties\":{\"url\":\"https://shop.example?q={x}\"},\"name\":\"O\"} | /"})
  @DisplayName("a page's pageId is the first of path, context path, url path, name, else /")
  void pageIdFallbacks(String message, String pageId) {
    JsonObject m = new JsonObject(message).put("anonymousId", "anon-1");
    assertEquals(pageId, data("page", m).getString("pageId"));
  }

  @Test
  @DisplayName("the path of a URL as a browser writes it, with | left unescaped in its query or path")
  void urlPathWithUnescapedBar() {
    assertEquals("/a/b", SegmentData.urlPath("https://shop.example/a/b?utm_content=x|y"));
    assertEquals("/a|b/c", SegmentData.urlPath("https://shop.example/a|b/c"));
    assertEquals("/a|b", SegmentData.urlPath("/a|b?c"));
    assertNull(SegmentData.urlPath("mailto:ada|x@example.com"), "no hierarchical URL");
    assertNull(SegmentData.urlPath("not a url"));
  }

  @Test
  @DisplayName("a screen's category (analytics-swift's and analytics-kotlin's screen(title, category)) is kept under "
      + "data.properties, as a page's is, not dropped; a NUL in it is refused naming category")
  void screenCategoryIsKept() throws Exception {
    JsonObject data = data("screen", page().put("name", "Checkout").put("category", "Shop")
        .put("properties", new JsonObject().put("step", 2).put("category", "from properties")));

    assertEquals(new JsonObject().put("name", "Checkout")
        .put("properties", new JsonObject().put("step", 2).put("category", "Shop")), data);
    assertEquals(List.of(), EventSchemas.builtIn().validate("ScreenViewed", 1, json(data)), "within the schema");
    assertEquals(new JsonObject().put("name", "Home").put("properties", new JsonObject().put("step", 1)),
        data("screen", page().put("name", "Home").putNull("category").put("properties",
            new JsonObject().put("step", 1))), "a null category adds nothing");
    assertEquals(new JsonObject().put("name", "Home").put("properties", new JsonObject()),
        data("screen", page().put("name", "Home").put("category", "")),
        "nor does an empty one, what analytics-kotlin sends when the app gives none");
    assertEquals(List.of(new Problem("category", "must not contain the NUL character")),
        map("screen", page().put("category", "a\u0000b")).problems());
  }

  @Test
  @DisplayName("screen, identify, group and alias calls become ScreenViewed, Identified, GroupAssigned and Aliased")
  void otherCalls() {
    JsonObject traits = new JsonObject().put("email", "ada@example.com");

    JsonObject screen = event("screen", page().put("name", "Checkout").put("properties", new JsonObject().put("step", 2)));
    assertEquals("ScreenViewed", screen.getString("type"));
    assertEquals(new JsonObject().put("name", "Checkout").put("properties", new JsonObject().put("step", 2)),
        screen.getJsonObject("data"));
    assertEquals(new JsonObject().putNull("name").put("properties", new JsonObject()), data("screen", page()));

    JsonObject identify = event("identify", new JsonObject().put("userId", "user-1").put("anonymousId", "anon-1")
        .put("traits", traits));
    assertEquals("Identified", identify.getString("type"));
    assertEquals("user-1", identify.getString("streamId"), "the user id wins over the anonymous id");
    assertEquals(new JsonObject().put("traits", traits), identify.getJsonObject("data"));

    JsonObject group = event("group", page().put("groupId", 42).put("traits", new JsonObject().put("plan", "pro")));
    assertEquals("GroupAssigned", group.getString("type"));
    assertEquals(new JsonObject().put("groupId", "42").put("traits", new JsonObject().put("plan", "pro")),
        group.getJsonObject("data"));

    JsonObject alias = event("alias", new JsonObject().put("previousId", "anon-1").put("userId", "user-1")
        .put("anonymousId", "anon-1"));
    assertEquals("Aliased", alias.getString("type"));
    assertEquals("user-1", alias.getString("streamId"));
    assertEquals(new JsonObject().put("previousId", "anon-1").put("userId", "user-1"), alias.getJsonObject("data"));
    for (JsonObject e : List.of(screen, identify, group, alias)) {
      assertEquals(1, e.getInteger("schemaVersion"), e.encode());
    }
  }

  @Test
  @DisplayName("numeric ids become strings, and a message without a user or anonymous id is refused on userId")
  void streams() {
    assertEquals("12345", event("identify", new JsonObject().put("userId", 12345)).getString("streamId"));
    assertEquals(List.of(new Problem("userId", "userId or anonymousId is required")),
        map("identify", new JsonObject().put("traits", new JsonObject())).problems());
    assertEquals(List.of(new Problem("userId", "must be a string or a number")),
        map("identify", new JsonObject().put("userId", true)).problems());
    assertEquals("anon-1", event("identify", page().put("userId", "")).getString("streamId"), "an empty user id is none");
    // a problem with another id (messageId) says nothing about the user: the missing one is still named
    assertEquals(List.of(new Problem("messageId", "must be a string or a number"),
            new Problem("userId", "userId or anonymousId is required")),
        map("identify", new JsonObject().put("messageId", true)).problems());
    assertEquals(List.of(new Problem("messageId", "must be a string or a number"),
            new Problem("userId", "required: the new id, whose stream the alias is stored in")),
        map("alias", new JsonObject().put("messageId", List.of()).put("previousId", "a")).problems());
  }

  @Test
  @DisplayName("an alias needs the new userId and a previousId; a group needs a groupId")
  void requiredIds() {
    assertEquals("userId", map("alias", new JsonObject().put("previousId", "a").put("anonymousId", "a")).problems()
        .get(0).field());
    assertEquals(List.of(new Problem("previousId", "required")),
        map("alias", new JsonObject().put("userId", "u")).problems());
    assertEquals(List.of(new Problem("groupId", "required")), map("group", page()).problems());
  }

  @Test
  @DisplayName("properties, traits and context that are not objects are refused on their own field")
  void wrongKinds() {
    assertEquals(List.of(new Problem("properties", "must be an object")),
        map("track", track("Signed Up").put("properties", "x")).problems());
    assertEquals(List.of(new Problem("traits", "must be an object")),
        map("identify", page().put("traits", List.of(1))).problems());
    assertEquals(List.of(new Problem("context", "must be an object")),
        map("page", page().put("context", 7)).problems());
  }

  @Test
  @DisplayName("the client's clock error (sentAt minus receipt) is taken off its timestamp")
  void clockSkewCorrection() {
    // the client's clock is one hour ahead: it stamped the event 5 s before sending
    JsonObject message = track("Signed Up")
        .put("timestamp", "2026-11-22T11:00:00.000Z").put("sentAt", "2026-11-22T11:00:05.000Z");

    assertEquals("2026-11-22T09:59:55.250Z", event("track", message).getString("occurredAt"));
    assertEquals(Instant.parse("2026-11-22T09:59:55.250Z"), SegmentMapper.occurredAt(
        Instant.parse("2026-11-22T11:00:00Z"), Instant.parse("2026-11-22T11:00:05Z"), RECEIVED));
  }

  @Test
  @DisplayName("a timestamp without sentAt is taken as sent, and without a timestamp the event happened at receipt")
  void timeWithoutSentAt() {
    assertEquals("2026-11-22T09:00:00Z",
        event("track", track("Signed Up").put("timestamp", "2026-11-22T10:00:00+01:00")).getString("occurredAt"));
    assertEquals(RECEIVED.toString(),
        event("track", track("Signed Up").put("sentAt", "2026-11-22T12:00:00Z")).getString("occurredAt"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"2026-11-22T10:00:00+0100, 2026-11-22T09:00:00Z", "2026-11-22T04:30:00.5-0530, 2026-11-22T10:00:00.500Z",
      "2026-11-22T09:00:00+0000, 2026-11-22T09:00:00Z", "2026-11-22T10:00+0100, 2026-11-22T09:00:00Z"})
  @DisplayName("a timestamp whose offset is written without a colon (+0100, ISO 8601's basic form, what PHP's "
      + "DATE_ISO8601, Python's %z and Java's SimpleDateFormat Z write) is read as that offset, as +01:00 and +01 are")
  void basicFormatOffsets(String timestamp, String occurredAt) {
    assertEquals(occurredAt, event("track", track("Signed Up").put("timestamp", timestamp)).getString("occurredAt"));
    JsonObject skewed = track("Signed Up").put("timestamp", "2026-11-22T10:00:00+0100")
        .put("sentAt", "2026-11-22T10:00:05+0100");
    assertEquals("2026-11-22T09:59:55.250Z", event("track", skewed).getString("occurredAt"), "sentAt too");
    assertEquals("2026-11-22T10:00:00+0100", event("track", skewed).getJsonObject("metadata")
        .getString("segment.timestamp"), "the raw value stays as sent");
  }

  @Test
  @DisplayName("a timestamp in range that its sentAt's correction moves out of 1970 to 9999 is refused on timestamp "
      + "saying so, rather than as if the timestamp sent were itself out of range")
  void correctedOutOfRange() {
    // a device that stamped the event before its clock was set (the epoch), and sent it a day ahead of the server
    JsonObject message = track("Signed Up").put("timestamp", "1970-01-01T00:00:01Z")
        .put("sentAt", RECEIVED.plusSeconds(86_400).toString());
    List<Problem> problems = map("track", message).problems();
    assertEquals(1, problems.size(), problems.toString());
    assertEquals("timestamp", problems.get(0).field());
    assertTrue(problems.get(0).problem().contains("1969-12-31T00:00:01Z")
        && problems.get(0).problem().contains("sentAt"), problems.get(0).problem());
    JsonObject unsent = message.copy();
    unsent.remove("sentAt");
    assertEquals("1970-01-01T00:00:01Z", event("track", unsent).getString("occurredAt"), "in range as sent");
  }

  @Test
  @DisplayName("a batch's sentAt corrects messages without their own, and a message's own sentAt wins")
  void batchSentAt() {
    SegmentMapper.Request batch = new SegmentMapper.Request("demo", RECEIVED, "2026-11-22T10:00:10.250Z", null);
    JsonObject message = track("Signed Up").put("timestamp", "2026-11-22T10:00:00.250Z");

    MappedMessage own = map("track", message.copy().put("sentAt", "2026-11-22T10:00:00.250Z"), batch);
    assertEquals(RECEIVED.toString(), own.event().get("occurredAt").asText());
    MappedMessage shared = map("track", message, batch);
    assertEquals("2026-11-22T09:59:50.250Z", shared.event().get("occurredAt").asText());
    assertEquals("2026-11-22T10:00:10.250Z", shared.event().get("metadata").get("segment.sentAt").asText());
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({"timestamp, yesterday", "timestamp, 2026-11-22T10:00:00", "sentAt, 2026-13-01T00:00:00Z",
      "timestamp, 2026-11-22T10:00:00+01000", "timestamp, 2026-11-22T10:00:00+2500", "timestamp, 2026-11-22+0100",
      "timestamp, 20261122T100000+0100",
      "timestamp, 1732269600000", "timestamp, +999999999-12-31T23:59:59Z", "sentAt, -999999999-01-01T00:00:00Z"})
  @DisplayName("a timestamp or sentAt that is not ISO 8601 with a time zone is refused on that field")
  void malformedTimes(String field, String value) {
    JsonObject message = track("Signed Up");
    message.put(field, value.matches("\\d+") ? (Object) Long.parseLong(value) : value);
    List<Problem> problems = map("track", message).problems();
    assertEquals(1, problems.size(), problems.toString());
    assertEquals(field, problems.get(0).field());
  }

  @Test
  @DisplayName("a UUID message id is the event id; any other is a name-based UUID of site and message id")
  void eventIds() {
    String uuid = "0B6F1D7E-3C1A-4F7E-9A0E-2F1C5D9B8A77";
    assertEquals(uuid.toLowerCase(), SegmentMapper.eventId("demo", uuid));
    String derived = SegmentMapper.eventId("demo", "ajs-next-1");
    assertEquals(UUID.nameUUIDFromBytes("site:demo:ajs-next-1".getBytes(StandardCharsets.UTF_8)).toString(), derived);
    assertEquals(derived, SegmentMapper.eventId("demo", "ajs-next-1"), "a retry gets the same id");
    assertNotEquals(derived, SegmentMapper.eventId("shop", "ajs-next-1"), "another site's message is another event");
    assertFalse(event("track", track("Signed Up")).containsKey("id"), "no message id: the gateway makes one up");
  }

  @Test
  @DisplayName("the raw Segment fields are kept as metadata strings, and the client's IP never is")
  void metadata() {
    JsonObject message = track("Signed Up")
        .put("messageId", "m-1").put("anonymousId", "anon-1")
        .put("timestamp", "2026-11-22T11:00:00Z").put("sentAt", "2026-11-22T11:00:05Z")
        .put("originalTimestamp", "2026-11-22T11:00:00Z")
        .put("context", new JsonObject()
            .put("ip", "203.0.113.7")
            .put("userAgent", "Mozilla/5.0 " + "x".repeat(3000))
            .put("library", new JsonObject().put("name", "analytics.js").put("version", "next-1.70.0")));

    JsonObject metadata = event("track", message).getJsonObject("metadata");

    assertEquals(new JsonObject()
        .put("segment.call", "track")
        .put("segment.messageId", "m-1")
        .put("segment.userId", "user-1")
        .put("segment.anonymousId", "anon-1")
        .put("segment.timestamp", "2026-11-22T11:00:00Z")
        .put("segment.sentAt", "2026-11-22T11:00:05Z")
        .put("segment.receivedAt", "2026-11-22T10:00:00.250000Z")
        .put("segment.originalTimestamp", "2026-11-22T11:00:00Z")
        .put("segment.library", "analytics.js/next-1.70.0")
        .put("segment.userAgent", ("Mozilla/5.0 " + "x".repeat(3000)).substring(0, LIMITS.maxMetadataValueLength())),
        metadata);
    assertFalse(metadata.encode().contains("203.0.113"), metadata.encode());
  }

  @Test
  @DisplayName("with maxMetadataEntries under ten, the first keys in the table's order are kept, never all refused")
  void metadataWithinTheEntryLimit() {
    IngestConfig four = new IngestConfig(512 * 1024, 500, 32 * 1024, 32, 32 * 1024, 64, 4, 2048);
    JsonObject message = track("Signed Up").put("messageId", "m-1").put("anonymousId", "anon-1")
        .put("timestamp", "2026-11-22T11:00:00Z").put("sentAt", "2026-11-22T11:00:05Z")
        .put("context", new JsonObject().put("userAgent", "Mozilla/5.0"));
    try {
      MappedMessage mapped = new SegmentMapper(EventSchemas.builtIn(), four)
          .map("track", JSON.readTree(message.encode()), REQUEST);
      assertEquals(List.of(), mapped.problems());
      assertEquals(new JsonObject().put("segment.call", "track").put("segment.messageId", "m-1")
          .put("segment.userId", "user-1").put("segment.anonymousId", "anon-1"),
          new JsonObject(mapped.event().get("metadata").toString()));
      IngestConfig none = new IngestConfig(512 * 1024, 500, 32 * 1024, 32, 32 * 1024, 64, 0, 2048);
      assertTrue(new SegmentMapper(EventSchemas.builtIn(), none).map("track", JSON.readTree(message.encode()), REQUEST)
          .event().get("metadata").isEmpty());
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @DisplayName("a NUL in a value that maxMetadataEntries leaves out of the metadata is refused all the same, naming "
      + "its field once")
  void nulRefusedWhereTheEntryLimitDropsTheValue() throws Exception {
    IngestConfig four = new IngestConfig(512 * 1024, 500, 32 * 1024, 32, 32 * 1024, 64, 4, 2048);
    JsonObject message = track("Signed Up").put("originalTimestamp", "2026\u0000")
        .put("context", new JsonObject().put("userAgent", "Mozilla/5.0\u0000"));

    MappedMessage mapped = new SegmentMapper(EventSchemas.builtIn(), four)
        .map("track", JSON.readTree(message.encode()), REQUEST);

    assertEquals(List.of(new Problem("originalTimestamp", "must not contain the NUL character"),
        new Problem("context.userAgent", "must not contain the NUL character")), mapped.problems());
  }

  @Test
  @DisplayName("segment.receivedAt always has six digits of microseconds, zeros included")
  void receivedAtHasMicroseconds() {
    for (String[] c : new String[][] {{"2026-11-22T10:00:00Z", "2026-11-22T10:00:00.000000Z"},
        {"2026-11-22T10:00:00.100Z", "2026-11-22T10:00:00.100000Z"},
        {"2026-11-22T10:00:00.000001Z", "2026-11-22T10:00:00.000001Z"}}) {
      SegmentMapper.Request request = new SegmentMapper.Request("demo", Instant.parse(c[0]), null, null);
      MappedMessage mapped = map("track", track("Signed Up"), request);
      assertEquals(c[1], mapped.event().get("metadata").get("segment.receivedAt").asText(), c[0]);
    }
  }

  @Test
  @DisplayName("a metadata value is cut to 2048 characters, an emoji counting as one and never cut in half")
  void metadataCutInCharacters() {
    String emoji = "\uD83D\uDE00";

    assertEquals(emoji.repeat(2048), userAgentKept(emoji.repeat(3000)));
    assertEquals("x" + emoji.repeat(2047), userAgentKept("x" + emoji.repeat(3000)));
    assertEquals(emoji.repeat(2048), userAgentKept(emoji.repeat(2048)));
  }

  /** The segment.userAgent metadata a track call with this context.userAgent gets. */
  private static String userAgentKept(String userAgent) {
    JsonObject message = track("Signed Up").put("context", new JsonObject().put("userAgent", userAgent));
    return event("track", message).getJsonObject("metadata").getString("segment.userAgent");
  }

  @Test
  @DisplayName("a batch's context is under each message's own: the message's keys win")
  void batchContext() {
    JsonNode batchContext = JSON.valueToTree(Map.of(
        "library", Map.of("name", "analytics-node", "version", "2.1.0"), "userAgent", "node"));
    SegmentMapper.Request request = new SegmentMapper.Request("demo", RECEIVED, null, batchContext);
    MappedMessage m = map("track", track("Signed Up").put("context", new JsonObject().put("userAgent", "mine")), request);
    assertEquals("analytics-node/2.1.0", m.event().get("metadata").get("segment.library").asText());
    assertEquals("mine", m.event().get("metadata").get("segment.userAgent").asText());
  }

  @Test
  @DisplayName("problems found in the event are named by the message field they came from")
  void sourceFields() {
    MappedMessage track = map("track", track("Signed Up").put("messageId", "m"));
    assertEquals("event", track.sourceOf("type"));
    assertEquals("properties.plan", track.sourceOf("data.plan"));
    assertEquals("properties", track.sourceOf("data"));
    assertEquals("userId", track.sourceOf("streamId"));
    assertEquals("timestamp", track.sourceOf("occurredAt"));
    assertEquals("messageId", track.sourceOf("id"));

    MappedMessage page = map("page", page().put("context", new JsonObject().put("page",
        new JsonObject().put("url", "https://shop.example/x").put("title", "X"))));
    assertEquals("anonymousId", page.sourceOf("streamId"));
    assertEquals("context.page.url", page.sourceOf("data.pageId"));
    assertEquals("context.page.title", page.sourceOf("data.title"));
    assertEquals("properties.referrer", page.sourceOf("data.referrer"));
    assertEquals("properties.search", page.sourceOf("data.properties.search"));
    assertTrue(page.problems().isEmpty());
  }

  @Test
  @DisplayName("a batch item that is not an object is refused")
  void notAnObject() {
    try {
      MappedMessage m = mapper.map("track", JSON.readTree("[1]"), REQUEST);
      assertEquals(List.of(new Problem("", "must be a JSON object")), m.problems());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
