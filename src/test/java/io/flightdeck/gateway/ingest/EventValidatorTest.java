package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.config.CustomEventsConfig;
import io.flightdeck.gateway.config.IngestConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.event.JsonLimits;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Problem;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One event of an ingest request: what is accepted, and exactly what is reported when it is not. */
class EventValidatorTest {

  /** The contract's limits (conf/gateway.yaml). */
  private static final IngestConfig LIMITS = new IngestConfig(512 * 1024, 500, 32 * 1024, 32, 32 * 1024, 64, 64, 2048);
  private static final EventValidator.Origin ORIGIN =
      new EventValidator.Origin("demo", "Mozilla/5.0 (X11; Linux x86_64)", "203.0.113.0");

  private static EventSchemas schemas;
  private static ObjectMapper mapper;
  private static EventValidator validator;

  @BeforeAll
  static void setUp() {
    schemas = EventSchemas.builtIn();
    mapper = JsonLimits.ingestMapper(LIMITS);
    validator = new EventValidator(schemas, LIMITS, mapper);
  }

  private static JsonObject pageView() {
    return new JsonObject()
        .put("id", "0b6f1d7e-3c1a-4f7e-9a0e-2f1c5d9b8a77")
        .put("type", "PageViewed")
        .put("streamId", "visitor-42")
        .put("data", new JsonObject().put("pageId", "/docs/getting-started"));
  }

  private static EventValidator.Result validate(JsonObject event) {
    return validate(validator, event.encode());
  }

  private static EventValidator.Result validate(EventValidator v, String json) {
    return validate(v, json, ORIGIN);
  }

