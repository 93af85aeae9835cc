package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Read answers that the store's contents could make as large, or as long, as they like are bounded. */
@ExtendWith(PostgresExtension.class)
class ReadBoundsIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  /** About what an answer of event counts holds at most, with a minute's rows more at most (101 long names). */
  private static final int COUNTS_ANSWER_BYTES = (1 << 20) + 101 * 400;

  @Test
  @DisplayName("event counts over 24 hours of 101 long type names (14 MB of rows) come in answers of about 1 MiB, "
      + "whole minutes each, and following next gives every row of the range once")
  void eventCountsComeInBoundedAnswers() {
    // 1,440 minutes x 101 types of 150 characters: each minute names the 100 most counted and sums one other
    gateway.db().execute("""
        INSERT INTO event_counts (minute, type, count)
        SELECT timestamptz '2026-11-01T00:00:00Z' + m * interval '1 minute', lpad(t::text, 150, 'T'), t + 1
        FROM generate_series(0, 1439) m, generate_series(0, 100) t""");
    String range = "/v1/event-counts?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&types=100";

    Map<String, Long> seen = new HashMap<>();
    Set<String> minutes = new HashSet<>();
    String after = null;
    int answers = 0;
    do {
      Response r = gateway.http().getWithReadToken(range + (after == null ? "" : "&after=" + after));
      assertEquals(200, r.status(), r.body().length() > 300 ? r.body().substring(0, 300) : r.body());
      int bytes = r.body().getBytes(StandardCharsets.UTF_8).length;
      assertTrue(bytes <= COUNTS_ANSWER_BYTES, "an answer of " + bytes + " bytes");
      JsonObject answer = r.json();
      assertEquals(1L, answer.getLong("otherTypes"), "the types are of the whole range, in every answer");
      assertEquals("2026-11-01T00:00:00Z", answer.getString("from"));
      assertTrue(answer.containsKey("next"), "an answer says where the next one starts");
      JsonArray counts = answer.getJsonArray("counts");
      Set<String> ownMinutes = new HashSet<>();
      for (int i = 0; i < counts.size(); i++) {
        JsonObject c = counts.getJsonObject(i);
        Long was = seen.put(c.getString("minute") + " " + c.getString("type"), c.getLong("count"));
        assertEquals(null, was, "a row comes once: " + c);
        ownMinutes.add(c.getString("minute"));
      }
      for (String m : ownMinutes) {
        assertTrue(minutes.add(m), "a minute's rows all come in one answer: " + m);
      }
      after = answer.getString("next");
      if (after != null) {
        assertEquals(counts.getJsonObject(counts.size() - 1).getString("minute"), after, "next is the last minute");
      }
      answers++;
    } while (after != null && answers < 100);
    assertEquals(null, after, "the walk ends");
    assertTrue(answers > 1, "24 hours of 101 long names need more than one answer");
    assertEquals(1440, minutes.size());
    assertEquals(1440 * 101, seen.size());
    assertEquals(1L, seen.get("2026-11-01T00:00:00Z null"), "the least counted type is summed with the others");
  }

  @Test
  @DisplayName("after must be a time within the range's from and to, else 400 invalid_parameter")
  void eventCountsAfterOutsideTheRange() {
    for (String after : new String[] {"yesterday", "2026-10-31T23:59:00Z", "2026-11-02T00:00:00Z"}) {
      Response r = gateway.http().getWithReadToken(
          "/v1/event-counts?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&after=" + after);
      assertEquals(400, r.status(), after + ": " + r.body());
      assertEquals("invalid_parameter", r.errorCode());
      assertNotNull(r.json().getJsonObject("error").getString("message"));
    }
  }
}
