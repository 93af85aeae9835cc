package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.projection.DifferentialScenario.Request;
import io.flightdeck.gateway.projection.ReadModelReference.Stored;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Differential test of the read models: random events (visitors, pages, two sites, the built-in types and a custom
 * one, occurredAt over four days in any order and offset, ids sent again, single posts and batches, concurrent
 * requests, batches refused whole, rebuilds while events arrive) go through the real gateway, and every read-model
 * answer must equal {@link ReadModelReference}, a fold of the stored events written from docs/API.md alone.
 *
 * <p>jqwik runs no JUnit Jupiter extension, so the class makes its database and gateway itself, one for all tries;
 * each try has streams, forms and days of its own ({@link DifferentialScenario#requests}), while event counts,
 * which are global, are compared with every event the class stored.
 */
class ReadModelsDifferentialIT {

  static final List<String> PROJECTIONS = List.of("visitor-activity", "page-stats", "form-submissions",
      "event-counts");
  static final Duration CATCH_UP = Duration.ofSeconds(30);

  private static TestDatabase db;
  private static TestGateway gateway;
  private static Instant started;
  private static final AtomicInteger TRIES = new AtomicInteger();
  /** Every event the store holds, read back in position order: what event counts are counted from. */
  private static final List<Stored> STORED = new ArrayList<>();
  private static long storeHead;
  /** Each finished try's events, checked again after a rebuild. */
  private static final Map<Integer, List<Stored>> HISTORY = new LinkedHashMap<>();

  @BeforeContainer
  static void start() throws Exception {
    db = PostgresExtension.create(ReadModelsDifferentialIT.class.getSimpleName());
    JsonArray sites = new JsonArray(TestGateway.demoSiteNaming("VideoPlayed"));
    sites.add(new JsonObject().put("id", "shop").put("writeKey", writeKey("shop"))
        .put("allowedOrigins", new JsonArray().add("*"))
        .put("rateLimit", new JsonObject().put("eventsPerSecond", 20000).put("burst", 40000)));
    // small batches and window: a visitor's, page's and minute's events spread over many batches, and a projection
    // behind by more than the window (after a rebuild) reads the store itself
    gateway = TestGateway.start(db, Map.of("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
        "FLIGHTDECK_PROJECTIONS_BATCH_SIZE", "16", "FLIGHTDECK_PROJECTIONS_WINDOW_EVENTS", "64",
        "FLIGHTDECK_SITES", sites.encode()));
    started = Instant.now().truncatedTo(ChronoUnit.MINUTES);
  }

  @AfterContainer
  static void stop() throws Exception {
    try {
      if (gateway != null) {
        gateway.close();
      }
    } finally {
      if (db != null) {
        PostgresExtension.drop(db);
      }
    }
  }

  static String writeKey(String site) {
    return site.equals("demo") ? TestGateway.WRITE_KEY : "shop-write-key";
  }

  @Provide
  Arbitrary<DifferentialScenario> scenarios() {
    return DifferentialScenario.arbitrary();
  }

  @Property(tries = 60, shrinking = ShrinkingMode.BOUNDED, edgeCases = EdgeCasesMode.NONE)
  @Label("every read model answers what a fold of the stored events says, also after a rebuild while events arrive")
  void readModelsEqualAFoldOfTheEvents(@ForAll("scenarios") DifferentialScenario scenario) {
    int n = TRIES.getAndIncrement();
    readStore(); // what an earlier try left unread (one that failed half-way) is not this try's
    Map<String, Outcome> appended = ingest(scenario, scenario.requests(n));
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    List<Stored> mine = readStore();
    assertEquals(appended.keySet(), ids(mine), "the events stored are those answered appended");
    List<Stored> events = new ArrayList<>();
    for (Stored s : mine) {
      Outcome o = appended.get(s.id());
      assertEquals(o.position(), s.position(), "position of " + s.id());
      assertEquals(o.event().getString("streamId"), s.streamId());
      events.add(new Stored(s.id(), s.streamId(), o.site(), s.type(), o.event().getJsonObject("data"),
          occurredAt(o.event().getString("occurredAt")), s.position(), o.streamVersion(), s.recordedAt()));
    }
    Random random = new Random(scenario.salt());
    checkTry(n, events, random, true);
    checkEventCounts(random);
    if (scenario.rebuildAtWave() >= 0) {
      HISTORY.forEach((earlier, stored) -> checkTry(earlier, stored, random, false));
    }
    HISTORY.put(n, events);
  }

  /** An occurredAt as sent, kept to the microsecond: finer digits are cut down (docs/API.md). */
  private static Instant occurredAt(String sent) {
    return OffsetDateTime.parse(sent).toInstant().truncatedTo(ChronoUnit.MICROS);
  }

  /** What one request's answer said of one event it sent. */
  record Outcome(String site, JsonObject event, long position, long streamVersion) {
  }

  /** Sends the requests wave by wave (a wave's requests at once); the events answered appended, by id. */
  private static Map<String, Outcome> ingest(DifferentialScenario scenario, List<Request> requests) {
    Map<String, Outcome> appended = new HashMap<>();
    List<JsonObject> duplicates = new ArrayList<>();
    List<CompletableFuture<Response>> rebuilds = new ArrayList<>();
    List<List<Request>> waves = new ArrayList<>();
    for (int next = 0; next < requests.size(); ) {
      int width = Math.min(scenario.waveWidths().get(waves.size() % scenario.waveWidths().size()),
          requests.size() - next);
      waves.add(requests.subList(next, next + width));
      next += width;
    }
    int rebuildAt = Math.min(scenario.rebuildAtWave(), waves.size() - 1);
    for (int w = 0; w < waves.size(); w++) {
      if (w == rebuildAt) {
        rebuilds.addAll(rebuild(scenario.rebuildMask()));
      }
      List<CompletableFuture<Response>> answers = new ArrayList<>();
      for (Request r : waves.get(w)) {
        answers.add(post(r));
      }
      for (int i = 0; i < answers.size(); i++) {
        outcomes(waves.get(w).get(i), answers.get(i).join(), appended, duplicates);
      }
    }
    for (CompletableFuture<Response> r : rebuilds) {
      Response answer = r.join();
      assertEquals(202, answer.status(), answer.body());
    }
    for (JsonObject d : duplicates) {
      Outcome original = appended.get(d.getString("id"));
      assertTrue(original != null, "a duplicate of an event stored: " + d);
      assertEquals(original.position(), d.getLong("position"), "a duplicate carries the original position");
      assertEquals(original.streamVersion(), d.getLong("streamVersion"), "and its stream version");
    }
    return appended;
  }

  private static void outcomes(Request request, Response answer, Map<String, Outcome> appended,
      List<JsonObject> duplicates) {
    if (request.poisoned()) {
      assertEquals(400, answer.status(), answer.body());
      assertEquals("invalid_event", answer.errorCode());
      return;
    }
    assertEquals(200, answer.status(), answer.body());
    JsonArray results = answer.results();
    assertEquals(request.events().size(), results.size(), answer.body());
    for (int i = 0; i < results.size(); i++) {
      JsonObject result = results.getJsonObject(i);
      if (request.events().get(i).containsKey("id")) {
        assertEquals(request.events().get(i).getString("id"), result.getString("id"));
      }
      if (result.getString("status").equals("appended")) {
        Outcome o = new Outcome(request.site(), request.events().get(i), result.getLong("position"),
            result.getLong("streamVersion"));
        assertNull(appended.put(result.getString("id"), o), "an id appended twice: " + result);
      } else {
        assertEquals("duplicate", result.getString("status"), result.encode());
        duplicates.add(result);
      }
    }
  }

  private static CompletableFuture<Response> post(Request r) {
    String query = r.keyStyle() == 1 ? "?writeKey=" + writeKey(r.site()) : "";
    HttpRequest.Builder post = gateway.http().request("/v1/events" + query)
        .header("Content-Type", r.keyStyle() == 2 ? "text/plain" : "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(r.body().encode()));
    if (r.keyStyle() == 0) {
      post.header("X-Write-Key", writeKey(r.site()));
    }
    return gateway.http().sendAsync(post);
  }

  private static List<CompletableFuture<Response>> rebuild(int mask) {
    List<CompletableFuture<Response>> answers = new ArrayList<>();
    for (int i = 0; i < PROJECTIONS.size(); i++) {
      if ((mask & (1 << i)) != 0) {
        answers.add(gateway.http().sendAsync(gateway.http().request("/v1/admin/projections/" + PROJECTIONS.get(i)
                + "/rebuild").header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
            .POST(HttpRequest.BodyPublishers.noBody())));
      }
    }
    return answers;
  }

  /** The events stored since the last read, following {@code next} of {@code GET /v1/events}. */
  private static List<Stored> readStore() {
    List<Stored> read = new ArrayList<>();
    while (true) {
      JsonObject page = getOk("/v1/events?limit=1000&after=" + storeHead);
      JsonArray events = page.getJsonArray("events");
      if (events.isEmpty()) {
        STORED.addAll(read);
        return read;
      }
      for (int i = 0; i < events.size(); i++) {
        JsonObject e = events.getJsonObject(i);
        read.add(new Stored(e.getString("id"), e.getString("streamId"), e.getJsonObject("metadata").getString("site"),
            e.getString("type"), e.getJsonObject("data"), Instant.parse(e.getString("occurredAt")),
            e.getLong("position"), e.getLong("streamVersion"), Instant.parse(e.getString("recordedAt"))));
      }
      storeHead = page.getLong("next");
    }
  }

  private static Set<String> ids(List<Stored> events) {
    Set<String> ids = new HashSet<>();
    events.forEach(e -> ids.add(e.id()));
    return ids;
  }

  /** Try {@code n}'s visitors (with {@code ?at=} when {@code temporal}), page stats and form submissions. */
  private static void checkTry(int n, List<Stored> events, Random random, boolean temporal) {
    String context = "try " + n + ": ";
    for (int v = 0; v < 6; v++) {
      String stream = DifferentialScenario.stream(n, v);
      assertEquals(canonical(ReadModelReference.visitor(stream, events, null)), visitor(stream, null),
          context + "GET /v1/visitors/" + stream);
      if (temporal) {
        for (Instant at : times(stream, events, random)) {
          String written = written(at, random);
          assertEquals(canonical(ReadModelReference.visitor(stream, events, at)), visitor(stream, written),
              context + "GET /v1/visitors/" + stream + "?at=" + written);
        }
      }
    }
    for (String site : List.of("demo", "shop")) {
      // the try's days, or some of them
      int skip = random.nextInt(2) * random.nextInt(DifferentialScenario.DAYS);
      var from = DifferentialScenario.firstDay(n).plusDays(skip);
      var to = from.plusDays(random.nextInt(DifferentialScenario.DAYS - skip));
      boolean byPage = random.nextBoolean();
      List<JsonObject> expected = ReadModelReference.pages(events, site, from, to, byPage);
      assertEquals(canonical(expected), DifferentialWalks.pages(gateway.http(), site, from, to, byPage,
          limit(random)), context + "GET /v1/pages?site=" + site + (byPage ? "&order=page" : ""));
    }
    for (int f = 0; f < 3; f++) {
      String form = DifferentialScenario.form(n, f) + (f == 2 ? "-none" : "");
      assertEquals(canonical(ReadModelReference.submissions(events, form)),
          DifferentialWalks.submissions(gateway.http(), form, limit(random)), context + "submissions of " + form);
    }
  }

  private static int limit(Random random) {
    return List.of(1, 2, 3, 7, 100).get(random.nextInt(5));
  }

  /**
   * Some times to fold the stream at: its events' recordedAt, a time between two of them, just before the first,
   * and far ahead.
   */
  private static List<Instant> times(String stream, List<Stored> events, Random random) {
    List<Instant> recorded = events.stream().filter(e -> e.streamId().equals(stream)).map(Stored::recordedAt)
        .distinct().sorted().toList();
    List<Instant> times = new ArrayList<>();
    for (int i = 0; i < Math.min(3, recorded.size()); i++) {
      times.add(recorded.get(random.nextInt(recorded.size())));
    }
    if (recorded.size() > 1) {
      int i = random.nextInt(recorded.size() - 1);
      Duration gap = Duration.between(recorded.get(i), recorded.get(i + 1));
      times.add(recorded.get(i).plus(gap.dividedBy(2)).truncatedTo(ChronoUnit.MICROS));
    }
    recorded.stream().findFirst().ifPresent(first -> times.add(first.minusNanos(1000)));
    if (!recorded.isEmpty()) { // a fraction of a microsecond before an event: it is not folded yet
      times.add(recorded.get(random.nextInt(recorded.size())).minusNanos(1 + random.nextInt(999)));
    }
    times.add(Instant.parse("2100-01-01T00:00:00Z"));
    return times;
  }

  /** {@code at} as a client may write it: in UTC, or at another offset with its '+' escaped or sent as such. */
  private static String written(Instant at, Random random) {
    return switch (random.nextInt(3)) {
      case 0 -> at.toString();
      case 1 -> at.atOffset(ZoneOffset.ofHours(2)).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
      default -> at.atOffset(ZoneOffset.ofHoursMinutes(-4, -30)).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    };
  }

  /** The visitor as answered, its times as instants; null for 404. */
  private static JsonObject visitor(String stream, String at) {
    String path = "/v1/visitors/" + URLEncoder.encode(stream, StandardCharsets.UTF_8).replace("+", "%20")
        + (at == null ? "" : "?at=" + at);
    Response r = gateway.http().getWithReadToken(path);
    if (r.status() == 404) {
      assertEquals("not_found", r.errorCode());
      return null;
    }
    assertEquals(200, r.status(), path + ": " + r.body());
    JsonObject v = r.json();
    if (at != null) {
      assertEquals(at, v.remove("at"), path);
    }
    v.put("firstSeen", Instant.parse(v.getString("firstSeen")).toString());
    v.put("lastSeen", Instant.parse(v.getString("lastSeen")).toString());
    return v;
  }

  /** Event counts over every minute of the class: with every type named, and with only the few most counted. */
  private static void checkEventCounts(Random random) {
    // the minutes that begin in [from, to): from the class's first minute, or from inside it (seconds or a fraction
    // of a microsecond past its start), which leaves it out; to the end of this minute, or inside this one
    Instant now = Instant.now().truncatedTo(ChronoUnit.MINUTES);
    Instant from = switch (random.nextInt(3)) {
      case 0 -> started;
      case 1 -> started.plusSeconds(random.nextInt(60));
      default -> started.plusNanos(1 + random.nextInt(999));
    };
    Instant inside = now.plusNanos(1 + random.nextInt(999));
    Instant to = random.nextBoolean() && inside.isAfter(from) ? inside : now.plus(1, ChronoUnit.MINUTES);
    Map<String, Map<String, Long>> expected = ReadModelReference.counts(STORED, from, to);
    String range = "/v1/event-counts?from=" + from + "&to=" + to;
    JsonObject all = getOk(range + "&types=100");
    assertEquals(0L, all.getLong("otherTypes"), all.encode());
    assertEquals(expected, DifferentialWalks.counts(all), "GET " + range + "&types=100");
    int types = 1 + random.nextInt(3);
    JsonObject top = getOk(range + "&types=" + types);
    DifferentialWalks.assertTopTypes(expected, types, top);
  }

  static JsonObject getOk(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(200, r.status(), path + ": " + r.body());
    return r.json();
  }

  /** {@code value} as parsed JSON, so numbers compare as an answer's do. */
  static JsonObject canonical(JsonObject value) {
    return value == null ? null : new JsonObject(value.encode());
  }

  static List<JsonObject> canonical(List<JsonObject> values) {
    return values.stream().map(ReadModelsDifferentialIT::canonical).toList();
  }
}
