package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Edges of the read models' parameters: ids no URL path can name, times finer than the store's. */
@ExtendWith(PostgresExtension.class)
class ReadEdgesIT {

  static final Duration CATCH_UP = Duration.ofSeconds(20);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200"));

  static JsonObject getOk(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(200, r.status(), path + ": " + r.body());
    return r.json();
  }

  static void assertInvalid(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(400, r.status(), path + ": " + r.body());
    assertEquals("invalid_parameter", r.errorCode(), path);
  }

  @Test
  @DisplayName("the submissions of the forms . and .., which no URL path can name (dot segments are removed), "
      + "are read with ?formId=, as any other form's")
  void dotFormIdsByQuery() {
    gateway.http().postBatch(HttpTestClient.formSubmission("fd-1", ".", new JsonObject().put("n", "dot")),
        HttpTestClient.formSubmission("fd-1", "..", new JsonObject().put("n", "dots")),
        HttpTestClient.formSubmission("fd-1", "a/b c", new JsonObject().put("n", "plain")));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    String[][] forms = {{".", "%2E", "dot"}, {"..", "%2E%2E", "dots"}, {"a/b c", "a%2Fb%20c", "plain"}};
    for (String[] form : forms) {
      JsonObject answer = getOk("/v1/forms/submissions?formId=" + form[1] + "&limit=10");
      assertEquals(form[0], answer.getString("formId"), answer.encode());
      JsonArray submissions = answer.getJsonArray("submissions");
      assertEquals(1, submissions.size(), answer.encode());
      assertEquals(form[2], submissions.getJsonObject(0).getJsonObject("fields").getString("n"));
    }
    assertEquals(getOk("/v1/forms/a%2Fb%20c/submissions"), getOk("/v1/forms/submissions?formId=a%2Fb%20c"),
        "the same answer as the path's");
    assertInvalid("/v1/forms/submissions");
    assertInvalid("/v1/forms/submissions?formId=");
    assertInvalid("/v1/forms/submissions?formId=a&formId=b");
    assertInvalid("/v1/forms/./submissions?formId=");
  }

  @Test
  @DisplayName("?at= a fraction of a microsecond before an event recorded before 2000 leaves that event out")
  void subMicrosecondAtBefore2000() {
    // recorded_at set by the writer, as an import or the bench's synthetic history does
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at, recorded_at)
        VALUES (gen_random_uuid(), 'at-1990', 1, 'PageViewed', 1, '{"pageId":"/old"}', '1990-06-15T10:00:00Z',
                '1990-06-15T10:00:00.000001Z')""");

    assertEquals(1, getOk("/v1/visitors/at-1990?at=1990-06-15T10:00:00.000001Z").getLong("pageViews"));
    assertEquals(1, getOk("/v1/visitors/at-1990?at=1990-06-15T10:00:00.0000019Z").getLong("pageViews"));
    Response before = gateway.http().getWithReadToken("/v1/visitors/at-1990?at=1990-06-15T10:00:00.0000005Z");
    assertEquals(404, before.status(), "recorded half a microsecond after at: " + before.body());
  }

  @Test
  @DisplayName("a time with more than nine digits of fraction is cut on the read models, as on ingest, not refused")
  void fractionPastNanosIsCut() {
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at, recorded_at)
        VALUES (gen_random_uuid(), 'at-long', 1, 'PageViewed', 1, '{"pageId":"/old"}', '1990-06-15T10:00:00Z',
                '1990-06-15T10:00:00.000001Z')""");

    assertEquals(1, getOk("/v1/visitors/at-long?at=1990-06-15T10:00:00.000001999999999Z").getLong("pageViews"));
    Response before = gateway.http().getWithReadToken("/v1/visitors/at-long?at=1990-06-15T10:00:00.000000999999999Z");
    assertEquals(404, before.status(), "recorded after at, whatever its digits past the ninth: " + before.body());
    JsonObject counts = getOk("/v1/event-counts?from=2026-11-01T00:00:00.1234567891234%2B01:00"
        + "&to=2026-11-01T01:00:00.9999999999Z");
    assertEquals("2026-10-31T23:00:00.123456789Z", counts.getString("from"), counts.encode());
  }

  @Test
  @DisplayName("a time with a point and no digit after it (10:15:30.Z) is 400 on the read models, as on ingest")
  void fractionWithoutDigits() {
    gateway.http().postBatch(HttpTestClient.pageView("at-dot", "/p"));
    for (String at : new String[] {"2100-01-01T00:00:00.Z", "2100-01-01T00:00:00.%2B01:00"}) {
      assertInvalid("/v1/visitors/at-dot?at=" + at);
    }
    assertInvalid("/v1/event-counts?from=2026-11-01T00:00:00.Z");
    assertInvalid("/v1/event-counts?to=2026-11-01T00:00:00.Z");
  }

  @Test
  @DisplayName("a page of form submissions stops at about 8 MiB, as a page of events does, and following next reads "
      + "every submission once")
  void formSubmissionPagesAreBoundedInBytes() {
    // 400 submissions of 30,000 characters each: 12 MB, more than one page may hold at its limit of 1000
    gateway.db().execute("""
        INSERT INTO form_submissions (form_id, position, event_id, stream_id, site, fields, submitted_at)
        SELECT 'big-form', g, gen_random_uuid(), 'big-' || g, 'demo', jsonb_build_object('text', repeat('x', 30000)),
               now()
        FROM generate_series(1, 400) g""");

    JsonObject first = getOk("/v1/forms/big-form/submissions?limit=1000");
    int firstSize = first.getJsonArray("submissions").size();
    assertTrue(firstSize < 400 && first.toBuffer().length() < 9 * 1024 * 1024,
        firstSize + " submissions, " + first.toBuffer().length() + " bytes");
    List<Long> positions = new ArrayList<>();
    JsonObject page = first;
    while (true) {
      page.getJsonArray("submissions").forEach(o -> positions.add(((JsonObject) o).getLong("position")));
      Long next = page.getLong("next");
      if (next == null) {
        break;
      }
      assertEquals(positions.get(positions.size() - 1), next, "next is the last position given");
      page = getOk("/v1/forms/big-form/submissions?limit=1000&after=" + next);
    }
    List<Long> expected = new ArrayList<>();
    for (long p = 400; p >= 1; p--) {
      expected.add(p);
    }
    assertEquals(expected, positions, "every submission once, newest first");
  }

  @Test
  @DisplayName("a ; in a query string is part of its value, not a second separator: ?formId=a;b is the form a;b, "
      + "?site=demo;x no site's, ?limit=1;after=3 a limit that is no number")
  void semicolonIsNoSeparator() {
    gateway.http().postBatch(HttpTestClient.formSubmission("semi-1", "a;b", new JsonObject().put("n", "semi")));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject form = getOk("/v1/forms/submissions?formId=a;b");
    assertEquals("a;b", form.getString("formId"), form.encode());
    assertEquals(1, form.getJsonArray("submissions").size(), form.encode());
    assertEquals("demo;x", getOk("/v1/pages?site=demo;x").getString("site"));
    assertInvalid("/v1/events?limit=1;after=3");
  }
}
