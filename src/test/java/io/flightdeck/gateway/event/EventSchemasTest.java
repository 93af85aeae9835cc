package io.flightdeck.gateway.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The built-in event types and how their data is checked against each type's JSON Schema. */
class EventSchemasTest {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static EventSchemas schemas;

  @BeforeAll
  static void load() {
    schemas = EventSchemas.builtIn();
  }

  private static List<Problem> check(String type, String data) {
    try {
      JsonNode node = MAPPER.readTree(data);
      return schemas.validate(type, 1, node);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"PageViewed", "ButtonClicked", "FormSubmitted"})
  @DisplayName("each built-in type is known at version 1, and version 1 is its latest")
  void builtInTypes(String type) {
    assertTrue(schemas.knowsType(type));
    assertTrue(schemas.knows(type, 1));
    assertFalse(schemas.knows(type, 2));
    assertEquals(Optional.of(1), schemas.latestVersion(type));
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
    assertEquals(List.of(new Problem("schemaVersion", "no version 2 of PageViewed")),
        schemas.validate("PageViewed", 2, MAPPER.readTree("{\"pageId\":\"/\"}")));
  }

  @Test
  @DisplayName("GET /v1/schemas describes every built-in type with its version and schema")
  void describe() {
    JsonArray list = schemas.describe().getJsonArray("schemas");
    assertEquals(3, list.size());
    for (int i = 0; i < list.size(); i++) {
      JsonObject entry = list.getJsonObject(i);
      assertEquals(1, entry.getInteger("version"));
      JsonObject schema = entry.getJsonObject("schema");
      assertEquals("object", schema.getString("type"), entry.encode());
      assertTrue(schema.getString("$id").endsWith(entry.getString("type") + ".v1.json"), entry.encode());
    }
    assertEquals(List.of("PageViewed", "ButtonClicked", "FormSubmitted"),
        list.stream().map(o -> ((JsonObject) o).getString("type")).toList());
    assertEquals(new JsonArray().add("pageId"), list.getJsonObject(0).getJsonObject("schema").getJsonArray("required"));
  }
}
