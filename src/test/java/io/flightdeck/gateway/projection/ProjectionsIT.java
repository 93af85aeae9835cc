package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The read models as the API serves them, built by the projections from what was posted. */
@ExtendWith(PostgresExtension.class)
class ProjectionsIT {

  static final Duration CATCH_UP = Duration.ofSeconds(20);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_SITES", TestGateway.demoSiteNaming("VideoPlayed")));

  static void post(JsonObject... events) {
    gateway.http().postBatch(events);
  }

  static JsonObject at(JsonObject event, String occurredAt) {
    return event.put("occurredAt", occurredAt);
  }

  static JsonObject getOk(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  @Test
  @DisplayName("a visitor's page views, clicks and form submissions add up in its activity")
  void visitorActivity() {
    post(at(HttpTestClient.pageView("va-1", "/home"), "2026-11-20T10:00:00Z"),
        at(HttpTestClient.click("va-1", "signup"), "2026-11-20T10:00:05Z"),
        at(HttpTestClient.pageView("va-1", "/pricing"), "2026-11-20T10:01:00Z"));
    post(at(HttpTestClient.formSubmission("va-1", "contact", new JsonObject().put("email", "a@example.com")),
            "2026-11-20T10:02:00Z"),
        at(HttpTestClient.click("va-1", "buy"), "2026-11-20T10:03:00Z"),
        at(HttpTestClient.pageView("va-1", "/thanks"), "2026-11-20T09:59:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject v = getOk("/v1/visitors/va-1");
    assertEquals("va-1", v.getString("streamId"));
    assertEquals("demo", v.getString("site"));
    assertEquals(3, v.getLong("pageViews"));
    assertEquals(2, v.getLong("buttonClicks"));
    assertEquals(1, v.getLong("formSubmissions"));
    assertEquals("/thanks", v.getString("lastPage"), "the last page viewed, in stream order");
    assertEquals("2026-11-20T09:59:00Z", v.getString("firstSeen"), "the earliest occurredAt");
    assertEquals("2026-11-20T10:03:00Z", v.getString("lastSeen"), "the latest occurredAt");
  }

  @Test
  @DisplayName("a visitor's activity at a past time folds only the events recorded by then")
  void temporalQuery() {
    post(HttpTestClient.pageView("vt-1", "/a"));
    post(HttpTestClient.pageView("vt-1", "/b"));
    JsonArray stored = getOk("/v1/streams/vt-1/events").getJsonArray("events");
    String secondRecorded = stored.getJsonObject(1).getString("recordedAt");
    post(HttpTestClient.click("vt-1", "later"), HttpTestClient.pageView("vt-1", "/c"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject then = getOk("/v1/visitors/vt-1?at=" + secondRecorded);
    assertEquals(2, then.getLong("pageViews"));
    assertEquals(0, then.getLong("buttonClicks"));
    assertEquals("/b", then.getString("lastPage"));
    assertEquals(secondRecorded, then.getString("at"));

    JsonObject projected = getOk("/v1/visitors/vt-1");
    JsonObject foldedNow = getOk("/v1/visitors/vt-1?at=2100-01-01T00:00:00Z");
    foldedNow.remove("at");
    assertEquals(projected, foldedNow, "the projection equals the fold of the whole stream");
    assertEquals(projected, getOk("/v1/visitors/vt-1?at="), "an empty at is its default: the current state");

    String before = stored.getJsonObject(0).getString("recordedAt").replace("Z", "").substring(0, 19) + "Z";
    assertEquals(404, gateway.http().getWithReadToken("/v1/visitors/vt-1?at=2000-01-01T00:00:00Z").status());
    assertNotNull(before);
    assertEquals(404, gateway.http().getWithReadToken("/v1/visitors/nobody-at-all").status());
    for (String at : new String[] {"yesterday", "%2B10000-01-01T00:00:00Z", "%2B999999999-01-01T00:00:00Z"}) {
      Response bad = gateway.http().getWithReadToken("/v1/visitors/vt-1?at=" + at);
      assertEquals(400, bad.status(), at + ": " + bad.body());
      assertEquals("invalid_parameter", bad.errorCode());
    }
  }

  @Test
  @DisplayName("a time whose offset's + is sent as such in the query (RFC 3986 allows it) is that offset, not a 400 "
      + "for the space a form's encoding would make of it")
  void plusOffsetSentAsSuch() {
    post(at(HttpTestClient.pageView("vp-1", "/plus"), "2026-11-20T10:00:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject v = getOk("/v1/visitors/vp-1?at=2100-01-01T01:00:00+01:00");
    assertEquals(1, v.getLong("pageViews"), v.encode());
    assertEquals("2100-01-01T01:00:00+01:00", v.getString("at"), "said back as the client wrote it");
    assertEquals(v, getOk("/v1/visitors/vp-1?at=2100-01-01T01:00:00%2B01:00"), "as the escaped + is");
    JsonObject counts = getOk("/v1/event-counts?from=2026-11-01T01:00:00+01:00&to=2026-11-01T02:00:00+01:00");
    assertEquals("2026-11-01T00:00:00Z", counts.getString("from"), counts.encode());
    assertEquals("2026-11-01T01:00:00Z", counts.getString("to"), counts.encode());
    for (String bad : new String[] {"2100-01-01 01:00:00Z", "2100-01-01T01:00:00%2001:00:00"}) {
      Response r = gateway.http().getWithReadToken("/v1/visitors/vp-1?at=" + bad.replace(" ", "%20"));
      assertEquals(400, r.status(), bad + ": " + r.body());
      assertEquals("invalid_parameter", r.errorCode(), bad);
    }
  }

  @Test
  @DisplayName("the fold at a time reads a stream longer than one page (2,500 events, pages of 1,000) to its end")
  void temporalQueryOverManyPages() {
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT gen_random_uuid(), 'vt-long', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now()
        FROM generate_series(1, 2500) g""");

    JsonObject folded = getOk("/v1/visitors/vt-long?at=2100-01-01T00:00:00Z");

    assertEquals(2500, folded.getLong("pageViews"), folded.encode());
    assertEquals("/p2500", folded.getString("lastPage"), folded.encode());
  }

  @Test
  @DisplayName("custom events count for neither the projection nor the fold at a time: both agree, and a stream of "
      + "custom events alone is no visitor")
  void customEventsLeaveVisitorsAlone() {
    post(at(HttpTestClient.pageView("vc-1", "/home"), "2026-11-20T10:00:00Z"),
        at(new JsonObject().put("type", "VideoPlayed").put("streamId", "vc-1").put("data", new JsonObject()),
            "2026-11-25T10:00:00Z"));
    post(at(new JsonObject().put("type", "VideoPlayed").put("streamId", "vc-only").put("data", new JsonObject()),
        "2026-11-25T10:00:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject projected = getOk("/v1/visitors/vc-1");
    JsonObject folded = getOk("/v1/visitors/vc-1?at=2100-01-01T00:00:00Z");
    folded.remove("at");
    assertEquals("2026-11-20T10:00:00Z", projected.getString("lastSeen"), projected.encode());
    assertEquals(projected, folded, "the projection equals the fold of the whole stream");
    assertEquals(404, gateway.http().getWithReadToken("/v1/visitors/vc-only").status());
    assertEquals(404, gateway.http().getWithReadToken("/v1/visitors/vc-only?at=2100-01-01T00:00:00Z").status());
  }

  @Test
  @DisplayName("a time whose offset puts it past the year 9999 in UTC is 400, not an answer that is no RFC 3339 time")
  void timePastYear9999InUtcIsRejected() {
    // 9999-12-31T23:59:59-18:00 is +10000-01-01T17:59:59Z: the answer's "to" would say so
    Response counts = gateway.http().getWithReadToken(
        "/v1/event-counts?from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:59-18:00");
    assertEquals(400, counts.status(), counts.body());
    assertEquals("invalid_parameter", counts.errorCode());
    Response visitor = gateway.http().getWithReadToken("/v1/visitors/vt-1?at=9999-12-31T23:59:59-18:00");
    assertEquals(400, visitor.status(), visitor.body());
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
      "GET, /v1/visitors/vt%00x, streamId",
      "GET, /v1/visitors/vt-1?at=2026-11-20T10:00:00Z%00, at",
      "GET, /v1/pages?site=de%00mo, site",
      "GET, /v1/pages?site=demo&from=2026-11-19%00, from",
      "GET, /v1/forms/news%00letter/submissions, formId",
      "GET, /v1/event-counts?from=2026-11-20T10:00:00Z%00, from",
      "GET, /v1/admin/dead-letters?projection=visitor%00activity, projection",
      "POST, /v1/admin/projections/visitor%00activity/rebuild, name",
      "POST, /v1/admin/dead-letters/1%00/retry, id"})
  @DisplayName("a NUL character in a read-model or admin parameter is answered 400 invalid_parameter naming it")
  void nulInParameterIsRejected(String method, String path, String parameter) {
    Response r = path.startsWith("/v1/admin/")
        ? method.equals("POST") ? gateway.http().postWithAdminToken(path) : gateway.http().getWithAdminToken(path)
        : gateway.http().getWithReadToken(path);
    assertEquals(400, r.status(), r.body());
    assertEquals("invalid_parameter", r.errorCode());
    assertTrue(r.json().getJsonObject("error").getString("message").startsWith(parameter + " "), r.body());
  }

  @Test
  @DisplayName("page stats count views and unique visitors per page and day")
  void pageStats() {
    post(at(HttpTestClient.pageView("ps-1", "/stats/one"), "2026-11-19T08:00:00Z"),
        at(HttpTestClient.pageView("ps-1", "/stats/one"), "2026-11-19T09:00:00Z"),
        at(HttpTestClient.pageView("ps-2", "/stats/one"), "2026-11-19T23:59:59Z"),
        at(HttpTestClient.pageView("ps-1", "/stats/two"), "2026-11-19T12:00:00Z"),
        at(HttpTestClient.pageView("ps-2", "/stats/one"), "2026-11-18T12:00:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject day = getOk("/v1/pages?site=demo&from=2026-11-19&to=2026-11-19");
    assertEquals(new JsonArray()
            .add(new JsonObject().put("pageId", "/stats/one").put("day", "2026-11-19").put("views", 3)
                .put("uniqueVisitors", 2))
            .add(new JsonObject().put("pageId", "/stats/two").put("day", "2026-11-19").put("views", 1)
                .put("uniqueVisitors", 1)),
        day.getJsonArray("pages"));
    JsonArray both = getOk("/v1/pages?site=demo&from=2026-11-18&to=2026-11-19").getJsonArray("pages");
    assertEquals(3, both.size());
    assertEquals("2026-11-18", both.getJsonObject(0).getString("day"));
    assertEquals(0, getOk("/v1/pages?site=elsewhere&from=2026-11-18&to=2026-11-19").getJsonArray("pages").size());

    assertEquals("invalid_parameter", gateway.http().getWithReadToken("/v1/pages").errorCode());
    assertEquals("invalid_parameter",
        gateway.http().getWithReadToken("/v1/pages?site=demo&from=2026-11-20&to=2026-11-19").errorCode());
    assertEquals("invalid_parameter", gateway.http().getWithReadToken("/v1/pages?site=demo&from=nope").errorCode());
    // dates java.time reads but PostgreSQL cannot hold: 400, not a failed query
    for (String from : new String[] {"%2B6000000-01-01", "-999999999-01-01", "0000-01-01", "%2B2026-11-18"}) {
      Response r = gateway.http().getWithReadToken("/v1/pages?site=demo&from=" + from + "&to=" + from);
      assertEquals(400, r.status(), from + ": " + r.body());
      assertEquals("invalid_parameter", r.errorCode());
    }
  }

  @Test
  @DisplayName("a view a fraction of a microsecond before midnight, years before 2000, counts on its own day, and "
      + "the visitor was first seen then, not at the next midnight")
  void subMicrosecondBeforeMidnight() {
    // PostgreSQL holds microseconds; cut toward its epoch (2000-01-01), a time before it would go up, a day on
    post(at(HttpTestClient.pageView("sm-1", "/sub-micro"), "1990-06-15T23:59:59.9999999Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    assertEquals(new JsonArray().add(new JsonObject().put("pageId", "/sub-micro").put("day", "1990-06-15")
            .put("views", 1).put("uniqueVisitors", 1)),
        getOk("/v1/pages?site=demo&from=1990-06-15&to=1990-06-16").getJsonArray("pages"));
    JsonObject v = getOk("/v1/visitors/sm-1");
    assertTrue(Instant.parse(v.getString("firstSeen")).isBefore(Instant.parse("1990-06-16T00:00:00Z")), v.encode());
    String stored = getOk("/v1/streams/sm-1/events").getJsonArray("events").getJsonObject(0).getString("occurredAt");
    assertTrue(Instant.parse(stored).isBefore(Instant.parse("1990-06-16T00:00:00Z")), stored);
  }

  @Test
  @DisplayName("page stats with only a past to= are that one day, and with only a later to= start today, as before")
  void pageStatsToAlone() {
    post(at(HttpTestClient.pageView("pt-1", "/to-alone"), "2025-02-10T08:00:00Z"),
        at(HttpTestClient.pageView("pt-1", "/to-alone"), "2025-02-09T08:00:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    for (String query : new String[] {"to=2025-02-10", "from=&to=2025-02-10"}) {
      JsonObject day = getOk("/v1/pages?site=demo&" + query);
      assertEquals("2025-02-10", day.getString("from"), query + ": " + day);
      assertEquals("2025-02-10", day.getString("to"), query + ": " + day);
      assertEquals(new JsonArray().add(new JsonObject().put("pageId", "/to-alone").put("day", "2025-02-10")
          .put("views", 1).put("uniqueVisitors", 1)), day.getJsonArray("pages"), query);
    }
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    JsonObject ahead = getOk("/v1/pages?site=demo&to=" + today.plusDays(3));
    assertEquals(today.toString(), ahead.getString("from"), ahead.encode());
    JsonObject past = getOk("/v1/pages?site=demo&from=" + today.minusDays(2));
    assertEquals(today.toString(), past.getString("to"), "a from= alone still ends today: " + past);
  }

  /** The page ids of a walk through {@code /v1/pages?query}, following {@code next} with {@code after}. */
  static List<String> walkPages(String query, List<JsonObject> answers) {
    List<String> ids = new ArrayList<>();
    String after = "";
    do {
      JsonObject answer = getOk("/v1/pages?" + query + "&after=" + after);
      answers.add(answer);
      JsonArray pages = answer.getJsonArray("pages");
      for (int i = 0; i < pages.size(); i++) {
        ids.add(pages.getJsonObject(i).getString("day") + " " + pages.getJsonObject(i).getString("pageId"));
      }
      after = answer.getString("next");
      assertTrue(answer.containsKey("next"), answer.encode());
      assertTrue(answers.size() < 20, "the walk ends");
    } while (after != null);
    return ids;
  }

  @Test
  @DisplayName("page stats cut at limit say so with next, and following it as after walks every row once, in the "
      + "answer's order; order=page walks a day still being counted exactly once")
  void pageStatsPaging() {
    List<JsonObject> views = new ArrayList<>();
    for (String[] view : new String[][] {{"/pg/a", "1"}, {"/pg/a", "2"}, {"/pg/a", "3"}, {"/pg/b", "1"},
        {"/pg/c", "1"}, {"/pg/d", "1"}, {"/pg/d", "2"}}) {
      views.add(at(HttpTestClient.pageView("pg-" + view[1], view[0]), "2025-03-01T10:00:00Z"));
    }
    views.add(at(HttpTestClient.pageView("pg-1", "/pg/e"), "2025-03-02T10:00:00Z"));
    post(views.toArray(JsonObject[]::new));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    String range = "site=demo&from=2025-03-01&to=2025-03-02";

    JsonObject whole = getOk("/v1/pages?" + range);
    assertTrue(whole.containsKey("next") && whole.getValue("next") == null, "all of it, nothing more: " + whole);
    List<JsonObject> answers = new ArrayList<>();
    List<String> all = List.of("2025-03-01 /pg/a", "2025-03-01 /pg/d", "2025-03-01 /pg/b", "2025-03-01 /pg/c",
        "2025-03-02 /pg/e");
    assertEquals(all, walkPages(range + "&limit=2", answers));
    assertEquals(3, answers.size());
    assertEquals(2, answers.get(0).getJsonArray("pages").size());
    assertEquals(whole.getJsonArray("pages").getJsonObject(0), answers.get(0).getJsonArray("pages").getJsonObject(0),
        "the rows as a whole answer has them");
    assertEquals(all, walkPages(range + "&limit=1", new ArrayList<>()), "ties of views split between answers");
    answers.clear();
    assertEquals(all, walkPages(range + "&limit=5", answers));
    assertEquals(1, answers.size(), "a last answer exactly limit long has no next");
    assertEquals(getOk("/v1/pages?" + range + "&limit=2"), getOk("/v1/pages?" + range + "&limit=2&after=0"),
        "after=0 is the start, as on /v1/events");

    // in page order, views added during the walk move no row across the cursor: /pg/c overtakes /pg/a's 3 views
    JsonObject first = getOk("/v1/pages?" + range + "&order=page&limit=2");
    assertEquals(List.of("/pg/a", "/pg/b"), List.of(first.getJsonArray("pages").getJsonObject(0).getString("pageId"),
        first.getJsonArray("pages").getJsonObject(1).getString("pageId")));
    List<JsonObject> more = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      more.add(at(HttpTestClient.pageView("pg-late-" + i, "/pg/c"), "2025-03-01T11:00:00Z"));
    }
    post(more.toArray(JsonObject[]::new));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    List<String> rest = walkPages(range + "&order=page&limit=2", new ArrayList<>());
    assertEquals(List.of("2025-03-01 /pg/a", "2025-03-01 /pg/b", "2025-03-01 /pg/c", "2025-03-01 /pg/d",
        "2025-03-02 /pg/e"), rest);
    JsonObject second = getOk("/v1/pages?" + range + "&order=page&limit=2&after=" + first.getString("next"));
    assertEquals("/pg/c", second.getJsonArray("pages").getJsonObject(0).getString("pageId"), second.encode());
    assertEquals(5, second.getJsonArray("pages").getJsonObject(0).getLong("views"), second.encode());

    String viewsCursor = getOk("/v1/pages?" + range + "&limit=1").getString("next");
    for (String bad : new String[] {"order=most", "after=nope", "after=" + first.getString("next") + "0",
        "after=" + viewsCursor + "&order=page", "after=" + first.getString("next")}) {
      Response r = gateway.http().getWithReadToken("/v1/pages?" + range + "&" + bad);
      assertEquals(400, r.status(), bad + ": " + r.body());
      assertEquals("invalid_parameter", r.errorCode(), bad);
    }
  }

  @Test
  @DisplayName("an after whose day lies outside from..to, as a walk on the default days (today) that crossed midnight "
      + "UTC sends it, is 400 naming the days, not a walk that goes on with another day's rows from their start")
  void pagesCursorOutsideItsDays() {
    post(at(HttpTestClient.pageView("pd-1", "/pd/a"), "2025-05-01T10:00:00Z"),
        at(HttpTestClient.pageView("pd-1", "/pd/b"), "2025-05-01T10:00:00Z"),
        at(HttpTestClient.pageView("pd-1", "/pd/c"), "2025-05-02T10:00:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    for (String order : new String[] {"views", "page"}) {
      // the first answer of a walk of 2025-05-01 (as today's, before midnight), then the next day's range
      String next = getOk("/v1/pages?site=demo&from=2025-05-01&to=2025-05-01&limit=1&order=" + order)
          .getString("next");
      assertNotNull(next, order);
      for (String days : new String[] {"from=2025-05-02&to=2025-05-02", "from=2025-04-29&to=2025-04-30"}) {
        String message = errorMessage("/v1/pages?site=demo&" + days + "&limit=1&order=" + order + "&after=" + next);
        assertTrue(message.contains("2025-05-01"), message);
      }
      assertEquals("/pd/b", getOk("/v1/pages?site=demo&from=2025-04-30&to=2025-05-02&limit=1&order=" + order
          + "&after=" + next).getJsonArray("pages").getJsonObject(0).getString("pageId"), "a range around it");
    }
  }

  static String errorMessage(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(400, r.status(), path + ": " + r.body());
    assertEquals("invalid_parameter", r.errorCode(), path);
    return r.json().getJsonObject("error").getString("message");
  }

  @Test
  @DisplayName("a range refused is named in the error as the request and its defaults made it, with the one rule "
      + "it breaks")
  void refusedRangesAreNamed() {
    String backwards = errorMessage("/v1/pages?site=demo&from=2026-11-20&to=2026-11-19");
    assertTrue(backwards.contains("2026-11-20") && backwards.contains("2026-11-19"), backwards);
    assertTrue(!backwards.contains("366"), "the range is not too long: " + backwards);
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    String tooLong = errorMessage("/v1/pages?site=demo&from=2020-01-01");
    assertTrue(tooLong.contains("2020-01-01") && tooLong.contains(today) && tooLong.contains("366"), tooLong);
    assertTrue(!tooLong.contains("after"), "from is not after to: " + tooLong);

    String countsTooLong = errorMessage("/v1/event-counts?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z");
    assertTrue(countsTooLong.contains("2026-11-01T00:00:00Z") && countsTooLong.contains("24 hours"), countsTooLong);
    assertTrue(!countsTooLong.contains("before"), countsTooLong);
    String countsBackwards = errorMessage("/v1/event-counts?from=2026-11-01T01:00:00Z&to=2026-11-01T00:00:00Z");
    assertTrue(countsBackwards.contains("2026-11-01T01:00:00Z") && !countsBackwards.contains("24 hours"),
        countsBackwards);
  }

  /**
   * {@code length} characters of four UTF-8 bytes each, none repeating a run of its neighbours: PostgreSQL
   * compresses a long index entry before it measures it, so a repeated character would fit where real text does
   * not.
   */
  static String longest(int length) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < length; i++) {
      s.appendCodePoint(0x20000 + (i * 7919) % 42711);
    }
    return s.toString();
  }

  static String path(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Test
  @DisplayName("the longest page, visitor and form ids allowed, in four-byte characters, reach every read model")
  void longestIdentifiers() {
    String page = longest(2048);
    String visitor = longest(200);
    String form = longest(256);
    post(at(HttpTestClient.pageView(visitor, page), "2026-11-17T08:00:00Z"),
        at(HttpTestClient.pageView(visitor, page), "2026-11-17T09:00:00Z"),
        at(HttpTestClient.pageView("long-2", page), "2026-11-17T10:00:00Z"),
        at(HttpTestClient.formSubmission(visitor, form, new JsonObject().put("f", "v")), "2026-11-17T11:00:00Z"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    assertEquals(0, gateway.http().getWithAdminToken("/v1/admin/dead-letters").json().getJsonArray("deadLetters")
        .size(), "no event was set aside");
    assertEquals(new JsonArray().add(new JsonObject().put("pageId", page).put("day", "2026-11-17").put("views", 3)
            .put("uniqueVisitors", 2)),
        getOk("/v1/pages?site=demo&from=2026-11-17&to=2026-11-17").getJsonArray("pages"));
    JsonObject activity = getOk("/v1/visitors/" + path(visitor));
    assertEquals(visitor, activity.getString("streamId"));
    assertEquals(2, activity.getLong("pageViews"));
    assertEquals(page, activity.getString("lastPage"));
    JsonArray submissions = getOk("/v1/forms/" + path(form) + "/submissions").getJsonArray("submissions");
    assertEquals(1, submissions.size());
    assertEquals(visitor, submissions.getJsonObject(0).getString("streamId"));
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("form submissions are listed newest first, a page at a time, with their fields")
  void formSubmissions() {
    for (int i = 0; i < 5; i++) {
      post(HttpTestClient.formSubmission("fs-" + i, "newsletter", new JsonObject().put("n", String.valueOf(i))));
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject first = getOk("/v1/forms/newsletter/submissions?limit=2");
    JsonArray page1 = first.getJsonArray("submissions");
    assertEquals("4", page1.getJsonObject(0).getJsonObject("fields").getString("n"));
    assertEquals("3", page1.getJsonObject(1).getJsonObject("fields").getString("n"));
    assertEquals("fs-4", page1.getJsonObject(0).getString("streamId"));
    JsonObject second = getOk("/v1/forms/newsletter/submissions?limit=2&after=" + first.getLong("next"));
    assertEquals("2", second.getJsonArray("submissions").getJsonObject(0).getJsonObject("fields").getString("n"));
    JsonObject third = getOk("/v1/forms/newsletter/submissions?limit=2&after=" + second.getLong("next"));
    assertEquals(1, third.getJsonArray("submissions").size());
    assertNull(third.getLong("next"), "nothing older");
    JsonObject lastFull = getOk("/v1/forms/newsletter/submissions?limit=3&after=" + page1.getJsonObject(1)
        .getLong("position"));
    assertEquals(3, lastFull.getJsonArray("submissions").size());
    assertNull(lastFull.getLong("next"), "a last page that is exactly full has nothing older either");
    assertEquals(0, getOk("/v1/forms/unknown-form/submissions").getJsonArray("submissions").size());
  }

  @Test
  @DisplayName("form submissions after=0 start at the newest, as no after does, the way after=0 starts /v1/events")
  void formSubmissionsAfterZero() {
    for (int i = 0; i < 3; i++) {
      post(HttpTestClient.formSubmission("fz-" + i, "after-zero", new JsonObject().put("n", String.valueOf(i))));
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    JsonObject newest = getOk("/v1/forms/after-zero/submissions?limit=2");
    assertEquals(newest, getOk("/v1/forms/after-zero/submissions?limit=2&after=0"));
    assertEquals(newest, getOk("/v1/forms/after-zero/submissions?limit=2&after="), "empty is the default too");
    assertEquals("2", newest.getJsonArray("submissions").getJsonObject(0).getJsonObject("fields").getString("n"));
    for (String bad : new String[] {"-1", "x", "1.5"}) {
      Response r = gateway.http().getWithReadToken("/v1/forms/after-zero/submissions?after=" + bad);
      assertEquals(400, r.status(), bad + ": " + r.body());
      assertEquals("invalid_parameter", r.errorCode(), bad);
    }
  }

  @Test
  @DisplayName("event counts per minute add up to the events stored")
  void eventCounts() {
    post(HttpTestClient.pageView("ec-1", "/x"), HttpTestClient.click("ec-1", "y"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    JsonArray counts = getOk("/v1/event-counts").getJsonArray("counts");
    long total = 0;
    for (int i = 0; i < counts.size(); i++) {
      total += counts.getJsonObject(i).getLong("count");
    }
    assertEquals(gateway.db().queryLong("SELECT count(*) FROM events WHERE recorded_at > now() - interval '1 hour'"),
        total);
    JsonObject defaults = getOk("/v1/event-counts?from=&to=&types=");
    assertEquals(20, defaults.getInteger("types"), "empty values are the defaults: " + defaults);
    assertEquals(Duration.ofHours(1), Duration.between(Instant.parse(defaults.getString("from")),
        Instant.parse(defaults.getString("to"))), "the last hour: " + defaults);
    assertEquals("invalid_parameter",
        gateway.http().getWithReadToken("/v1/event-counts?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z")
            .errorCode());
  }

  @Test
  @DisplayName("event counts with only a from= at or after now are the hour from it, not a 400 for a to of now "
      + "before it; a from= alone before now still ends now")
  void eventCountsFromAlone() {
    Instant ahead = Instant.now().plus(Duration.ofHours(2)).truncatedTo(ChronoUnit.MINUTES);
    JsonObject later = getOk("/v1/event-counts?from=" + ahead);
    assertEquals(ahead.toString(), later.getString("from"), later.encode());
    assertEquals(ahead.plus(Duration.ofHours(1)).toString(), later.getString("to"), later.encode());
    assertEquals(0, later.getJsonArray("counts").size());
    JsonObject recent = getOk("/v1/event-counts?from=" + Instant.now().minus(Duration.ofMinutes(30)) + "&to=");
    Instant to = Instant.parse(recent.getString("to"));
    assertTrue(to.isAfter(Instant.now().minus(Duration.ofMinutes(1))) && to.isBefore(Instant.now().plusSeconds(120)),
        "the minute after now: " + recent);
  }

  @Test
  @DisplayName("event counts name the types with the most events (?types=, default 20, at most 100) and sum the "
      + "others per minute under a null type: clients choose custom type names, the answer stays bounded")
  void eventCountsFoldRareTypes() {
    // 30 types in one minute of a past hour, type-01 with 1 event ... type-30 with 30, and one more minute (rows
    // written directly: no event makes them)
    gateway.db().execute("""
        INSERT INTO event_counts (minute, type, count)
        SELECT '2026-11-01T00:10:00Z'::timestamptz, 'type-' || lpad(g::text, 2, '0'), g FROM generate_series(1, 30) g
        UNION ALL SELECT '2026-11-01T00:11:00Z', 'type-01', 1000""");
    try {
      String range = "from=2026-11-01T00:00:00Z&to=2026-11-01T01:00:00Z";

      JsonObject top5 = getOk("/v1/event-counts?" + range + "&types=5");
      assertEquals(5, top5.getInteger("types"));
      assertEquals(25, top5.getLong("otherTypes"), top5.encode());
      JsonArray counts = top5.getJsonArray("counts");
      List<String> named = new ArrayList<>();
      long other10 = -1;
      for (int i = 0; i < counts.size(); i++) {
        JsonObject c = counts.getJsonObject(i);
        if (c.getString("minute").equals("2026-11-01T00:10:00Z")) {
          if (c.getString("type") == null) {
            other10 = c.getLong("count");
          } else {
            named.add(c.getString("type") + "=" + c.getLong("count"));
          }
        }
      }
      // type-01 leads the range (1,001 events): the top five are it and type-30 to type-27
      assertEquals(List.of("type-01=1", "type-27=27", "type-28=28", "type-29=29", "type-30=30"), named);
      assertEquals(java.util.stream.IntStream.rangeClosed(2, 26).sum(), other10, "type-02 to type-26, summed");
      assertEquals(new JsonObject().put("minute", "2026-11-01T00:11:00Z").put("type", "type-01").put("count", 1000),
          counts.getJsonObject(counts.size() - 1));

      JsonObject all = getOk("/v1/event-counts?" + range + "&types=100");
      assertEquals(0, all.getLong("otherTypes"));
      assertEquals(31, all.getJsonArray("counts").size(), "every type named, none summed");
      assertEquals(20, getOk("/v1/event-counts?" + range).getInteger("types"));
      for (String bad : new String[] {"0", "101", "x"}) {
        assertEquals("invalid_parameter",
            gateway.http().getWithReadToken("/v1/event-counts?" + range + "&types=" + bad).errorCode(), bad);
      }
    } finally {
      // rows no event made: the tests that check the read models against the store must not see them
      gateway.db().execute("DELETE FROM event_counts WHERE minute < '2026-11-02T00:00:00Z'");
    }
  }

  @Test
  @DisplayName("event counts with a from or to a fraction of a microsecond past a minute's start leave out the minute "
      + "from begins inside and keep the one to begins inside, as for any time inside a minute")
  void eventCountsSubMicrosecondBounds() {
    // rows written directly, in a past hour no event reaches
    gateway.db().execute("""
        INSERT INTO event_counts (minute, type, count)
        VALUES ('2026-10-01T00:10:00Z', 'sub-micro', 5), ('2026-10-01T00:11:00Z', 'sub-micro', 7)""");
    try {
      JsonObject counts = getOk("/v1/event-counts?from=2026-10-01T00:10:00.0000001Z&to=2026-10-01T00:11:00.0000001Z");
      assertEquals(new JsonArray().add(new JsonObject().put("minute", "2026-10-01T00:11:00Z").put("type", "sub-micro")
          .put("count", 7)), counts.getJsonArray("counts"), counts.encode());
      assertEquals("2026-10-01T00:10:00.000000100Z", counts.getString("from"), "said back as asked for");
    } finally {
      gateway.db().execute("DELETE FROM event_counts WHERE type = 'sub-micro'");
    }
  }

  @Test
  @DisplayName("the admin list shows every projection running at the store head, and needs the admin token")
  void adminList() {
    post(HttpTestClient.pageView("al-1", "/admin"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    Response r = gateway.http().getWithAdminToken("/v1/admin/projections");
    assertEquals(200, r.status(), r.body());
    JsonArray list = r.json().getJsonArray("projections");
    assertEquals(4, list.size());
    long head = gateway.db().queryLong("SELECT max(position) FROM events");
    for (int i = 0; i < list.size(); i++) {
      JsonObject p = list.getJsonObject(i);
      assertEquals("running", p.getString("state"), p.encode());
      assertEquals(head, p.getLong("checkpoint"), p.encode());
      assertEquals(0, p.getLong("lagEvents"));
      assertEquals(0.0, p.getDouble("lagSeconds"));
      assertNotNull(p.getString("owner"));
    }
    assertEquals(401, gateway.http().getWithReadToken("/v1/admin/projections").status());
    assertEquals(401, gateway.http().send(gateway.http().request("/v1/admin/projections")
        .header("Authorization", "Bearer " + TestGateway.WRITE_KEY).GET()).status());
    assertEquals(401, gateway.http().send(gateway.http().request("/v1/admin/projections").GET()).status());
    assertEquals(401, gateway.http().send(gateway.http().request("/v1/visitors/al-1").GET()).status());
  }

  @Test
  @DisplayName("the retry of a dead letter whose projection is not part of this release is answered 409 naming it, "
      + "and the dead letter stays")
  void retryOfARetiredProjectionsDeadLetter() {
    post(HttpTestClient.pageView("retired-1", "/r"));
    // a projection an earlier release ran, and removed since: its checkpoint and dead letters are still stored
    gateway.db().execute("INSERT INTO projection_checkpoints (name) VALUES ('retired-projection')");
    try {
      long id = gateway.db().queryLong("""
          INSERT INTO dead_letters (projection, position, event_id, error, attempts)
          SELECT 'retired-projection', position, id, 'it failed', 3 FROM events WHERE stream_id = 'retired-1'
          RETURNING id""");
      Response r = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
      assertEquals(409, r.status(), r.body());
      assertEquals("unknown_projection", r.errorCode(), r.body());
      assertTrue(r.json().getJsonObject("error").getString("message").contains("retired-projection"), r.body());
      JsonArray letters = gateway.http().getWithAdminToken("/v1/admin/dead-letters?projection=retired-projection")
          .json().getJsonArray("deadLetters");
      assertEquals(1, letters.size(), "the dead letter stays");
      assertEquals(3, letters.getJsonObject(0).getInteger("attempts"), "no attempt was made");
    } finally {
      gateway.db().execute("DELETE FROM dead_letters WHERE projection = 'retired-projection'");
      gateway.db().execute("DELETE FROM projection_checkpoints WHERE name = 'retired-projection'");
    }
  }

  @Test
  @DisplayName("a dead letter's id in the path is its decimal digits alone: a sign, leading zeros or another "
      + "script's digits name no dead letter (404), and nothing is retried")
  void retryIdIsPlainDigits() {
    post(HttpTestClient.pageView("id-digits-1", "/d"));
    // a retired projection's dead letter: a retry that finds it answers 409 and leaves it as it is
    gateway.db().execute("INSERT INTO projection_checkpoints (name) VALUES ('retired-digits')");
    try {
      long id = gateway.db().queryLong("""
          INSERT INTO dead_letters (projection, position, event_id, error, attempts)
          SELECT 'retired-digits', position, id, 'it failed', 1 FROM events WHERE stream_id = 'id-digits-1'
          RETURNING id""");
      StringBuilder arabicIndic = new StringBuilder();
      String.valueOf(id).chars().forEach(c -> arabicIndic.appendCodePoint('\u0660' + (c - '0')));
      StringBuilder fullWidth = new StringBuilder();
      String.valueOf(id).chars().forEach(c -> fullWidth.appendCodePoint('\uFF10' + (c - '0')));
      for (String other : List.of("+" + id, "0" + id, arabicIndic.toString(), fullWidth.toString())) {
        String path = "/v1/admin/dead-letters/" + URLEncoder.encode(other, StandardCharsets.UTF_8) + "/retry";
        Response r = gateway.http().postWithAdminToken(path);
        assertEquals(404, r.status(), other + ": " + r.body());
        assertEquals("not_found", r.errorCode(), r.body());
      }
      Response found = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
      assertEquals(409, found.status(), found.body());
      assertEquals("unknown_projection", found.errorCode(), found.body());
    } finally {
      gateway.db().execute("DELETE FROM dead_letters WHERE projection = 'retired-digits'");
      gateway.db().execute("DELETE FROM projection_checkpoints WHERE name = 'retired-digits'");
    }
  }

  @Test
  @DisplayName("a rebuild at a quiescent point reproduces every read model exactly")
  void rebuildReproduces() {
    post(HttpTestClient.pageView("rb-1", "/r"), HttpTestClient.formSubmission("rb-1", "rf", new JsonObject()));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
    var before = ReadModelCheck.snapshot(gateway.db());
    for (String name : new String[] {"visitor-activity", "page-stats", "form-submissions", "event-counts"}) {
      Response r = gateway.http().postWithAdminToken("/v1/admin/projections/" + name + "/rebuild");
      assertEquals(202, r.status(), r.body());
      assertEquals("rebuilding", r.json().getString("state"));
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    assertEquals(before, ReadModelCheck.snapshot(gateway.db()));
    assertEquals(404, gateway.http().postWithAdminToken("/v1/admin/projections/nope/rebuild").status());
  }
}
