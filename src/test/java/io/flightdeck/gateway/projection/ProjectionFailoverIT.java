package io.flightdeck.gateway.projection;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several gateway processes on one database, as separate JVMs: each projection runs in exactly one of them (the
 * advisory lock on its runner's connection), a standby takes over when the owner dies or stops, and it resumes
 * from the committed checkpoint, so no event is applied twice or skipped.
 */
@ExtendWith(PostgresExtension.class)
class ProjectionFailoverIT {

  private static final List<String> PROJECTIONS =
      List.of("event-counts", "form-submissions", "page-stats", "visitor-activity");
  private static final Duration START = Duration.ofSeconds(60);
  private static final Duration CATCH_UP = Duration.ofSeconds(30);
  /** Generous on purpose: with a 200 ms takeover interval a handover takes well under a second. */
  private static final Duration TAKEOVER = Duration.ofSeconds(15);
  private static final Duration EXIT = Duration.ofSeconds(15);
  /**
   * Where the backlog test kills its processes: as soon as a projection has committed its first batch, then
   * further in (positions past the previous crash's checkpoint), so the crashes hit different points.
   */
  private static final long[] KILL_POINTS = {0, 500, 1500};

  /** The projections' advisory locks, as pg_locks shows them: key pair (1178861570, lock_id), objsubid 2. */
  private static final String PROJECTION_LOCKS = """
      SELECT c.name, a.application_name
      FROM pg_locks l
      JOIN pg_stat_activity a ON a.pid = l.pid
      LEFT JOIN projection_checkpoints c ON c.lock_id::oid = l.objid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1178861570 AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY c.name, a.application_name""";

  private static final String PROJECTION_CONNECTIONS = """
      SELECT count(*) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'flightdeck-projection-%'""";

  /** A gateway process and a client talking to it. */
  private record Instance(GatewayProcess process, HttpTestClient http) {

    boolean owns(JsonObject status) {
      String owner = status.getString("owner");
      return owner != null && owner.endsWith(":" + process.pid());
    }
  }

  private final List<GatewayProcess> started = new ArrayList<>();
  private int sequence;

  @AfterEach
  void killAll() {
    started.forEach(GatewayProcess::close);
    started.clear();
  }

  @Test
  @DisplayName("with two processes on one database each projection runs in exactly one, and after a kill -9 the"
      + " survivor takes over from the checkpoint without counting anything twice")
  void oneOwnerPerProjectionAndTakeoverAfterKill(TestDatabase db) {
    Instance a = start(db, Map.of());
    Instance b = start(db, Map.of());
    awaitOwners(a, "owned by one of the two processes", s -> a.owns(s) || b.owns(s));
    assertEquals(expectedLocks(), db.query(PROJECTION_LOCKS), "exactly one granted lock per projection");
    // the other process stands by: connected for every projection, holding none of the locks
    await("both processes connected for every projection").atMost(TAKEOVER)
        .until(() -> db.queryLong(PROJECTION_CONNECTIONS), n -> n == 2L * PROJECTIONS.size());
    assertEquals(expectedLocks(), db.query(PROJECTION_LOCKS), "still one lock per projection");
    assertEquals(PROJECTIONS.size(), runningLogLines(a) + runningLogLines(b),
        "each projection started running in one process only\n" + a.process().describe() + b.process().describe());

    for (int i = 0; i < 10; i++) {
      post(i % 2 == 0 ? a : b, mixedBatch(100));
    }
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
    assertEquals(statuses(a), statuses(b), "both processes report the same owners");

    // the owners may be split between the two: kill the one running more of them
    Map<String, JsonObject> before = statuses(a);
    Instance victim = ownedBy(a, before).size() >= ownedBy(b, before).size() ? a : b;
    Instance survivor = victim == a ? b : a;
    List<String> moved = ownedBy(victim, before);
    assertFalse(moved.isEmpty(), "the process to kill runs at least one projection: " + before);

    // events keep arriving through the survivor while the owner dies, so the kill hits batches in flight
    List<CompletableFuture<Response>> inFlight = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      inFlight.add(survivor.http().postEventsAsync(new JsonObject().put("events", mixedBatch(100))));
    }
    victim.process().kill();
    inFlight.forEach(f -> assertAccepted(f.join(), 100));

    awaitOwners(survivor, "owned by the survivor", survivor::owns);
    for (int i = 0; i < 5; i++) {
      post(survivor, mixedBatch(100));
    }
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
    await("the killed process's connections gone").atMost(TAKEOVER)
        .until(() -> db.queryLong(PROJECTION_CONNECTIONS), n -> n == PROJECTIONS.size());
    assertEquals(expectedLocks(), db.query(PROJECTION_LOCKS), "one lock per projection, all in the survivor");
    for (String name : moved) {
      assertTrue(survivor.process().stdout().contains("projection " + name + ": running in this process"),
          name + " was taken over\n" + survivor.process().describe());
    }
  }

  @Test
  @DisplayName("a process killed -9 in the middle of a backlog, again and again, leaves every event applied exactly"
      + " once: the next process resumes from the committed checkpoint")
  void killedMidBacklogResumesFromCheckpoint(TestDatabase db) throws SQLException {
    Instance loader = start(db, Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
    long stored = db.queryLong("SELECT count(*) FROM events");
    for (int i = 0; i < 10; i++) {
      post(loader, mixedBatch(500));
    }
    assertEquals(stored + 5000, db.queryLong("SELECT count(*) FROM events"), "every acknowledged event is stored");
    loader.process().sendSigterm();
    assertEquals(0, loader.process().waitFor(EXIT), loader.process().describe());
    long head = db.queryLong("SELECT max(position) FROM events");

    try (Connection watcher = db.connect()) {
      Map<String, Long> mark = checkpoints(watcher);
      assertTrue(mark.values().stream().allMatch(p -> p < head), "a backlog for every projection: " + mark);
      for (int crash = 1; crash <= KILL_POINTS.length; crash++) {
        // not waiting for the port: the runners start before HTTP and would be well into the backlog by then
        GatewayProcess worker = startProcess(db, Map.of("FLIGHTDECK_PROJECTIONS_BATCH_SIZE", "50"));
        Map<String, Long> from = mark;
        long past = KILL_POINTS[crash - 1];
        await("a projection more than " + past + " positions further, short of the head (crash " + crash + ")")
            .atMost(START).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
            .until(() -> checkpoints(watcher), now -> partWay(now, from, past, head));
        worker.kill();
        await("the killed process's connections gone").atMost(TAKEOVER)
            .until(() -> db.queryLong(PROJECTION_CONNECTIONS), n -> n == 0);
        mark = checkpoints(watcher);
        assertTrue(mark.values().stream().anyMatch(p -> p < head), "killed before the end: " + mark);
        assertReadModelsAtCheckpoints(db, mark);
      }
    }
    assertEquals(0, db.queryLong("SELECT count(*) FROM dead_letters"), "no event was set aside");

    start(db, Map.of());
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
  }

  @Test
  @DisplayName("SIGTERM on the process running the projections hands them to the standby within seconds, and"
      + " nothing is counted twice")
  void gracefulStopHandsOver(TestDatabase db) {
    Instance first = start(db, Map.of());
    awaitOwners(first, "owned by the first process", first::owns);
    Instance second = start(db, Map.of());
    for (int i = 0; i < 6; i++) {
      post(i % 2 == 0 ? first : second, mixedBatch(100));
    }

    first.process().sendSigterm();
    List<CompletableFuture<Response>> inFlight = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      inFlight.add(second.http().postEventsAsync(new JsonObject().put("events", mixedBatch(100))));
    }
    awaitOwners(second, "handed over to the second process", second::owns);
    assertEquals(0, first.process().waitFor(EXIT), first.process().describe());
    inFlight.forEach(f -> assertAccepted(f.join(), 100));
    post(second, mixedBatch(100));

    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
    assertEquals(expectedLocks(), db.query(PROJECTION_LOCKS), "one lock per projection, all in the second process");
  }

  @Test
  @DisplayName("a process frozen while it runs the projections (SIGSTOP, docker pause) loses them to the standby"
      + " within the silence timeout, and once it thaws it counts nothing twice")
  void frozenOwnerLosesTheLease(TestDatabase db) {
    // silence timeout 6 s: db.statementTimeoutMs + 5 s
    Map<String, String> quick = Map.of("FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "1000");
    Instance first = start(db, quick);
    awaitOwners(first, "owned by the first process", first::owns);
    Instance second = start(db, quick);
    for (int i = 0; i < 4; i++) {
      post(i % 2 == 0 ? first : second, mixedBatch(100));
    }

    // its sockets stay open and its kernel answers keepalives: only the server's idle timeouts end its sessions
    first.process().freeze();
    post(second, mixedBatch(100));
    awaitOwners(second, "taken over from the frozen process", second::owns);
    post(second, mixedBatch(100));
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);

    first.process().thaw();
    for (int i = 0; i < 4; i++) {
      post(i % 2 == 0 ? first : second, mixedBatch(100));
    }
    ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
    ReadModelCheck.assertMatchesStore(db);
    awaitOwners(second, "still owned by the second process", second::owns);
    assertEquals(expectedLocks(), db.query(PROJECTION_LOCKS), "one lock per projection, all in the second process");
  }

  @Test
  @DisplayName("a projection no process runs any more is listed stopped with no owner, not the process that stopped")
  void stoppedProjectionsHaveNoOwner(TestDatabase db) {
    Instance runner = start(db, Map.of());
    awaitOwners(runner, "owned by the process that runs them", runner::owns);
    Instance reader = start(db, Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
    post(reader, mixedBatch(30));

    runner.process().sendSigterm();
    assertEquals(0, runner.process().waitFor(EXIT), runner.process().describe());
    Map<String, JsonObject> after = statuses(reader);
    assertEquals(new TreeSet<>(PROJECTIONS), after.keySet());
    for (JsonObject s : after.values()) {
      assertEquals("stopped", s.getString("state"), s.encode());
      assertNull(s.getValue("owner"), "no process runs it: " + s.encode());
    }
  }

  // ---- processes

  private Instance start(TestDatabase db, Map<String, String> overrides) {
    GatewayProcess process = startProcess(db, overrides);
    int port = process.awaitPort(START);
    return new Instance(process, new HttpTestClient("http://127.0.0.1:" + port));
  }

  private GatewayProcess startProcess(TestDatabase db, Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>();
    env.put("FLIGHTDECK_DB_URL", db.url());
    env.put("FLIGHTDECK_HTTP_PORT", "0");
    env.put("FLIGHTDECK_HTTP_INSTANCES", "2");
    env.put("FLIGHTDECK_PROJECTIONS_TAKEOVER_INTERVAL_MS", "200");
    env.put("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200");
    env.putAll(overrides);
    GatewayProcess process = GatewayProcess.start(env);
    started.add(process);
    return process;
  }

  // ---- what the processes report

  /** The admin list, by projection name, as {@code via} answers it. */
  private static Map<String, JsonObject> statuses(Instance via) {
    Response r = via.http().getWithAdminToken("/v1/admin/projections");
    assertEquals(200, r.status(), r.body());
    JsonArray list = r.json().getJsonArray("projections");
    Map<String, JsonObject> byName = new TreeMap<>();
    for (int i = 0; i < list.size(); i++) {
      byName.put(list.getJsonObject(i).getString("name"), list.getJsonObject(i));
    }
    return byName;
  }

  /** Waits until {@code via} lists every projection as running and {@code owned}. */
  private static void awaitOwners(Instance via, String what, Predicate<JsonObject> owned) {
    await("every projection running and " + what).atMost(TAKEOVER).pollInterval(Duration.ofMillis(50))
        .until(() -> statuses(via), list -> list.keySet().equals(new TreeSet<>(PROJECTIONS))
            && list.values().stream().allMatch(s -> "running".equals(s.getString("state")) && owned.test(s)));
  }

  private static List<String> ownedBy(Instance instance, Map<String, JsonObject> statuses) {
    return statuses.values().stream().filter(instance::owns).map(s -> s.getString("name")).toList();
  }

  private static List<List<Object>> expectedLocks() {
    return PROJECTIONS.stream().map(name -> List.<Object>of(name, "flightdeck-projection-" + name)).toList();
  }

  private static long runningLogLines(Instance instance) {
    return instance.process().stdout().lines().filter(line -> line.contains(": running in this process")).count();
  }

  // ---- checkpoints and read models

  private static Map<String, Long> checkpoints(Connection c) throws SQLException {
    Map<String, Long> out = new TreeMap<>();
    try (Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT name, position FROM projection_checkpoints")) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getLong(2));
      }
    }
    return out;
  }

  /** Some projection has moved more than {@code past} positions since {@code from} and is still short of the head. */
  private static boolean partWay(Map<String, Long> now, Map<String, Long> from, long past, long head) {
    return now.entrySet().stream()
        .anyMatch(e -> e.getValue() > from.get(e.getKey()) + past && e.getValue() < head);
  }

  /**
   * At a crash point, each read model holds exactly the events up to its projection's committed checkpoint: the
   * read-model change and the checkpoint commit together, so a kill never leaves one without the other.
   */
  private static void assertReadModelsAtCheckpoints(TestDatabase db, Map<String, Long> checkpoints) {
    long counts = checkpoints.get("event-counts");
    assertEquals(db.queryLong("SELECT count(*) FROM events WHERE position <= ?", counts),
        db.queryLong("SELECT COALESCE(sum(count), 0) FROM event_counts"), "event_counts at " + counts);
    long forms = checkpoints.get("form-submissions");
    assertEquals(db.queryLong("SELECT count(*) FROM events WHERE type = 'FormSubmitted' AND position <= ?", forms),
        db.queryLong("SELECT count(*) FROM form_submissions"), "form_submissions at " + forms);
    long pages = checkpoints.get("page-stats");
    assertEquals(db.queryLong("SELECT count(*) FROM events WHERE type = 'PageViewed' AND position <= ?", pages),
        db.queryLong("SELECT COALESCE(sum(views), 0) FROM page_stats"), "page_stats at " + pages);
    long visitors = checkpoints.get("visitor-activity");
    assertEquals(db.queryLong("""
            SELECT count(*) FROM events
            WHERE type IN ('PageViewed', 'ButtonClicked', 'FormSubmitted') AND position <= ?""", visitors),
        db.queryLong("SELECT COALESCE(sum(page_views + button_clicks + form_submissions), 0) FROM visitor_activity"),
        "visitor_activity at " + visitors);
  }

  // ---- events

  /** {@code n} events of the three types, spread over a few dozen visitors, pages and forms. */
  private JsonArray mixedBatch(int n) {
    JsonArray events = new JsonArray();
    for (int i = 0; i < n; i++) {
      int k = sequence++;
      String visitor = "fo-visitor-" + (k % 37);
      events.add(switch (k % 3) {
        case 0 -> HttpTestClient.pageView(visitor, "/page/" + (k % 7));
        case 1 -> HttpTestClient.click(visitor, "button-" + (k % 5));
        default -> HttpTestClient.formSubmission(visitor, "form-" + (k / 3 % 3),
            new JsonObject().put("n", String.valueOf(k)));
      });
    }
    return events;
  }

  private static void post(Instance to, JsonArray events) {
    assertAccepted(to.http().postEvents(new JsonObject().put("events", events)), events.size());
  }

  private static void assertAccepted(Response r, int events) {
    assertEquals(200, r.status(), r.body());
    JsonArray results = r.results();
    assertEquals(events, results.size(), r.body());
    for (int i = 0; i < results.size(); i++) {
      assertEquals("appended", results.getJsonObject(i).getString("status"), r.body());
    }
  }
}
