package io.flightdeck.gateway.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.SseTestClient.Message;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GET /v1/live as a subscriber sees it, over a real HTTP connection. */
@ExtendWith(PostgresExtension.class)
class LiveIT {

  static final Duration WAIT = Duration.ofSeconds(15);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  static JsonArray post(JsonObject... events) {
    return gateway.http().postBatch(events);
  }

  @Test
  @DisplayName("a subscriber receives each new event with its position as id, its type as event and its envelope")
  void delivers() throws Exception {
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live", Map.of())) {
      assertEquals(200, sse.status());
      assertTrue(sse.header("Content-Type").startsWith("text/event-stream"));
      assertEquals("no-cache, no-transform", sse.header("Cache-Control"));
      assertEquals("no", sse.header("X-Accel-Buffering"));
      assertEquals("connected", sse.nextComment(WAIT));
      JsonObject view = HttpTestClient.pageView("live-1", "/live");
      JsonArray results = post(view, HttpTestClient.click("live-1", "go"));
      List<Message> got = sse.take(2, WAIT);
      assertEquals(String.valueOf(results.getJsonObject(0).getLong("position")), got.get(0).id());
      assertEquals("PageViewed", got.get(0).event());
      JsonObject envelope = new JsonObject(got.get(0).data());
      assertEquals(view.getString("id"), envelope.getString("id"));
      assertEquals(2, envelope.getInteger("schemaVersion"), "the current version, as every reader sees it");
      assertEquals("ButtonClicked", got.get(1).event());
      assertEquals(List.of("2000"), sse.retries());
    }
  }

  @Test
  @DisplayName("filters by type, stream and site deliver only the matching events")
  void filters() throws Exception {
    try (SseTestClient clicks = SseTestClient.open(gateway.get(), "/v1/live?types=ButtonClicked", Map.of());
         SseTestClient stream = SseTestClient.open(gateway.get(), "/v1/live?streams=flt-b,flt-c", Map.of());
         SseTestClient site = SseTestClient.open(gateway.get(), "/v1/live?site=elsewhere", Map.of())) {
      post(HttpTestClient.pageView("flt-a", "/p"), HttpTestClient.click("flt-a", "b1"),
          HttpTestClient.pageView("flt-b", "/q"), HttpTestClient.click("flt-c", "b2"));
      List<Message> c = clicks.take(2, WAIT);
      assertEquals(List.of("ButtonClicked", "ButtonClicked"), List.of(c.get(0).event(), c.get(1).event()));
      List<Message> s = stream.take(2, WAIT);
      assertEquals("flt-b", new JsonObject(s.get(0).data()).getString("streamId"));
      assertEquals("flt-c", new JsonObject(s.get(1).data()).getString("streamId"));
      assertEquals(null, site.next(Duration.ofMillis(500)), "no event of another site");
      assertTrue(clicks.drain().isEmpty());
    }
  }

  @Test
  @DisplayName("?stream= and ?type=, repeatable, select ids and types exactly as sent, commas and edge spaces "
      + "included, alone or with the comma-separated lists")
  void exactFilters() throws Exception {
    String comma = "exa,1";
    String spaced = " exa-2 ";
    try (SseTestClient exact = SseTestClient.open(gateway.get(),
        "/v1/live?stream=exa%2C1&stream=%20exa-2%20", Map.of());
         SseTestClient mixed = SseTestClient.open(gateway.get(),
             "/v1/live?streams=exa-3&stream=exa%2C1&type=ButtonClicked", Map.of())) {
      post(HttpTestClient.pageView(comma, "/a"), HttpTestClient.pageView("exa", "/b"),
          HttpTestClient.pageView("1", "/c"), HttpTestClient.pageView(spaced, "/d"),
          HttpTestClient.pageView("exa-2", "/e"), HttpTestClient.click("exa-3", "b3"),
          HttpTestClient.pageView("exa-3", "/f"), HttpTestClient.click(comma, "b1"));
      List<Message> e = exact.take(3, WAIT);
      assertEquals(List.of(comma, spaced, comma), e.stream()
          .map(m -> new JsonObject(m.data()).getString("streamId")).toList());
      List<Message> m = mixed.take(2, WAIT);
      assertEquals(List.of("exa-3", comma),
          m.stream().map(x -> new JsonObject(x.data()).getString("streamId")).toList());
      assertEquals(List.of("ButtonClicked", "ButtonClicked"), m.stream().map(Message::event).toList());
      assertEquals(null, exact.next(Duration.ofMillis(300)), "no other stream");
      assertTrue(mixed.drain().isEmpty());
    }
    assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live?stream=", Map.of()).status());
    assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live?type=A%00", Map.of()).status());
    String many = IntStream.range(0, 60).mapToObj(i -> "s" + i).collect(Collectors.joining(","));
    String more = IntStream.range(0, 41).mapToObj(i -> "stream=t" + i).collect(Collectors.joining("&"));
    assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live?streams=" + many + "&" + more, Map.of()).status(),
        "101 values together");
  }

  @Test
  @DisplayName("Last-Event-ID resumes right after that position, then goes on live, without gap or duplicate")
  void resumes() throws Exception {
    JsonArray first = post(HttpTestClient.pageView("res-1", "/1"), HttpTestClient.pageView("res-1", "/2"),
        HttpTestClient.pageView("res-1", "/3"));
    long afterFirst = first.getJsonObject(0).getLong("position");
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=res-1",
        Map.of("Last-Event-ID", String.valueOf(afterFirst)))) {
      List<Message> missed = sse.take(2, WAIT);
      assertEquals(String.valueOf(first.getJsonObject(1).getLong("position")), missed.get(0).id());
      assertEquals(String.valueOf(first.getJsonObject(2).getLong("position")), missed.get(1).id());
      JsonArray later = post(HttpTestClient.pageView("res-1", "/4"));
      assertEquals(String.valueOf(later.getJsonObject(0).getLong("position")), sse.take(1, WAIT).get(0).id());
      assertEquals(null, sse.next(Duration.ofMillis(300)));
    }
    try (SseTestClient query = SseTestClient.open(gateway.http().base(),
        "/v1/live?streams=res-1&lastEventId=0&access_token=" + TestGateway.READ_TOKEN, Map.of())) {
      assertEquals(4, query.take(4, WAIT).size(), "the query form and the access_token work for browsers");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"a million past the head", "the largest position"})
  @DisplayName("a Last-Event-ID beyond the store's last event (a store restored from an older backup) resumes from "
      + "the last event, so the next event committed reaches the client and its greeting names the last event")
  void resumeBeyondTheHeadStartsAtTheHead(String where) throws Exception {
    long head = post(HttpTestClient.pageView("beyond-0", "/before")).getJsonObject(0).getLong("position");
    String resumeAt = String.valueOf(where.startsWith("a million") ? head + 1_000_000 : Long.MAX_VALUE);
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=beyond-1",
        Map.of("Last-Event-ID", resumeAt))) {
      assertEquals(200, sse.status());
      assertEquals("connected", sse.nextComment(WAIT));
      JsonArray later = post(HttpTestClient.pageView("beyond-1", "/after"));
      Message m = sse.next(WAIT);
      assertNotNull(m, "the event committed after the resume (resumed at " + resumeAt + ", head " + head + ")");
      assertEquals(String.valueOf(later.getJsonObject(0).getLong("position")), m.id());
      assertEquals(null, sse.next(Duration.ofMillis(300)), "nothing else");
    }
    try (SseTestClient greeted = SseTestClient.open(gateway.get(), "/v1/live?streams=beyond-1",
        Map.of("Last-Event-ID", resumeAt))) {
      assertEquals("connected", greeted.nextComment(WAIT));
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (greeted.lastEventId().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      long greeting = Long.parseLong(greeted.lastEventId());
      assertTrue(greeting > head && greeting < head + 1_000_000,
          "the greeting's id is the store's last event, not " + greeting);
    }
  }

  @Test
  @DisplayName("a subscriber that loses its stream before any event matched resumes as EventSource does and gets "
      + "what was committed meanwhile: the stream's greeting gives it a Last-Event-ID")
  void reconnectBeforeAnyEventLosesNothing() throws Exception {
    String lastEventId;
    try (SseTestClient first = SseTestClient.open(gateway.get(), "/v1/live?streams=quiet-1", Map.of())) {
      assertEquals("connected", first.nextComment(WAIT));
      // the blank line that ends the greeting follows its comment at once
      long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
      while (first.lastEventId().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      lastEventId = first.lastEventId();
    }
    // committed while the subscriber is away (a dropped connection, a cut-off, a gateway restart)
    JsonArray meanwhile = post(HttpTestClient.pageView("quiet-1", "/while-away"));
    // EventSource sends Last-Event-ID on its reconnect only when it has one
    Map<String, String> resume = lastEventId.isEmpty() ? Map.of() : Map.of("Last-Event-ID", lastEventId);
    try (SseTestClient again = SseTestClient.open(gateway.get(), "/v1/live?streams=quiet-1", resume)) {
      Message m = again.next(WAIT);
      assertNotNull(m, "the event committed between the two streams (resumed with '" + lastEventId + "')");
      assertEquals(String.valueOf(meanwhile.getJsonObject(0).getLong("position")), m.id());
    }
  }

  @Test
  @DisplayName("a type with a line break (another writer's row) cannot forge SSE fields or messages: its event goes "
      + "out unnamed, with the type as stored in its data")
  void typeWithLineBreakIsNotAField() throws Exception {
    String forged = "Odd\ndata: {\"forged\":true}\n\nid: 999999999\nevent: Forged";
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=forge-1", Map.of())) {
      assertEquals("connected", sse.nextComment(WAIT));
      gateway.db().execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          VALUES (gen_random_uuid(), 'forge-1', 1, ?, 1, '{}'::jsonb, '{}'::jsonb, now())""", forged);
      JsonArray after = post(HttpTestClient.pageView("forge-1", "/after"));
      List<Message> got = sse.take(2, WAIT);
      assertEquals(null, got.get(0).event(), "no event name");
      assertEquals(forged, new JsonObject(got.get(0).data()).getString("type"));
      assertEquals(String.valueOf(after.getJsonObject(0).getLong("position")), got.get(1).id());
      assertEquals("PageViewed", got.get(1).event());
      assertEquals(null, sse.next(Duration.ofMillis(300)), "nothing forged");
    }
  }

  @Test
  @DisplayName("the live feed needs the read token and refuses a malformed Last-Event-ID or a NUL in a filter")
  void auth() {
    assertEquals(401, SseTestClient.open(gateway.http().base(), "/v1/live", Map.of()).status());
    assertEquals(401, SseTestClient.open(gateway.http().base(), "/v1/live",
        Map.of("Authorization", "Bearer " + TestGateway.WRITE_KEY)).status());
    assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live", Map.of("Last-Event-ID", "abc")).status());
    assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live?types=", Map.of()).status());
    for (String filter : new String[] {"types=A%00", "streams=s%00", "site=%00"}) {
      assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live?" + filter, Map.of()).status(), filter);
    }
  }

  @Test
  @DisplayName("a Last-Event-ID that is not plain ASCII digits (other scripts' digits, a sign) is 400, not a position")
  void lastEventIdIsAsciiDigits() {
    // Arabic-Indic 3, fullwidth 5: Long.parseLong reads any script's digits
    for (String query : new String[] {"lastEventId=%D9%A3", "lastEventId=%EF%BC%95", "lastEventId=%2B5"}) {
      SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?" + query, Map.of());
      try (sse) {
        assertEquals(400, sse.status(), query);
      }
    }
    SseTestClient signed = SseTestClient.open(gateway.get(), "/v1/live", Map.of("Last-Event-ID", "+5"));
    try (signed) {
      assertEquals(400, signed.status(), "a sign");
    }
  }

  @Test
  @DisplayName("?unnamed=true sends each message without its event line, live and when resuming, so a browser's "
      + "EventSource hands every type to onmessage; a value other than true or false is 400")
  void unnamed() throws Exception {
    JsonArray before = post(HttpTestClient.pageView("unn-1", "/1"), HttpTestClient.click("unn-1", "b"));
    String resumeAt = String.valueOf(before.getJsonObject(0).getLong("position") - 1);
    try (SseTestClient resumed = SseTestClient.open(gateway.get(), "/v1/live?unnamed=true&streams=unn-1",
        Map.of("Last-Event-ID", resumeAt));
         // unfiltered, from after the events before: once caught up, live batches take the path of unfiltered streams
         SseTestClient all = SseTestClient.open(gateway.get(), "/v1/live?unnamed=true",
             Map.of("Last-Event-ID", String.valueOf(before.getJsonObject(1).getLong("position"))))) {
      assertEquals("connected", all.nextComment(WAIT));
      List<Message> caughtUp = resumed.take(2, WAIT);
      JsonArray live = post(HttpTestClient.pageView("unn-1", "/2"));
      List<Message> got = new ArrayList<>(caughtUp);
      got.addAll(resumed.take(1, WAIT));
      got.addAll(all.take(1, WAIT));
      for (Message m : got) {
        assertEquals(null, m.event(), "no event name: " + m);
      }
      assertEquals(List.of("PageViewed", "ButtonClicked", "PageViewed", "PageViewed"),
          got.stream().map(m -> new JsonObject(m.data()).getString("type")).toList());
      assertEquals(String.valueOf(before.getJsonObject(1).getLong("position")), got.get(1).id());
      assertEquals(String.valueOf(live.getJsonObject(0).getLong("position")), got.get(3).id());
    }
    try (SseTestClient named = SseTestClient.open(gateway.get(), "/v1/live?unnamed=false&streams=unn-1",
        Map.of("Last-Event-ID", resumeAt))) {
      assertEquals("PageViewed", named.take(1, WAIT).get(0).event(), "false is the default: named");
    }
    assertEquals(400, SseTestClient.open(gateway.get(), "/v1/live?unnamed=yes", Map.of()).status());
  }
}
