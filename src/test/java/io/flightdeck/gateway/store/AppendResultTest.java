package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class AppendResultTest {

  private static JsonObject expected(AppendResult r) {
    return new JsonObject().put("id", r.id().toString()).put("position", r.position())
        .put("streamVersion", r.streamVersion()).put("status", r.status().wire());
  }

  @Test
  void resultsBodyIsTheJsonOfEveryResultInOrder() {
    List<AppendResult> results = List.of(
        new AppendResult(UUID.randomUUID(), 1, 1, AppendResult.Status.APPENDED),
        new AppendResult(UUID.fromString("00000000-0000-0000-0000-000000000000"), Long.MAX_VALUE, 42,
            AppendResult.Status.DUPLICATE),
        new AppendResult(UUID.randomUUID(), 9_007_199_254_740_993L, Long.MAX_VALUE, AppendResult.Status.APPENDED));
    JsonArray array = new JsonArray();
    results.forEach(r -> array.add(expected(r)));
    String body = AppendResult.resultsBody(results).toString();
    assertEquals(new JsonObject().put("results", array).encode(), body, "byte for byte what Jackson wrote");
    assertEquals(new JsonObject().put("results", array), new JsonObject(body));
  }

  @Test
  void oneResult() {
    AppendResult r = new AppendResult(UUID.randomUUID(), 7, 3, AppendResult.Status.APPENDED);
    assertEquals(new JsonObject().put("results", new JsonArray().add(expected(r))).encode(),
        AppendResult.resultsBody(List.of(r)).toString());
  }
}
