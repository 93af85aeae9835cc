package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The engine's guarantees under stress: late commits, failing applies, rebuilds while ingest goes on, lost
 * notifications, and first tries ({@link Projection#applyFirstTry}: a runner's first try at a batch inserts the rows
 * of visitors whose first event is in it without a conflict check). Every test ends by comparing each read model
 * with the store.
 */
@ExtendWith(PostgresExtension.class)
class ProjectionEngineIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);
  /** The day of the first-try tests' page views: no other test's. */
  static final String DAY = "2026-01-15";

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_PROJECTIONS_BATCH_SIZE", "100",
      "FLIGHTDECK_PROJECTIONS_MAX_ATTEMPTS", "3",
      "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "300",
      "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "600"));

  static void post(JsonObject... events) {
    gateway.http().postBatch(events);
  }

  /** Writes events straight into the store, each transaction pausing a random while before its commit. */
  static int writeWithPauses(String writer, int transactions) throws SQLException {
    int written = 0;
    try (Connection c = gateway.db().connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement insert = c.prepareStatement("""
              INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
              VALUES (?::uuid, ?, ?, 'PageViewed', 1, jsonb_build_object('pageId', ?::text),
                      '{"site": "demo"}'::jsonb, now())""");
           Statement pause = c.createStatement()) {
        for (int t = 0; t < transactions; t++) {
          int rows = 1 + ThreadLocalRandom.current().nextInt(3);
          for (int r = 0; r < rows; r++) {
            insert.setString(1, UUID.randomUUID().toString());
            insert.setString(2, writer);
            insert.setLong(3, written + 1);
            insert.setString(4, "/late/" + (written % 7));
            insert.executeUpdate();
            written++;
          }
          pause.execute("SELECT pg_sleep(" + ThreadLocalRandom.current().nextInt(30) / 1000.0 + ")");
          c.commit();
        }
      }
    }
    return written;
  }

  @Test
  @DisplayName("with writers pausing before their commits, every projection applies every event exactly once")
  void lateCommits() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<Integer>> writers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        String stream = "late-writer-" + w + "-" + UUID.randomUUID();
        writers.add(pool.submit(() -> writeWithPauses(stream, 40)));
      }
      for (int h = 0; h < 2; h++) {
        int lane = h;
        writers.add(pool.submit(() -> {
          for (int i = 0; i < 30; i++) {
            post(HttpTestClient.pageView("late-http-" + lane, "/late/http"),
                HttpTestClient.click("late-http-" + lane, "b" + i));
          }
          return 60;
        }));
      }
      long total = 0;
      for (Future<Integer> w : writers) {
        total += w.get();
      }
      assertTrue(total >= 200);
    } finally {
      pool.shutdownNow();
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("an event that keeps failing goes to the dead letters, the projection moves on, and a retry applies it")
  void deadLetters() {
    gateway.db().execute("ALTER TABLE visitor_activity ADD CONSTRAINT no_poison CHECK (stream_id NOT LIKE 'poison%')");
    try {
      JsonObject poison = HttpTestClient.pageView("poison-1", "/bad");
      post(HttpTestClient.pageView("dl-good-1", "/ok"), poison, HttpTestClient.pageView("dl-good-2", "/ok"));
      Awaitility.await("visitor-activity failing").atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
          .until(() -> "failing".equals(gateway.http().projectionStatus("visitor-activity").getString("state")));
      assertTrue(gateway.http().projectionStatus("visitor-activity").getString("lastError").contains("no_poison"));
      ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

      JsonObject status = gateway.http().projectionStatus("visitor-activity");
      assertEquals("running", status.getString("state"), status.encode());
      assertEquals(1, status.getLong("deadLetters"));
      assertEquals(200, gateway.http().getWithReadToken("/v1/visitors/dl-good-1").status());
      assertEquals(200, gateway.http().getWithReadToken("/v1/visitors/dl-good-2").status(), "the event after it");
      assertEquals(404, gateway.http().getWithReadToken("/v1/visitors/poison-1").status());

      JsonArray letters = gateway.http().getWithAdminToken("/v1/admin/dead-letters?projection=visitor-activity")
          .json().getJsonArray("deadLetters");
      assertEquals(1, letters.size());
      JsonObject letter = letters.getJsonObject(0);
      assertEquals(poison.getString("id"), letter.getString("eventId"));
      assertEquals(3, letter.getInteger("attempts"));
      assertTrue(letter.getString("error").contains("no_poison"), letter.encode());
      long id = letter.getLong("id");

      Response again = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
      assertEquals(409, again.status(), again.body());
      assertEquals("apply_failed", again.errorCode());
      assertEquals(4, gateway.http().getWithAdminToken("/v1/admin/dead-letters").json().getJsonArray("deadLetters")
          .getJsonObject(0).getInteger("attempts"), "the failed retry counts as an attempt");
    } finally {
      gateway.db().execute("ALTER TABLE visitor_activity DROP CONSTRAINT no_poison");
    }
    // the visitor's next event makes its row; the retry of its first event, older, adds to that row
    post(HttpTestClient.pageView("poison-1", "/fixed"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    assertEquals(1, gateway.http().getWithReadToken("/v1/visitors/poison-1").json().getLong("pageViews"));
    long id = gateway.http().getWithAdminToken("/v1/admin/dead-letters").json().getJsonArray("deadLetters")
        .getJsonObject(0).getLong("id");
    Response retried = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
    assertEquals(200, retried.status(), retried.body());
    assertEquals("applied", retried.json().getString("status"));
    JsonObject visitor = gateway.http().getWithReadToken("/v1/visitors/poison-1").json();
    assertEquals(2, visitor.getLong("pageViews"), visitor.encode());
    assertEquals("/fixed", visitor.getString("lastPage"), "the later event's page stays the last");
    assertEquals(0, gateway.http().getWithAdminToken("/v1/admin/dead-letters").json().getJsonArray("deadLetters")
        .size());
    assertEquals(404, gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry").status());
    assertEquals(0, gateway.http().projectionStatus("visitor-activity").getLong("deadLetters"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("a page view retried from the dead letters after a later click of its visitor becomes the last page")
  void retriedPageViewAfterLaterClick() {
    post(HttpTestClient.pageView("dl-page-1", "/start"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    gateway.db().execute("ALTER TABLE visitor_activity ADD CONSTRAINT no_poison_page CHECK (last_page <> '/poison')");
    try {
      post(HttpTestClient.pageView("dl-page-1", "/poison"));
      Awaitility.await("the page view set aside").atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
          .until(() -> gateway.http().projectionStatus("visitor-activity").getLong("deadLetters") == 1);
    } finally {
      gateway.db().execute("ALTER TABLE visitor_activity DROP CONSTRAINT no_poison_page");
    }
    post(HttpTestClient.click("dl-page-1", "buy"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    assertEquals("/start", gateway.http().getWithReadToken("/v1/visitors/dl-page-1").json().getString("lastPage"));

    long id = gateway.http().getWithAdminToken("/v1/admin/dead-letters?projection=visitor-activity").json()
        .getJsonArray("deadLetters").getJsonObject(0).getLong("id");
    Response retried = gateway.http().postWithAdminToken("/v1/admin/dead-letters/" + id + "/retry");
    assertEquals(200, retried.status(), retried.body());
    JsonObject visitor = gateway.http().getWithReadToken("/v1/visitors/dl-page-1").json();
    assertEquals("/poison", visitor.getString("lastPage"), "no page view came after it: " + visitor.encode());
    assertEquals(2, visitor.getLong("pageViews"));
    assertEquals(visitor.getString("lastPage"), gateway.http()
        .getWithReadToken("/v1/visitors/dl-page-1?at=2100-01-01T00:00:00Z").json().getString("lastPage"),
        "the projection and the fold of the store agree");
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("a rebuild while ingest goes on ends with every read model equal to the store")
  void rebuildDuringIngest() throws Exception {
    for (int i = 0; i < 20; i++) {
      post(HttpTestClient.pageView("rbi-" + (i % 5), "/before/" + (i % 3)),
          HttpTestClient.formSubmission("rbi-" + (i % 5), "rbi-form", new JsonObject().put("i", "" + i)));
    }
    AtomicBoolean ingesting = new AtomicBoolean(true);
    ExecutorService pool = Executors.newSingleThreadExecutor();
    Future<Integer> ingest = pool.submit(() -> {
      int n = 0;
      while (ingesting.get()) {
        post(HttpTestClient.pageView("rbi-" + (n % 7), "/during/" + (n % 4)), HttpTestClient.click("rbi-x", "c"));
        n++;
      }
      return n;
    });
    try {
      for (String name : new String[] {"visitor-activity", "page-stats", "form-submissions", "event-counts"}) {
        Response r = gateway.http().postWithAdminToken("/v1/admin/projections/" + name + "/rebuild");
        assertEquals(202, r.status(), r.body());
        assertNotNull(r.json().getLong("rebuildTarget"));
      }
      Awaitility.await("rebuilds done").atMost(CATCH_UP).pollInterval(Duration.ofMillis(50)).until(() ->
          gateway.http().getWithAdminToken("/v1/admin/projections").json().getJsonArray("projections").stream()
              .allMatch(p -> ((JsonObject) p).getString("state").equals("running")));
    } finally {
      ingesting.set(false);
      assertTrue(ingest.get() > 0);
      pool.shutdownNow();
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("projections keep up when the LISTEN connection is killed, and pick up what was missed")
  void listenerKilled() {
    long killed = gateway.db().queryLong("""
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE application_name = 'flightdeck-listen' AND datname = current_database()""");
    assertEquals(1, killed);
    for (int i = 0; i < 10; i++) {
      post(HttpTestClient.pageView("lk-1", "/while-deaf/" + i));
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    assertEquals(10, gateway.http().getWithReadToken("/v1/visitors/lk-1").json().getLong("pageViews"));
    Awaitility.await("LISTEN again").atMost(CATCH_UP).until(() -> gateway.db().queryLong("""
        SELECT count(*) FROM pg_stat_activity
        WHERE application_name = 'flightdeck-listen' AND datname = current_database()""") == 1);
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("a projection whose connection is killed resumes from its checkpoint without double counting")
  void runnerConnectionKilled() {
    for (int i = 0; i < 30; i++) {
      post(HttpTestClient.pageView("rk-" + (i % 3), "/rk"), HttpTestClient.click("rk-" + (i % 3), "k"));
      if (i % 10 == 5) {
        gateway.db().queryLong("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE application_name LIKE 'flightdeck-projection-%' AND datname = current_database()""");
      }
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
    Awaitility.await("running again").atMost(CATCH_UP).until(() ->
        gateway.http().getWithAdminToken("/v1/admin/projections").json().getJsonArray("projections").stream()
            .allMatch(p -> ((JsonObject) p).getString("state").equals("running")));
  }

  static JsonObject view(String stream, String page) {
    return HttpTestClient.pageView(stream, page).put("occurredAt", DAY + "T10:00:00Z");
  }

  /** Dead letters of the events of streams whose ids start so. */
  static long deadLetterRows(String streamPrefix) {
    return gateway.db().queryLong("""
        SELECT count(*) FROM dead_letters d JOIN events e ON e.position = d.position
        WHERE starts_with(e.stream_id, ?)""", streamPrefix);
  }

  @Test
  @DisplayName("batches that mix new visitors, known ones and a new visitor's several events build what the store says")
  void mixedBatches() {
    gateway.http().postBatch(view("known-1", "/a"), view("known-2", "/a"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    // known visitors again (one on a page it saw, one on a new page) next to new visitors, one of them twice
    gateway.http().postBatch(view("known-1", "/a"), view("known-2", "/b"), view("new-1", "/a"), view("new-1", "/a"),
        view("new-1", "/b"), view("new-2", "/b"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
    assertEquals(0, deadLetterRows("known-") + deadLetterRows("new-"));
    String uniques = "SELECT unique_visitors FROM page_stats WHERE page_id = ? AND day = ?::date";
    assertEquals(3, gateway.db().queryLong(uniques, "/a", DAY));
    assertEquals(3, gateway.db().queryLong(uniques, "/b", DAY));
  }

  @Test
  @DisplayName("a row already there for a visitor's first event costs one failed try and is added to, no dead letter")
  void rowsWrittenByHand() {
    // rows the projections would never have written: the visitor's first event is not applied yet
    gateway.db().execute("""
        INSERT INTO visitor_activity (stream_id, site, first_seen, last_seen, page_views, last_position)
        VALUES ('squatter', 'demo', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 5, 0)""");
    gateway.db().execute("INSERT INTO page_visitors (site, page_id, day, stream_id) VALUES ('demo', '/squat', '" + DAY
        + "', 'squatter')");
    gateway.http().postBatch(view("squatter", "/squat"), view("squatter-neighbour", "/squat"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    assertEquals(0, deadLetterRows("squatter"));
    JsonObject visitor = gateway.http().getWithReadToken("/v1/visitors/squatter").json();
    assertEquals(6, visitor.getLong("pageViews"), visitor.encode());
    assertEquals("/squat", visitor.getString("lastPage"));
    assertEquals(1, gateway.http().getWithReadToken("/v1/visitors/squatter-neighbour").json().getLong("pageViews"));
    JsonArray pages = gateway.http().getWithReadToken("/v1/pages?site=demo&from=" + DAY + "&to=" + DAY).json()
        .getJsonArray("pages");
    JsonObject squat = null;
    for (int i = 0; i < pages.size(); i++) {
      if (pages.getJsonObject(i).getString("pageId").equals("/squat")) {
        squat = pages.getJsonObject(i);
      }
    }
    assertEquals(2, squat.getLong("views"), pages.encode());
    assertEquals(1, squat.getLong("uniqueVisitors"), "the squatter's row was there: only its neighbour is new");
    for (String name : new String[] {"visitor-activity", "page-stats"}) {
      JsonObject status = gateway.http().projectionStatus(name);
      assertEquals("running", status.getString("state"), status.encode());
      // a rebuild sets the hand-written rows right: the other test's check of the whole store holds again
      assertEquals(202, gateway.http().postWithAdminToken("/v1/admin/projections/" + name + "/rebuild").status());
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    ReadModelCheck.assertMatchesStore(gateway.db());
  }
}
