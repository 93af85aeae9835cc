package io.flightdeck.gateway.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The built-in event types and how their data is checked against each type's JSON Schema. */
class EventSchemasTest {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Map<String, String> MINIMAL_V2 = Map.of(
      "PageViewed", "{\"pageId\":\"/\"}",
      "ButtonClicked", "{\"buttonId\":\"b\"}",
      "FormSubmitted", "{\"formId\":\"f\",\"formData\":{}}");
  private static EventSchemas schemas;

  @BeforeAll
  static void load() {
    schemas = EventSchemas.builtIn();
  }

  private static List<Problem> check(String type, String data) {
    return check(type, 1, data);
  }

  private static List<Problem> check(String type, int version, String data) {
    try {
      JsonNode node = MAPPER.readTree(data);
      return schemas.validate(type, version, node);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"PageViewed", "ButtonClicked", "FormSubmitted"})
  @DisplayName("each built-in type is known at versions 1 and 2, and version 2 is its latest")
  void builtInTypes(String type) {
    assertTrue(schemas.knowsType(type));
    assertTrue(schemas.knows(type, 1));
    assertTrue(schemas.knows(type, 2));
    assertFalse(schemas.knows(type, 3));
    assertEquals(Optional.of(2), schemas.latestVersion(type));
  }