  private static EventValidator.Result validate(EventValidator v, String json, EventValidator.Origin origin) {
    try {
      JsonNode node = mapper.readTree(json);
      return v.validate(node, origin);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static NewEvent accepted(JsonObject event) {
    EventValidator.Result r = validate(event);
    assertEquals(List.of(), r.problems());
    assertNotNull(r.event());
    assertFalse(r.tooLarge());
    return r.event();
  }

  private static void assertProblems(JsonObject event, Problem... expected) {
    EventValidator.Result r = validate(event);
    assertNull(r.event(), "an event with problems is not accepted");
    assertEquals(List.of(expected), r.problems());
    assertFalse(r.tooLarge());
  }

  private static JsonObject metadata(NewEvent e) {
    return new JsonObject(e.metadata());
  }

  @Test
  @DisplayName("the contract's example event is accepted with every field kept")
  void contractExample() {
    JsonObject event = pageView()
        .put("metadata", new JsonObject().put("campaign", "spring"))
        .put("occurredAt", "2026-11-22T10:15:30.120Z");
    NewEvent e = accepted(event);
    assertEquals(UUID.fromString("0b6f1d7e-3c1a-4f7e-9a0e-2f1c5d9b8a77"), e.id());
    assertEquals("visitor-42", e.streamId());
    assertEquals("PageViewed", e.type());
    assertEquals(1, e.schemaVersion());
    assertEquals(new JsonObject().put("pageId", "/docs/getting-started"), new JsonObject(e.data()));
    assertEquals(Instant.parse("2026-11-22T10:15:30.120Z"), e.occurredAt());
    assertEquals(new JsonObject().put("campaign", "spring").put("site", "demo")
        .put("userAgent", "Mozilla/5.0 (X11; Linux x86_64)").put("clientIp", "203.0.113.0"), metadata(e));
  }

  @Test
  @DisplayName("every built-in type is accepted with its required data")
  void builtInTypes() {
    accepted(new JsonObject().put("type", "ButtonClicked").put("streamId", "s")
        .put("data", new JsonObject().put("buttonId", "signup")));
    accepted(new JsonObject().put("type", "FormSubmitted").put("streamId", "s").put("schemaVersion", 1)
        .put("data", new JsonObject().put("formId", "contact").put("formData", new JsonObject().put("email", "a@b.c"))));
  }

  @Test
  @DisplayName("an offset timestamp is accepted and stored as the same instant")
  void offsetTimestamp() {
    NewEvent e = accepted(pageView().put("occurredAt", "2026-11-22T12:15:30+02:00"));
    assertEquals(Instant.parse("2026-11-22T10:15:30Z"), e.occurredAt());
  }

  @Test
  @DisplayName("an event without occurredAt is stamped with the time it arrived")
  void missingOccurredAt() {
    Instant before = Instant.now();
    NewEvent e = accepted(pageView());
    assertFalse(e.occurredAt().isBefore(before));
    assertFalse(e.occurredAt().isAfter(Instant.now()));
  }

  @Test
  @DisplayName("an event without an id gets a fresh version-7 UUID that starts with the current time")
  void missingIdGetsUuidV7() {
    JsonObject event = pageView();
    event.remove("id");
    long before = System.currentTimeMillis();
    NewEvent first = accepted(event);
    NewEvent second = accepted(event.copy().putNull("id"));
    long after = System.currentTimeMillis();
    for (NewEvent e : List.of(first, second)) {
      assertEquals(7, e.id().version(), e.id().toString());
      assertEquals(2, e.id().variant(), "RFC 9562 variant: " + e.id());
      long millis = e.id().getMostSignificantBits() >>> 16;
      assertTrue(millis >= before && millis <= after, "the id's timestamp is now: " + e.id());
    }
    assertNotEquals(first.id(), second.id());
  }

  @Test
  @DisplayName("a missing type, streamId or data is reported as required")
  void missingFields() {
    assertProblems(new JsonObject().put("id", UUID.randomUUID().toString()),
        new Problem("streamId", "required"), new Problem("type", "required"), new Problem("data", "required"));
  }

  @Test
  @DisplayName("a field the contract does not define is reported as unknown")
  void unknownField() {
    assertProblems(pageView().put("userId", "u-1"), new Problem("userId", "unknown field"));
  }

  @ParameterizedTest(name = "{0} = {1}: {2}")
  @CsvSource(delimiter = '|', value = {
      "id | 42 | must be a UUID",
      "id | \"not-a-uuid\" | must be a UUID",
      "streamId | 7 | must be a string",
      "streamId | \"\" | must be 1 to 200 characters",
      "streamId | \"a\\u0007b\" | must not contain control characters",
      "type | true | must be a string",
      "schemaVersion | \"1\" | must be a positive integer",
      "schemaVersion | 0 | must be a positive integer",
      "schemaVersion | 3 | no version 3 of PageViewed",
      "occurredAt | 1732270530 | must be an RFC 3339 timestamp string",
      "occurredAt | \"2026-11-22T10:15:30\" | must be an RFC 3339 timestamp with a time zone",
      "occurredAt | \"yesterday\" | must be an RFC 3339 timestamp with a time zone",
      "metadata | \"spring\" | must be an object of string values",
      "metadata | [] | must be an object of string values",
      "data | \"/home\" | must be an object",
      "data | [] | must be an object"})
  @DisplayName("a field of the wrong type or form is reported with its name and the problem")
  void wrongTypes(String field, String json, String problem) {
    JsonObject event = pageView();
    event.put(field, new JsonObject("{\"v\":" + json + "}").getValue("v"));
    assertProblems(event, new Problem(field, problem));
  }

  @Test
  @DisplayName("a streamId of 200 characters is accepted and one of 201 is not")
  void streamIdLength() {
    accepted(pageView().put("streamId", "s".repeat(200)));
    assertProblems(pageView().put("streamId", "s".repeat(201)), new Problem("streamId", "must be 1 to 200 characters"));
  }

  @Test
  @DisplayName("an unknown type is reported on type")
  void unknownType() {
    assertProblems(pageView().put("type", "PageView"), new Problem("type", "unknown type 'PageView'"));
  }

  @Test
  @DisplayName("data that breaks its type's schema is reported with the path inside data")
  void schemaProblems() {
    assertProblems(pageView().put("data", new JsonObject()), new Problem("data.pageId", "required"));
    EventValidator.Result r = validate(pageView().put("data", new JsonObject().put("pageId", 5)));
    assertEquals(1, r.problems().size(), r.problems().toString());
    assertEquals("data.pageId", r.problems().get(0).field());
    assertTrue(r.problems().get(0).problem().contains("string"), r.problems().toString());
  }

  @Test
  @DisplayName("a metadata value that is not a string is reported on metadata.<key>")
  void metadataValueNotString() {
    assertProblems(pageView().put("metadata", new JsonObject().put("campaign", "spring").put("count", 3)),
        new Problem("metadata.count", "must be a string"));
  }

  @Test
  @DisplayName("metadata with more keys than allowed is refused")
  void tooManyMetadataKeys() {
    JsonObject metadata = new JsonObject();
    for (int i = 0; i < LIMITS.maxMetadataEntries() + 1; i++) {
      metadata.put("k" + i, "v");
    }
    assertProblems(pageView().put("metadata", metadata), new Problem("metadata", "must have at most 64 keys"));
  }

  @Test
  @DisplayName("metadata keys and values are counted in characters, an emoji as one: 128 and 2048 of them are "
      + "accepted, one more is refused")
  void metadataLimitsCountCharacters() {
    String emoji = "\uD83D\uDE00";
    JsonObject atLimits = new JsonObject().put(emoji.repeat(128), emoji.repeat(2048));

    assertEquals(emoji.repeat(2048), metadata(accepted(pageView().put("metadata", atLimits))).getString(
        emoji.repeat(128)));
    assertProblems(pageView().put("metadata", new JsonObject().put("k", emoji.repeat(2049))),
        new Problem("metadata.k", "must be at most 2048 characters"));
    assertProblems(pageView().put("metadata", new JsonObject().put(emoji.repeat(129), "v")),
        new Problem("metadata." + emoji.repeat(129), "keys must be 1 to 128 characters without NUL"));
  }

  @Test
  @DisplayName("a NUL character in data is refused with its path, before it can fail the store")
  void nulInData() {
    assertProblems(pageView().put("data", new JsonObject().put("pageId", "/x").put("ref", "a\u0000b")),
        new Problem("data.ref", "must not contain the NUL character"));
  }

  @Test
  @DisplayName("several problems of one event are all reported at once")
  void allProblemsAtOnce() {
    JsonObject event = new JsonObject().put("id", "nope").put("type", "PageViewed").put("streamId", 1)
        .put("data", new JsonObject()).put("extra", true);
    EventValidator.Result r = validate(event);
    assertNull(r.event());
    assertTrue(r.problems().containsAll(List.of(new Problem("extra", "unknown field"), new Problem("id", "must be a UUID"),
        new Problem("streamId", "must be a string"), new Problem("data.pageId", "required"))), r.problems().toString());
    assertEquals(4, r.problems().size(), r.problems().toString());
  }

  @Test
  @DisplayName("something other than a JSON object is reported on the event itself")
  void notAnObject() {
    for (String json : List.of("[]", "\"PageViewed\"", "42", "null")) {
      EventValidator.Result r = validate(validator, json);
      assertNull(r.event(), json);
      assertEquals(List.of(new Problem("", "must be a JSON object")), r.problems(), json);
    }
  }

  @Test
  @DisplayName("the server's site, user agent and client address replace whatever the client sent for those keys")
  void serverMetadataWins() {
    JsonObject event = pageView().put("metadata", new JsonObject()
        .put("site", "someone-else").put("userAgent", "Googlebot").put("clientIp", "8.8.8.8").put("campaign", "spring"));
    JsonObject metadata = metadata(accepted(event));
    assertEquals("demo", metadata.getString("site"));
    assertEquals("Mozilla/5.0 (X11; Linux x86_64)", metadata.getString("userAgent"));
    assertEquals("203.0.113.0", metadata.getString("clientIp"));
    assertEquals("spring", metadata.getString("campaign"));
    assertEquals(4, metadata.size());
  }

  @Test
  @DisplayName("without a server value for userAgent or clientIp, the client cannot supply one either")
  void clientCannotForgeMissingServerMetadata() {
    EventValidator.Origin noHeaders = new EventValidator.Origin("demo", null, null);
    JsonObject event = pageView().put("metadata", new JsonObject()
        .put("userAgent", "Googlebot").put("clientIp", "8.8.8.8").put("campaign", "spring"));
    EventValidator.Result r = validate(validator, event.encode(), noHeaders);
    assertNotNull(r.event(), r.problems().toString());
    JsonObject metadata = new JsonObject(r.event().metadata());
    assertEquals(new JsonObject().put("site", "demo").put("campaign", "spring"), metadata);
  }

  @Test
  @DisplayName("a very long user agent is cut to 512 characters")
  void longUserAgent() {
    EventValidator.Origin origin = new EventValidator.Origin("demo", "x".repeat(5000), null);
    EventValidator.Result r = validate(validator, pageView().encode(), origin);
    assertEquals("x".repeat(512), new JsonObject(r.event().metadata()).getString("userAgent"));
  }

  /** A PageViewed whose data serializes to exactly {@code bytes} bytes of ASCII. */
  private static JsonObject pageViewOfDataSize(int bytes) {
    String empty = "{\"pageId\":\"/x\",\"filler\":\"\"}";
    return pageView().put("data", new JsonObject().put("pageId", "/x").put("filler", "y".repeat(bytes - empty.length())));
  }

  @Test
  @DisplayName("data of exactly the size limit is accepted")
  void dataAtLimit() {
    NewEvent e = accepted(pageViewOfDataSize(LIMITS.maxDataBytes()));
    assertEquals(LIMITS.maxDataBytes(), e.data().length());
  }

  @Test
  @DisplayName("data one byte over the size limit is flagged too large, not just invalid")
  void dataTooLarge() {
    EventValidator.Result r = validate(pageViewOfDataSize(LIMITS.maxDataBytes() + 1));
    assertNull(r.event());
    assertTrue(r.tooLarge(), "413, not 400");
    assertEquals(1, r.problems().size(), r.problems().toString());
    assertEquals("data", r.problems().get(0).field());
    assertTrue(r.problems().get(0).problem().contains(String.valueOf(LIMITS.maxDataBytes())), r.problems().toString());
  }

  @Test
  @DisplayName("an invalid event that is not over the size limit is not flagged too large")
  void invalidIsNotTooLarge() {
    assertFalse(validate(pageView().put("data", new JsonObject())).tooLarge());
  }

  @Test
  @DisplayName("the size limit counts UTF-8 bytes, not characters")
  void dataLimitInBytes() {
    IngestConfig small = new IngestConfig(512 * 1024, 500, 64, 32, 32 * 1024, 64, 64, 2048);
    EventValidator v = new EventValidator(schemas, small, JsonLimits.ingestMapper(small));
    // {"pageId":""} is 13 bytes: 17 three-byte characters make 64 bytes, 18 make 67
    EventValidator.Result fits = validate(v, pageView().put("data", new JsonObject().put("pageId", "€".repeat(17))).encode());
    assertNotNull(fits.event(), fits.problems().toString());
    EventValidator.Result over = validate(v, pageView().put("data", new JsonObject().put("pageId", "€".repeat(18))).encode());
    assertNull(over.event());
    assertTrue(over.tooLarge(), over.problems().toString());
  }

  @Test
  @DisplayName("the size limit counts a number written out in full, as it is stored and read back: 1e400 is 401 bytes")
  void dataLimitCountsNumbersWrittenOut() {
    EventValidator.Result one = validate(validator,
        "{\"type\":\"PageViewed\",\"streamId\":\"v\",\"data\":{\"pageId\":\"/\",\"n\":1e400}}");
    assertEquals(List.of(), one.problems());
    assertEquals("{\"pageId\":\"/\",\"n\":1" + "0".repeat(400) + "}", one.event().data());
    // 40 numbers of 1000 digits each are over 32 KiB as stored, though the body is small
    StringBuilder many =
        new StringBuilder("{\"type\":\"PageViewed\",\"streamId\":\"v\",\"data\":{\"pageId\":\"/\"");
    for (int i = 0; i < 40; i++) {
      many.append(",\"n").append(i).append("\":1e999");
    }
    EventValidator.Result over = validate(validator, many.append("}}").toString());
    assertNull(over.event());
    assertTrue(over.tooLarge(), over.problems().toString());
  }

  // ---- custom types

  private static final CustomEventsConfig ORDERS = new CustomEventsConfig(List.of("Order Completed"), 64);

  private static EventValidator.Result validateCustom(JsonObject event, CustomEventsConfig custom) {
    try {
      return validator.validate(mapper.readTree(event.encode()), ORIGIN, custom);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static JsonObject order(JsonObject data) {
    return pageView().put("type", "Order Completed").put("data", data);
  }

  @Test
  @DisplayName("a custom type the site allows is accepted at version 1 with any object as data")
  void allowedCustomType() {
    EventValidator.Result r = validateCustom(order(new JsonObject().put("total", 42.5).put("items", 3)), ORDERS);
    assertEquals(List.of(), r.problems());
    assertEquals("Order Completed", r.event().type());
    assertEquals(1, r.event().schemaVersion());
    assertEquals("{\"total\":42.5,\"items\":3}", r.event().data());
  }

  @Test
  @DisplayName("a custom type the site does not list is an unknown type; \"*\" allows any name")
  void customTypeNotAllowed() {
    JsonObject signup = pageView().put("type", "Signed Up").put("data", new JsonObject());
    assertEquals(List.of(new Problem("type", "unknown type 'Signed Up'")), validateCustom(signup, ORDERS).problems());
    assertEquals(List.of(), validateCustom(signup, new CustomEventsConfig(List.of("*"), 64)).problems());
  }

  @Test
  @DisplayName("a built-in type in the wrong case is refused even where any custom name is allowed")
  void builtInTypeInWrongCase() {
    JsonObject event = pageView().put("type", "pageviewed");
    EventValidator.Result r = validateCustom(event, new CustomEventsConfig(List.of("*"), 64));
    assertEquals(1, r.problems().size(), r.problems().toString());
    assertEquals("type", r.problems().get(0).field());
    assertTrue(r.problems().get(0).problem().contains("'PageViewed'"), r.problems().toString());
  }

  @Test
  @DisplayName("a custom type has only version 1, and its data must still be an object")
  void customTypeVersionAndShape() {
    assertEquals(List.of(new Problem("schemaVersion", "custom type Order Completed has only version 1")),
        validateCustom(order(new JsonObject()).put("schemaVersion", 2), ORDERS).problems());
    assertEquals(List.of(), validateCustom(order(new JsonObject()).put("schemaVersion", 1), ORDERS).problems());
    assertEquals(List.of(new Problem("data", "must be an object")),
        validateCustom(pageView().put("type", "Order Completed").put("data", "total"), ORDERS).problems());
  }

  @Test
  @DisplayName("a custom type's data is limited by the site's custom limit, not the general one")
  void customDataLimit() {
    // {"note":""} is 11 bytes
    EventValidator.Result fits = validateCustom(order(new JsonObject().put("note", "n".repeat(53))), ORDERS);
    assertEquals(List.of(), fits.problems());
    EventValidator.Result over = validateCustom(order(new JsonObject().put("note", "n".repeat(54))), ORDERS);
    assertTrue(over.tooLarge(), over.problems().toString());
    assertEquals(List.of(new Problem("data", "is 65 bytes; the limit is 64")), over.problems());
  }
}
