package io.flightdeck.gateway.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Upcasting: stored events of an old version reach readers in the current shape, and nothing else changes. */
class UpcastersTest {

  /** The smallest valid version-1 data of each built-in type; a new built-in type needs an entry here. */
  private static final Map<String, JsonObject> MINIMAL_V1 = Map.of(
      "PageViewed", new JsonObject().put("pageId", "/"),
      "ButtonClicked", new JsonObject().put("buttonId", "b"),
      "FormSubmitted", new JsonObject().put("formId", "f").put("formData", new JsonObject()));
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static EventSchemas schemas;
  private final Upcasters upcasters = Upcasters.builtIn();

  @BeforeAll
  static void load() {
    schemas = EventSchemas.builtIn();
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {\"pageId\":\"/pricing\"} | {\"pageId\":\"/pricing\",\"url\":null,\"title\":null,\"referrer\":null}",
      "ButtonClicked | {\"buttonId\":\"signup\"} | {\"buttonId\":\"signup\",\"label\":null,\"pageId\":null}",
      "FormSubmitted | {\"formId\":\"contact\",\"formData\":{\"email\":\"a@b.example\"}} "
          + "| {\"formId\":\"contact\",\"formData\":{\"email\":\"a@b.example\"},\"pageId\":null}"})
  @DisplayName("a version 1 event reads as version 2 with the new properties present as null")
  void v1ReadsAsV2(String type, String v1, String v2) {
    EventEnvelope read = upcasters.upcast(envelope(type, 1, new JsonObject(v1)));

    assertEquals(2, read.schemaVersion());
    assertEquals(new JsonObject(v2), read.data());
    assertEquals(new JsonObject(v2).fieldNames(), read.data().fieldNames(), "every new key is present, as null");
  }

  @Test
  @DisplayName("upcasting changes only the schema version and data: id, position, stream, metadata and times stay")
  void otherFieldsStay() {
    EventEnvelope stored = envelope("PageViewed", 1, new JsonObject().put("pageId", "/"));

    EventEnvelope read = upcasters.upcast(stored);

    assertEquals(new EventEnvelope(stored.id(), stored.position(), stored.streamId(), stored.streamVersion(),
        stored.type(), 2, read.data(), stored.metadata(), stored.occurredAt(), stored.recordedAt()), read);
  }

  @Test
  @DisplayName("upcasting never changes the data object it was given")
  void inputNotMutated() {
    JsonObject data = new JsonObject().put("pageId", "/").put("url", 42);
    JsonObject before = data.copy();
    EventEnvelope stored = envelope("PageViewed", 1, data);

    EventEnvelope read = upcasters.upcast(stored);

    assertEquals(before, data);
    assertEquals(before, stored.data());
    assertEquals(1, stored.schemaVersion());
    assertTrue(read.data() != data, "the upcast data is a new object");
  }

  @Test
  @DisplayName("a version 1 event that already sent a new property as a fitting string keeps it")
  void fittingOldValueKept() {
    JsonObject data = new JsonObject().put("pageId", "/").put("referrer", "https://search.example");

    JsonObject read = upcasters.upcast(envelope("PageViewed", 1, data)).data();

    assertEquals("https://search.example", read.getString("referrer"));
    assertEquals(List.of(), validate("PageViewed", 2, read));
  }

