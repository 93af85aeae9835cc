package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Old clients keep writing version 1; every reader sees version 2, and the stored rows stay as written. */
@ExtendWith(PostgresExtension.class)
class UpcastReadIT {

  private static final String STREAM = "visitor-upcast";

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();
  static JsonObject oldPage;
  static JsonObject newPage;
  static JsonObject oldClick;
  static JsonObject oldForm;

  @BeforeAll
  static void postFixtures() {
    // an old client: no schemaVersion at all, which ingest reads as version 1
    oldPage = HttpTestClient.pageView(STREAM, "/pricing");
    newPage = HttpTestClient.pageView(STREAM, "/checkout").put("schemaVersion", 2)
        .put("data", new JsonObject().put("pageId", "/checkout").put("url", "https://shop.example/checkout?step=1")
            .put("title", "Checkout").put("referrer", "https://shop.example/pricing"));
    oldClick = event("ButtonClicked", new JsonObject().put("buttonId", "cta-signup")).put("schemaVersion", 1);
    oldForm = event("FormSubmitted", new JsonObject().put("formId", "contact")
        .put("formData", new JsonObject().put("email", "a@b.example")));
    for (JsonObject e : List.of(oldPage, newPage, oldClick, oldForm)) {
      Response r = gateway.http().postEvents(e);
      assertEquals(200, r.status(), r.body());
      assertEquals("appended", r.results().getJsonObject(0).getString("status"), r.body());
    }
  }

  @Test
  @DisplayName("a stream read shows version 1 events as version 2 with null new properties, and version 2 events as sent")
  void streamReadSeesVersion2() {
    assertAllVersion2(byId(read("/v1/streams/" + STREAM + "/events").getJsonArray("events")));
  }

  @Test
  @DisplayName("the global feed shows version 1 events as version 2 with null new properties, and version 2 events as sent")
  void globalReadSeesVersion2() {
    assertAllVersion2(byId(read("/v1/events?after=0").getJsonArray("events")));
  }

  @Test
  @DisplayName("the stored rows keep the version and data they were written with")
  void storedRowsAreUntouched() {
    assertStored(oldPage, 1);
    assertStored(newPage, 2);
    assertStored(oldClick, 1);
    assertStored(oldForm, 1);
    JsonObject oldPageData = storedData(oldPage);
    for (String added : List.of("url", "title", "referrer")) {
      assertFalse(oldPageData.containsKey(added), "the stored v1 row has no " + added + ": " + oldPageData.encode());
    }
  }

  private static void assertAllVersion2(Map<String, JsonObject> read) {
    assertEquals(4, read.size(), read.toString());
    for (JsonObject e : read.values()) {
      assertEquals(2, e.getInteger("schemaVersion"), e.encode());
    }
    assertEquals(new JsonObject().put("pageId", "/pricing").putNull("url").putNull("title").putNull("referrer"),
        data(read, oldPage));
    assertEquals(newPage.getJsonObject("data"), data(read, newPage));
    assertEquals(new JsonObject().put("buttonId", "cta-signup").putNull("label").putNull("pageId"),
        data(read, oldClick));
    assertEquals(oldForm.getJsonObject("data").copy().putNull("pageId"), data(read, oldForm));
    assertEquals(List.of("pageId", "url", "title", "referrer"), List.copyOf(data(read, oldPage).fieldNames()),
        "the new keys are present, as null");
  }

  private static void assertStored(JsonObject sent, int version) {
    List<List<Object>> rows = gateway.db().query("SELECT schema_version FROM events WHERE id = ?",
        UUID.fromString(sent.getString("id")));
    assertEquals(1, rows.size());
    assertEquals(version, ((Number) rows.get(0).get(0)).intValue(), sent.encode());
    assertEquals(sent.getJsonObject("data"), storedData(sent));
  }

  private static JsonObject storedData(JsonObject sent) {
    List<List<Object>> rows = gateway.db().query("SELECT data::text FROM events WHERE id = ?",
        UUID.fromString(sent.getString("id")));
    return new JsonObject((String) rows.get(0).get(0));
  }

  private static JsonObject event(String type, JsonObject data) {
    return new JsonObject().put("id", UUID.randomUUID().toString()).put("type", type).put("streamId", STREAM)
        .put("data", data);
  }

  private static JsonObject data(Map<String, JsonObject> read, JsonObject sent) {
    return read.get(sent.getString("id")).getJsonObject("data");
  }

  private static Map<String, JsonObject> byId(JsonArray events) {
    Map<String, JsonObject> out = new HashMap<>();
    for (Object o : events) {
      JsonObject e = (JsonObject) o;
      out.put(e.getString("id"), e);
    }
    return out;
  }

  private static JsonObject read(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(200, r.status(), r.body());
    return r.json();
  }
}