  @Test
  @DisplayName("an unknown type, or a type in the wrong case, is not known")
  void unknownTypes() {
    assertFalse(schemas.knowsType("PageView"));
    assertFalse(schemas.knowsType("pageviewed"));
    assertFalse(schemas.knows("PageView", 1));
    assertEquals(Optional.empty(), schemas.latestVersion("PageView"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {\"pageId\":\"/docs/getting-started\"}",
      "PageViewed | {\"pageId\":\"/\",\"referrer\":\"https://search.example\"}",
      "ButtonClicked | {\"buttonId\":\"signup\"}",
      "FormSubmitted | {\"formId\":\"contact\",\"formData\":{\"email\":\"a@b.example\",\"message\":\"hi\"}}",
      "FormSubmitted | {\"formId\":\"empty\",\"formData\":{}}"})
  @DisplayName("data that matches its type's schema has no problems")
  void validData(String type, String data) {
    assertEquals(List.of(), check(type, data));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {} | data.pageId",
      "ButtonClicked | {\"label\":\"Sign up\"} | data.buttonId",
      "FormSubmitted | {\"formData\":{}} | data.formId"})
  @DisplayName("a missing required property is reported as data.<property>: required")
  void missingRequired(String type, String data, String field) {
    assertEquals(List.of(new Problem(field, "required")), check(type, data));
  }

  @Test
  @DisplayName("every missing required property is reported, in field order")
  void allMissingReported() {
    assertEquals(List.of(new Problem("data.formData", "required"), new Problem("data.formId", "required")),
        check("FormSubmitted", "{}"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {\"pageId\":5} | data.pageId",
      "ButtonClicked | {\"buttonId\":[\"a\"]} | data.buttonId",
      "FormSubmitted | {\"formId\":\"f\",\"formData\":[]} | data.formData",
      "FormSubmitted | {\"formId\":\"f\",\"formData\":{\"age\":42}} | data.formData.age"})
  @DisplayName("a property of the wrong type is reported at its path inside data")
  void wrongType(String type, String data, String field) {
    List<Problem> problems = check(type, data);
    assertEquals(1, problems.size(), problems.toString());
    assertEquals(field, problems.get(0).field());
    assertFalse(problems.get(0).problem().isBlank());
    assertFalse(problems.get(0).problem().startsWith("$"), "the problem does not repeat the path: " + problems);
  }

  @Test
  @DisplayName("a string over the schema's maximum length is reported on that property")
  void tooLong() {
    List<Problem> problems = check("ButtonClicked", new JsonObject().put("buttonId", "b".repeat(257)).encode());
    assertEquals(1, problems.size(), problems.toString());
    assertEquals("data.buttonId", problems.get(0).field());
    assertTrue(problems.get(0).problem().contains("256"), problems.toString());
  }

  @Test
  @DisplayName("an empty required string is reported, not accepted")
  void emptyString() {
    List<Problem> problems = check("PageViewed", "{\"pageId\":\"\"}");
    assertEquals(1, problems.size(), problems.toString());
    assertEquals("data.pageId", problems.get(0).field());
  }

  @Test
  @DisplayName("validating against a version that does not exist is reported on schemaVersion")
  void unknownVersion() throws Exception {
    assertEquals(List.of(new Problem("schemaVersion", "no version 3 of PageViewed")),
        schemas.validate("PageViewed", 3, MAPPER.readTree("{\"pageId\":\"/\"}")));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {\"pageId\":\"/\"}",
      "PageViewed | {\"pageId\":\"/\",\"url\":\"https://shop.example/\",\"title\":\"Shop\",\"referrer\":\"https://search.example\"}",
      "PageViewed | {\"pageId\":\"/\",\"url\":null,\"title\":null,\"referrer\":null}",
      "PageViewed | {\"pageId\":\"/\",\"title\":\"\"}",
      "ButtonClicked | {\"buttonId\":\"signup\"}",
      "ButtonClicked | {\"buttonId\":\"signup\",\"label\":\"Sign up\",\"pageId\":\"/pricing\"}",
      "ButtonClicked | {\"buttonId\":\"signup\",\"label\":null,\"pageId\":null}",
      "FormSubmitted | {\"formId\":\"contact\",\"formData\":{}}",
      "FormSubmitted | {\"formId\":\"contact\",\"formData\":{},\"pageId\":\"/contact\"}",
      "FormSubmitted | {\"formId\":\"contact\",\"formData\":{},\"pageId\":null}"})
  @DisplayName("version 2 data is valid with its new properties as strings, as null, or absent")
  void validV2Data(String type, String data) {
    assertEquals(List.of(), check(type, 2, data));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {\"pageId\":\"/\",\"url\":42} | data.url",
      "PageViewed | {\"pageId\":\"/\",\"referrer\":false} | data.referrer",
      "PageViewed | {\"pageId\":\"/\",\"title\":{}} | data.title",
      "ButtonClicked | {\"buttonId\":\"b\",\"label\":[\"Sign up\"]} | data.label",
      "ButtonClicked | {\"buttonId\":\"b\",\"pageId\":7} | data.pageId",
      "FormSubmitted | {\"formId\":\"f\",\"formData\":{},\"pageId\":1.5} | data.pageId"})
  @DisplayName("a version 2 property that is neither a string nor null is reported at its path")
  void v2WrongType(String type, String data, String field) {
    List<Problem> problems = check(type, 2, data);
    assertEquals(1, problems.size(), problems.toString());
    assertEquals(field, problems.get(0).field());
  }

  @ParameterizedTest(name = "{0} over {1}")
  @CsvSource({"PageViewed, url, 2048", "PageViewed, title, 1024", "PageViewed, referrer, 2048",
      "ButtonClicked, label, 1024", "ButtonClicked, pageId, 2048", "FormSubmitted, pageId, 2048"})
  @DisplayName("a version 2 property longer than its maximum is reported, and one at the maximum is accepted")
  void v2MaxLengths(String type, String property, int max) {
    JsonObject data = new JsonObject(MINIMAL_V2.get(type));
    assertEquals(List.of(), check(type, 2, data.copy().put(property, "x".repeat(max)).encode()));
    List<Problem> problems = check(type, 2, data.put(property, "x".repeat(max + 1)).encode());
    assertEquals(1, problems.size(), problems.toString());
    assertEquals("data." + property, problems.get(0).field());
    // the library formats the limit for the locale ("2,048")
    assertTrue(problems.get(0).problem().replaceAll("[^0-9]", "").contains(String.valueOf(max)), problems.toString());
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "PageViewed | {\"url\":\"https://shop.example/\"} | data.pageId",
      "ButtonClicked | {\"label\":\"Sign up\"} | data.buttonId",
      "FormSubmitted | {\"formData\":{},\"pageId\":\"/\"} | data.formId"})
  @DisplayName("version 2 still requires what version 1 required")
  void v2KeepsV1Requirements(String type, String data, String field) {
    assertEquals(List.of(new Problem(field, "required")), check(type, 2, data));
  }

  @Test
  @DisplayName("GET /v1/schemas describes every version of every built-in type, each type's versions oldest first")
  void describe() {
    JsonArray list = schemas.describe().getJsonArray("schemas");
    assertEquals(10, list.size());
    for (int i = 0; i < list.size(); i++) {
      JsonObject entry = list.getJsonObject(i);
      JsonObject schema = entry.getJsonObject("schema");
      assertEquals("object", schema.getString("type"), entry.encode());
      assertTrue(schema.getString("$id").endsWith(entry.getString("type") + ".v" + entry.getInteger("version")
          + ".json"), entry.encode());
    }
    assertEquals(List.of("PageViewed", "PageViewed", "ButtonClicked", "ButtonClicked", "FormSubmitted",
        "FormSubmitted", "ScreenViewed", "Identified", "GroupAssigned", "Aliased"),
        list.stream().map(o -> ((JsonObject) o).getString("type")).toList());
    assertEquals(List.of(1, 2, 1, 2, 1, 2, 1, 1, 1, 1),
        list.stream().map(o -> ((JsonObject) o).getInteger("version")).toList());
    for (int i = 0; i < 6; i += 2) {
      assertEquals(list.getJsonObject(i).getJsonObject("schema").getJsonArray("required"),
          list.getJsonObject(i + 1).getJsonObject("schema").getJsonArray("required"),
          "version 2 requires what version 1 required");
    }
    assertEquals(new JsonArray().add("pageId"), list.getJsonObject(0).getJsonObject("schema").getJsonArray("required"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "ScreenViewed | {\"name\":\"Checkout\",\"properties\":{\"step\":2}}",
      "ScreenViewed | {\"name\":null,\"properties\":{}}",
      "Identified | {\"traits\":{\"email\":\"ada@example.com\",\"plan\":\"pro\"}}",
      "GroupAssigned | {\"groupId\":\"acme\",\"traits\":{\"employees\":120}}",
      "Aliased | {\"previousId\":\"anon-1\",\"userId\":\"user-1\"}"})
  @DisplayName("the Segment calls' types accept the data the Segment API gives them")
  void segmentTypesAcceptTheirData(String type, String data) {
    assertTrue(schemas.knows(type, 1));
    assertEquals(Optional.of(1), schemas.latestVersion(type));
    assertEquals(List.of(), check(type, data));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "ScreenViewed | {\"name\":\"Checkout\"} | data.properties",
      "Identified | {} | data.traits",
      "GroupAssigned | {\"traits\":{}} | data.groupId",
      "Aliased | {\"userId\":\"user-1\"} | data.previousId"})
  @DisplayName("the Segment calls' types require their fields")
  void segmentTypesRequireTheirFields(String type, String data, String field) {
    assertEquals(List.of(new Problem(field, "required")), check(type, data));
  }

  @Test
  @DisplayName("a built-in type is found whatever the case it is written in, so a misspelt one is never a new type")
  void typeIgnoringCase() {
    assertEquals(Optional.of("PageViewed"), schemas.typeIgnoringCase("pageviewed"));
    assertEquals(Optional.of("Identified"), schemas.typeIgnoringCase("IDENTIFIED"));
    assertEquals(Optional.empty(), schemas.typeIgnoringCase("Order Completed"));
  }
}