  @Test
  @DisplayName("a version 1 value that version 2 does not allow (a number, a too-long string) reads as null")
  void unfitOldValueReadsAsNull() {
    JsonObject data = new JsonObject().put("pageId", "/").put("url", 42).put("title", "t".repeat(1025));

    JsonObject read = upcasters.upcast(envelope("PageViewed", 1, data)).data();

    assertTrue(read.containsKey("url") && read.getValue("url") == null, read.encode());
    assertTrue(read.containsKey("title") && read.getValue("title") == null, read.encode());
    assertEquals(List.of(), validate("PageViewed", 2, read));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"PageViewed", "ButtonClicked", "FormSubmitted"})
  @DisplayName("an event already at version 2 is passed through as the very same instance")
  void currentVersionPassesThrough(String type) {
    EventEnvelope stored = envelope(type, 2, MINIMAL_V1.get(type).copy());

    assertSame(stored, upcasters.upcast(stored));
  }

  @Test
  @DisplayName("an event of a type without upcasters is passed through unchanged")
  void unknownTypePassesThrough() {
    EventEnvelope stored = envelope("CheckoutStarted", 1, new JsonObject().put("cart", "c-1"));

    assertSame(stored, upcasters.upcast(stored));
    assertEquals(1, upcasters.currentVersion("CheckoutStarted"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"PageViewed", "ButtonClicked", "FormSubmitted"})
  @DisplayName("the version readers see of each built-in type is the latest version ingest knows")
  void currentVersionIsLatestSchema(String type) {
    assertEquals(2, upcasters.currentVersion(type));
    assertEquals(schemas.latestVersion(type).orElseThrow(), upcasters.currentVersion(type));
  }

  static Stream<Upcaster> builtInUpcasters() {
    return Upcasters.builtIn().upcasters().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("builtInUpcasters")
  @DisplayName("each built-in upcaster turns valid data of its version into valid data of the next version")
  void upcastOutputIsValid(Upcaster upcaster) {
    JsonObject before = minimalAt(upcaster.type(), upcaster.fromVersion());
    assertEquals(List.of(), validate(upcaster.type(), upcaster.fromVersion(), before), "the input is valid");

    JsonObject after = upcaster.apply(before);

    assertEquals(List.of(), validate(upcaster.type(), upcaster.toVersion(), after), after.encode());
  }

  @Test
  @DisplayName("a chain of upcasters is applied step by step until the type's current version")
  void chainOfTwoSteps() {
    Upcaster v2ToV3 = new Upcaster("PageViewed", 2, data -> data.put("path", data.getString("pageId")));
    Upcasters chain = new Upcasters(List.of(v2ToV3, Upcasters.builtIn().upcasters().get(0)));

    EventEnvelope read = chain.upcast(envelope("PageViewed", 1, new JsonObject().put("pageId", "/a")));

    assertEquals(3, read.schemaVersion());
    assertEquals(new JsonObject().put("pageId", "/a").putNull("url").putNull("title").putNull("referrer")
        .put("path", "/a"), read.data());
    assertEquals(3, chain.currentVersion("PageViewed"));
    assertEquals(3, chain.upcast(envelope("PageViewed", 2, new JsonObject().put("pageId", "/b"))).schemaVersion());
  }

  @Test
  @DisplayName("a registry refuses two upcasters for the same type and version, or a chain with a hole")
  void badRegistriesAreRefused() {
    Upcaster first = new Upcaster("X", 1, data -> data);
    assertThrows(IllegalArgumentException.class, () -> new Upcasters(List.of(first, new Upcaster("X", 1, d -> d))));
    assertThrows(IllegalArgumentException.class, () -> new Upcasters(List.of(first, new Upcaster("X", 3, d -> d))));
    assertThrows(IllegalArgumentException.class, () -> new Upcaster("X", 0, d -> d));
  }

  @Test
  @DisplayName("the built-in registry is one shared instance whose list cannot be changed")
  void builtInIsShared() {
    assertSame(Upcasters.builtIn(), Upcasters.builtIn());
    assertThrows(UnsupportedOperationException.class, () -> Upcasters.builtIn().upcasters().clear());
  }

  /** The minimal version-1 data of {@code type} brought to {@code version} by the built-in upcasters. */
  private static JsonObject minimalAt(String type, int version) {
    JsonObject data = MINIMAL_V1.get(type);
    assertNotNull(data, "UpcastersTest.MINIMAL_V1 has no data for " + type);
    for (int v = 1; v < version; v++) {
      int from = v;
      data = Upcasters.builtIn().upcasters().stream()
          .filter(u -> u.type().equals(type) && u.fromVersion() == from)
          .findFirst().orElseThrow(() -> new AssertionError("no upcaster of " + type + " from version " + from))
          .apply(data);
    }
    return data;
  }

  private static List<Problem> validate(String type, int version, JsonObject data) {
    try {
      return schemas.validate(type, version, MAPPER.readTree(data.encode()));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static EventEnvelope envelope(String type, int version, JsonObject data) {
    return new EventEnvelope(UUID.randomUUID(), 7, "visitor-1", 3, type, version, data,
        new JsonObject().put("site", "demo"), Instant.parse("2026-11-22T10:15:30Z"),
        Instant.parse("2026-11-22T10:15:31Z"));
  }
}
