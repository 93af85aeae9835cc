package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The read-model answers of {@link ReadModelsDifferentialIT} as a client gets them: the paged lists walked to their
 * end through {@code next}, checking on the way what the paging promises (at most {@code limit} rows an answer,
 * {@code next} null exactly when no row follows).
 */
final class DifferentialWalks {

  private static final int MAX_ANSWERS = 500;

  private DifferentialWalks() {
  }

  private static JsonObject getOk(HttpTestClient http, String path) {
    Response r = http.getWithReadToken(path);
    assertEquals(200, r.status(), path + ": " + r.body());
    return r.json();
  }

  /** Every row of {@code GET /v1/pages} for the site and days, {@code limit} at a time. */
  static List<JsonObject> pages(HttpTestClient http, String site, LocalDate from, LocalDate to, boolean byPage,
      int limit) {
    String query = "/v1/pages?site=" + site + "&from=" + from + "&to=" + to + "&limit=" + limit
        + (byPage ? "&order=page" : "");
    List<JsonObject> rows = new ArrayList<>();
    String after = "";
    for (int answers = 0; answers < MAX_ANSWERS; answers++) {
      JsonObject answer = getOk(http, query + "&after=" + after);
      assertEquals(site, answer.getString("site"));
      assertEquals(from.toString(), answer.getString("from"));
      assertEquals(to.toString(), answer.getString("to"));
      JsonArray pages = answer.getJsonArray("pages");
      assertTrue(pages.size() <= limit, query + ": " + answer);
      assertTrue(after.isEmpty() || !pages.isEmpty(), "a next with no row after it: " + query + " after " + after);
      pages.forEach(p -> rows.add((JsonObject) p));
      assertTrue(answer.containsKey("next"), answer.encode());
      after = answer.getString("next");
      if (after == null) {
        return rows;
      }
      after = URLEncoder.encode(after, StandardCharsets.UTF_8);
    }
    throw new AssertionError(query + " did not end within " + MAX_ANSWERS + " answers");
  }

  /** Every submission of {@code GET /v1/forms/{formId}/submissions}, {@code limit} at a time, times as instants. */
  static List<JsonObject> submissions(HttpTestClient http, String formId, int limit) {
    String query = "/v1/forms/" + URLEncoder.encode(formId, StandardCharsets.UTF_8) + "/submissions?limit=" + limit;
    List<JsonObject> rows = new ArrayList<>();
    Long after = 0L;
    for (int answers = 0; answers < MAX_ANSWERS; answers++) {
      JsonObject answer = getOk(http, query + "&after=" + after);
      assertEquals(formId, answer.getString("formId"));
      JsonArray submissions = answer.getJsonArray("submissions");
      assertTrue(submissions.size() <= limit, query + ": " + answer);
      assertTrue(after == 0 || !submissions.isEmpty(), "a next with nothing older: " + query + " after " + after);
      for (int i = 0; i < submissions.size(); i++) {
        JsonObject s = submissions.getJsonObject(i);
        rows.add(s.put("submittedAt", Instant.parse(s.getString("submittedAt")).toString()));
      }
      assertTrue(answer.containsKey("next"), answer.encode());
      after = answer.getLong("next");
      if (after == null) {
        return rows;
      }
    }
    throw new AssertionError(query + " did not end within " + MAX_ANSWERS + " answers");
  }

  /** An event-counts answer as minute, then type (null: the others summed), then count. */
  static Map<String, Map<String, Long>> counts(JsonObject answer) {
    Map<String, Map<String, Long>> perMinute = new TreeMap<>();
    JsonArray counts = answer.getJsonArray("counts");
    for (int i = 0; i < counts.size(); i++) {
      JsonObject c = counts.getJsonObject(i);
      Map<String, Long> minute = perMinute.computeIfAbsent(Instant.parse(c.getString("minute")).toString(),
          m -> new TreeMap<>());
      Long was = minute.put(c.getString("type") == null ? "(others)" : c.getString("type"), c.getLong("count"));
      assertEquals(null, was, "one row per minute and type: " + c);
    }
    return perMinute;
  }

  /**
   * An answer with {@code types} types named: those with the most events in the range (a tie may go either way),
   * each with its own counts, the others summed per minute and counted in {@code otherTypes}.
   */
  static void assertTopTypes(Map<String, Map<String, Long>> expected, int types, JsonObject answer) {
    Map<String, Long> totals = new HashMap<>();
    expected.values().forEach(m -> m.forEach((type, n) -> totals.merge(type, n, Long::sum)));
    Map<String, Map<String, Long>> actual = counts(answer);
    Set<String> named = new HashSet<>();
    actual.values().forEach(m -> named.addAll(m.keySet()));
    named.remove("(others)");
    String context = "event counts with types=" + types + ": " + answer.encode();
    assertEquals(Math.min(types, totals.size()), named.size(), context);
    assertEquals(totals.size() - named.size(), answer.getLong("otherTypes"), context);
    long leastNamed = named.stream().mapToLong(t -> totals.getOrDefault(t, 0L)).min().orElse(Long.MAX_VALUE);
    long mostOther = totals.entrySet().stream().filter(e -> !named.contains(e.getKey()))
        .mapToLong(Map.Entry::getValue).max().orElse(0);
    assertTrue(leastNamed >= mostOther, "the types named have the most events: " + context);
    Map<String, Map<String, Long>> folded = new TreeMap<>();
    expected.forEach((minute, byType) -> byType.forEach((type, n) -> folded
        .computeIfAbsent(minute, m -> new TreeMap<>()).merge(named.contains(type) ? type : "(others)", n,
            Long::sum)));
    assertEquals(folded, actual, context);
  }
}
