package io.flightdeck.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.AnswerCuttingProxy;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The store misbehaving under a running gateway: a writer holding the position lock, the database refusing
 * connections, connections killed mid-transaction and during COMMIT, the answer to a commit lost on the way. Each
 * test runs its own gateway, configured as the scenario needs, on the class's database; one runs two scenarios side
 * by side, each on a gateway of its own.
 */
@ExtendWith(PostgresExtension.class)
class StoreFailureIT {

  static TestDatabase db;

  @BeforeAll
  static void database(TestDatabase database) {
    db = database;
  }

  @Test
  @DisplayName("an event is acknowledged only once it is committed")
  void answerComesAfterCommit() throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      JsonObject event = HttpTestClient.pageView("held-visitor", "/checkout");
      String id = event.getString("id");
      CompletableFuture<Response> answer;
      CompletableFuture<Long> rowsWhenAnswered;
      try (StoreProbe.PositionLock lock = StoreProbe.PositionLock.hold(db)) {
        answer = gateway.http().postEventsAsync(event);
        // counted the moment the answer arrives, before anything else can happen
        rowsWhenAnswered = answer.thenApply(r -> StoreProbe.rowsWithId(db, id));
        await("the append waits on the position lock").atMost(Duration.ofSeconds(10))
            .until(() -> !StoreProbe.appendBackendsWaitingOnLock(db).isEmpty());

        await("no answer and no row while the commit cannot happen")
            .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
            .until(() -> !answer.isDone() && StoreProbe.rowsWithId(db, id) == 0);
      }

      Response r = StoreProbe.within(answer, Duration.ofSeconds(10));
      assertEquals(200, r.status(), r.body());
      assertEquals("appended", r.results().getJsonObject(0).getString("status"));
      assertEquals(1L, StoreProbe.within(rowsWhenAnswered, Duration.ofSeconds(10)),
          "the row exists when the answer arrives");
    }
  }

  @Test
  @DisplayName("while the store is down, ingest answers 503 with Retry-After and is not ready; both recover with it")
  void storeDownThenBack() throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "1500"))) {
      HttpTestClient http = gateway.http();
      assertEquals(200, http.postEvents(HttpTestClient.pageView("before-outage", "/")).status(), "the store is up");
      JsonObject event = HttpTestClient.pageView("outage-visitor", "/during");
      try {
        StoreProbe.allowConnections(db, false);
        StoreProbe.terminateAllSessions(db);

        Response down = http.postEvents(event);
        assertEquals(503, down.status(), down.body());
        assertEquals("unavailable", down.errorCode());
        assertNotNull(down.header("Retry-After"), "Retry-After tells the client when to come back");
        assertEquals(503, ready(http).status(), "not ready while the store is down");
      } finally {
        StoreProbe.allowConnections(db, true);
      }

      await("ready again").atMost(Duration.ofSeconds(20)).until(() -> ready(http).status() == 200);
      // the client re-sends the very same event, as a client told 503 should
      await("the re-sent event is stored").atMost(Duration.ofSeconds(20))
          .until(() -> http.postEvents(event).status() == 200);
      assertEquals(1L, StoreProbe.rowsWithId(db, event.getString("id")));
    }
  }

  @Test
  @DisplayName("while the store is down, read models and admin answer 503 with Retry-After like event reads, not 500")
  void readModelsAndAdminAnswer503WhileTheStoreIsDown() throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      HttpTestClient http = gateway.http();
      List<Response> answers;
      try {
        StoreProbe.allowConnections(db, false);
        StoreProbe.terminateAllSessions(db);
        answers = List.of(
            http.getWithReadToken("/v1/events"),
            http.getWithReadToken("/v1/visitors/outage-visitor"),
            http.getWithReadToken("/v1/visitors/outage-visitor?at=2026-01-01T00:00:00Z"),
            http.getWithReadToken("/v1/pages?site=demo"),
            http.getWithReadToken("/v1/forms/outage-form/submissions"),
            http.getWithReadToken("/v1/event-counts"),
            http.getWithAdminToken("/v1/admin/projections"),
            http.getWithAdminToken("/v1/admin/dead-letters"),
            http.postWithAdminToken("/v1/admin/projections/page-stats/rebuild"),
            http.postWithAdminToken("/v1/admin/dead-letters/1/retry"));
      } finally {
        StoreProbe.allowConnections(db, true);
      }
      for (Response r : answers) {
        assertEquals(503, r.status(), r.body());
        assertEquals("unavailable", r.errorCode(), r.body());
        assertNotNull(r.header("Retry-After"), "Retry-After tells the client when to come back: " + r.body());
      }
    }
  }

  @Test
  @DisplayName("while the store only takes reads (read-only), ingest answers 503 with Retry-After and is not ready; "
      + "both recover with it")
  void readOnlyStoreThenWritable() throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "1500"))) {
      HttpTestClient http = gateway.http();
      JsonObject event = HttpTestClient.pageView("read-only-visitor", "/during");
      try {
        // what a session on a standby, or on a database an operator made read-only, sees
        readOnly(true);
        StoreProbe.terminateAllSessions(db);

        Response down = http.postEvents(event);
        assertEquals(503, down.status(), down.body());
        assertEquals("unavailable", down.errorCode());
        assertNotNull(down.header("Retry-After"), "Retry-After tells the client when to come back");
        Response notReady = ready(http);
        assertEquals(503, notReady.status(), "not ready while the store takes no writes");
        assertEquals("DOWN", notReady.json().getJsonObject("checks").getJsonObject("store").getString("status"),
            notReady.body());
      } finally {
        readOnly(false);
        StoreProbe.terminateAllSessions(db);
      }

      await("ready again").atMost(Duration.ofSeconds(20)).until(() -> ready(http).status() == 200);
      await("the re-sent event is stored").atMost(Duration.ofSeconds(20))
          .until(() -> http.postEvents(event).status() == 200);
      assertEquals(1L, StoreProbe.rowsWithId(db, event.getString("id")));
    }
  }

  @Test
  @DisplayName("appends queued behind a statement stuck on a lock (another session locks the events table) are "
      + "answered 503 by their retry deadline, not one lock timeout after another; the queue empties and appends "
      + "work again once the lock is gone")
  void appendsQueuedBehindAStuckStatementAreAnsweredByTheDeadline() throws Exception {
    long deadlineMs = 1500;
    try (TestGateway gateway = TestGateway.start(db, Map.of(
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", String.valueOf(deadlineMs),
        // one request per transaction: each queued request would get a transaction (and a lock wait) of its own
        "FLIGHTDECK_APPENDER_MAX_EVENTS_PER_TRANSACTION", "1"));
         Connection locker = db.connect()) {
      HttpTestClient http = gateway.http();
      assertEquals(200, http.postEvents(HttpTestClient.pageView("table-lock-before", "/")).status());
      locker.setAutoCommit(false);
      try (Statement st = locker.createStatement()) {
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      }
      List<CompletableFuture<Response>> answers = new ArrayList<>();
      List<Long> answeredAfterMs = Collections.synchronizedList(new ArrayList<>());
      long sent = System.nanoTime();
      for (int i = 0; i < 6; i++) {
        answers.add(http.postEventsAsync(HttpTestClient.pageView("table-lock-" + i, "/"))
            .thenApply(r -> {
              answeredAfterMs.add((System.nanoTime() - sent) / 1_000_000);
              return r;
            }));
      }
      try {
        for (Response r : StoreProbe.all(answers, Duration.ofSeconds(60))) {
          assertEquals(503, r.status(), r.body());
          assertEquals("unavailable", r.errorCode(), r.body());
          assertNotNull(r.header("Retry-After"), r.body());
        }
      } finally {
        locker.rollback();
      }
      // the request sent first waits one lock timeout (the deadline); the rest are past their deadline by then
      long bound = 2 * deadlineMs + 2000;
      assertTrue(answeredAfterMs.stream().allMatch(ms -> ms < bound),
          "answered after " + answeredAfterMs + " ms, not all within " + bound + " ms");
      await("the append queue is empty again").atMost(Duration.ofSeconds(10))
          .until(() -> gateway.registry().get("flightdeck.append.queue.depth").gauge().value() == 0);
      assertEquals(200, http.postEvents(HttpTestClient.pageView("table-lock-after", "/")).status());
      assertEquals(0L, db.queryLong("SELECT count(*) FROM events WHERE stream_id LIKE 'table-lock-_'"));
    }
  }

  @Test
  @DisplayName("/health/ready answers 200 while every read connection is taken (reads stuck behind a lock on the "
      + "events table): the store is reachable and ingest has its own connection, so the gateway stays in rotation")
  void readyWhileTheReadPoolIsTaken() throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_READ_POOL_SIZE", "2"));
         Connection locker = db.connect()) {
      HttpTestClient http = gateway.http();
      assertEquals(200, http.postEvents(HttpTestClient.pageView("ready-pool", "/")).status());
      locker.setAutoCommit(false);
      try (Statement st = locker.createStatement()) {
        st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      }
      List<CompletableFuture<Response>> reads = new ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) {
          reads.add(http.sendAsync(http.request("/v1/events?after=0")
              .header("Authorization", "Bearer " + TestGateway.READ_TOKEN)));
        }
        await("both read connections wait for the lock").atMost(Duration.ofSeconds(10)).until(() -> db.queryLong(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            >= 2);
        Response ready = http.send(http.request("/health/ready"));
        assertEquals(200, ready.status(), ready.body());
      } finally {
        locker.rollback();
      }
      for (Response r : StoreProbe.all(reads, Duration.ofSeconds(30))) {
        assertEquals(200, r.status(), r.body());
      }
    }
  }

  @Test
  @DisplayName("an append commits durably (synchronous_commit not off) even where the database's default is off: an "
      + "acknowledged event must survive a server crash")
  void appendsCommitDurablyWhateverTheDatabaseDefault() throws Exception {
    StoreProbe.server(db).execute("ALTER DATABASE " + db.name() + " SET synchronous_commit = off");
    try (TestGateway gateway = TestGateway.start(db)) {
      // what the appending session's commit runs with, noted inside its transaction
      db.execute("CREATE TABLE test_commit_modes (mode text NOT NULL)");
      db.execute("""
          CREATE FUNCTION test_note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO test_commit_modes VALUES (current_setting('synchronous_commit'));
            RETURN NULL;
          END
          $$""");
      db.execute("CREATE TRIGGER test_note_commit_mode AFTER INSERT ON events FOR EACH STATEMENT "
          + "EXECUTE FUNCTION test_note_commit_mode()");
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("durable", "/")).status());
      assertEquals(List.of(List.<Object>of("on")), db.query("SELECT mode FROM test_commit_modes"));
    } finally {
      StoreProbe.server(db).execute("ALTER DATABASE " + db.name() + " RESET synchronous_commit");
      db.execute("DROP TRIGGER IF EXISTS test_note_commit_mode ON events");
      db.execute("DROP FUNCTION IF EXISTS test_note_commit_mode()");
      db.execute("DROP TABLE IF EXISTS test_commit_modes");
    }
  }

  @Test
  @DisplayName("an append whose connection is killed mid-transaction is retried: answered 200, stored once")
  void connectionKilledMidTransactionIsRetried() throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      JsonObject event = HttpTestClient.pageView("killed-visitor", "/cart");
      CompletableFuture<Response> answer;
      try (StoreProbe.PositionLock lock = StoreProbe.PositionLock.hold(db)) {
        answer = gateway.http().postEventsAsync(event);
        int victim = await("the append waits on the position lock").atMost(Duration.ofSeconds(10))
            .until(() -> StoreProbe.appendBackendsWaitingOnLock(db), pids -> !pids.isEmpty()).get(0);

        StoreProbe.terminate(db, victim);

        await("the append is retried on another connection").atMost(Duration.ofSeconds(10))
            .until(() -> StoreProbe.appendBackendsWaitingOnLock(db), pids -> hasOtherThan(pids, victim));
        assertFalse(answer.isDone(), "no answer before the commit");
      }

      Response r = StoreProbe.within(answer, Duration.ofSeconds(15));
      assertEquals(200, r.status(), r.body());
      assertEquals("appended", r.results().getJsonObject(0).getString("status"));
      assertEquals(1L, StoreProbe.rowsWithId(db, event.getString("id")));
    }
  }

  @Test
  @DisplayName("an append whose connection is lost during COMMIT is retried safely: answered 200, stored once")
  void connectionLostDuringCommitIsRetried() throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "20000"))) {
      // a deferred trigger runs inside COMMIT: its pg_sleep is a commit that takes long enough to be interrupted
      slowCommits("slow-commit", 1.5);
      JsonObject event = HttpTestClient.pageView("slow-commit", "/thank-you");
      CompletableFuture<Response> answer = gateway.http().postEventsAsync(event);
      int victim = await("the append is inside COMMIT").atMost(Duration.ofSeconds(10))
          .until(() -> StoreProbe.appendBackendsWaitingOn(db, "PgSleep"), pids -> !pids.isEmpty()).get(0);
      assertFalse(answer.isDone(), "no answer while COMMIT is still running");

      StoreProbe.terminate(db, victim);

      Response r = StoreProbe.within(answer, Duration.ofSeconds(30));
      assertEquals(200, r.status(), r.body());
      assertEquals("appended", r.results().getJsonObject(0).getString("status"));
      assertEquals(1L, StoreProbe.rowsWithId(db, event.getString("id")));
      assertEquals(1L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'slow-commit'"));
    } finally {
      fastCommits();
    }
  }

  @Test
  @DisplayName("an append that committed but whose answer was lost is answered 200 appended, stored once")
  void answerLostAfterCommit() throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-append");
         TestGateway gateway = behind(proxy)) {
      // the commit takes a moment, long enough to arm the proxy before the answer leaves the server
      slowCommits("lost-answer", 1);
      JsonObject event = HttpTestClient.pageView("lost-answer", "/thank-you");
      CompletableFuture<Response> answer = gateway.http().postEventsAsync(event);
      await("the append is committing").atMost(Duration.ofSeconds(10))
          .until(() -> StoreProbe.appendBackendsWaitingOn(db, "PgSleep"), pids -> !pids.isEmpty());
      proxy.cutNextAnswer();

      Response r = StoreProbe.within(answer, Duration.ofSeconds(30));
      assertEquals(1, proxy.cutConnections(), "the commit's answer was lost on the way");
      assertAppendedOnce(r, event);
      assertEquals(1L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'lost-answer'"));

      // and a true duplicate is still answered as one
      Response again = gateway.http().postEvents(event);
      assertEquals(200, again.status(), again.body());
      assertEquals("duplicate", again.results().getJsonObject(0).getString("status"));
      assertEquals(r.results().getJsonObject(0).getLong("position"),
          again.results().getJsonObject(0).getLong("position"));
    } finally {
      fastCommits();
    }
  }

  @Test
  @DisplayName("a checked append that committed but lost its statement's answer with COMMIT's is answered 200 appended")
  void statementAnswerLostAfterCheckedCommit() throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-append");
         TestGateway gateway = behind(proxy)) {
      JsonObject event = HttpTestClient.pageView("lost-checked", "/thank-you");
      CompletableFuture<Response> answer;
      try (Connection writer = db.connect()) {
        // another writer appends to the same stream while the fast path waits on the position lock: the fast
        // path's older snapshot gives it a taken stream version, and the group goes again on the checked path
        writer.setAutoCommit(false);
        StoreProbe.insertRaw(writer, "lost-checked", 1);
        answer = gateway.http().postEventsAsync(event);
        await("the fast path waits on the position lock").atMost(Duration.ofSeconds(10))
            .until(() -> !StoreProbe.appendBackendsWaitingOnLock(db).isEmpty());
        proxy.loseAnswersFromNextCommit();
        writer.commit();
      }

      Response r = StoreProbe.within(answer, Duration.ofSeconds(30));
      assertEquals(1, proxy.cutConnections(), "the checked statement's and COMMIT's answers were lost");
      assertAppendedOnce(r, event);
      assertEquals(2L, r.results().getJsonObject(0).getLong("streamVersion"));
      assertEquals(2L, db.queryLong("SELECT count(*) FROM events WHERE stream_id = 'lost-checked'"));
    }
  }

  @Test
  @DisplayName("an append whose connection goes silent (a network partition) is answered 503, not held until TCP "
      + "gives up; once the network is back the re-sent event is stored once. And a network partition that cuts a "
      + "checked append off before its COMMIT does not leave the position lock held on the server: the server ends "
      + "the abandoned session, and other appends go on")
  void silentAppendConnectionsAreGivenUp() throws Exception {
    // Both requests below wait out an append connection's silence timeout (the lock timeout + 30 s + 5 s, 36 s here),
    // which no setting shortens: the two scenarios run side by side, each on a gateway and proxy of its own, instead
    // of one after the other. The silent one goes first: nothing of it reaches the server, so it takes no lock the
    // partition's appends could wait on.
    try (AnswerCuttingProxy silentProxy = AnswerCuttingProxy.start(db, "flightdeck-append");
         TestGateway silentGateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_URL", silentProxy.url(),
             "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "1000"));
         AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-append");
         TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_URL", proxy.url(),
             // a second transaction may run while the first waits on its lost connection
             "FLIGHTDECK_APPENDER_MAX_CONCURRENT_TRANSACTIONS", "2",
             "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "1000"))) {
      // the silent connection
      HttpTestClient silentHttp = silentGateway.http();
      assertEquals(200, silentHttp.postEvents(HttpTestClient.pageView("before-partition", "/")).status());
      JsonObject event = HttpTestClient.pageView("partitioned", "/during");
      silentProxy.silence();
      // the server would have cancelled the statement after statement_timeout (lock_timeout + 30 s) anyway
      CompletableFuture<Response> silentAnswer = silentHttp.postEventsAsync(event);
      long silentSent = System.nanoTime();

      // meanwhile, the partition before COMMIT
      HttpTestClient http = gateway.http();
      JsonObject first = HttpTestClient.pageView("partition-commit", "/");
      Response stored = http.postEvents(first);
      assertEquals(200, stored.status(), stored.body());

      // the same id again: the fast path fails on the stored id, and the group goes again on the checked path, whose
      // BEGIN, position lock and statement reach the server while its COMMIT does not
      proxy.partitionBeforeNextCommit();
      CompletableFuture<Response> cutOff = http.postEventsAsync(first);
      await("the checked append is cut off before COMMIT").atMost(Duration.ofSeconds(10))
          .until(() -> proxy.partitionedConnections() == 1);

      // the server's side of that session holds the position lock, idle in its transaction, and hears nothing
      // more from its client: it ends the session itself, and every other append may take the lock again
      JsonObject next = HttpTestClient.pageView("after-partition-commit", "/next");
      await("an append after the partition is stored").atMost(Duration.ofSeconds(20))
          .until(() -> http.postEvents(next).status() == 200);
      assertEquals(List.of(), StoreProbe.appendBackendsIdleInTransaction(db));
      assertEquals(1L, StoreProbe.rowsWithId(db, first.getString("id")));
      assertEquals(1L, StoreProbe.rowsWithId(db, next.getString("id")));
      long partitionChecked = System.nanoTime();

      // the silent connection's request is given up on: answered 503
      Response r = StoreProbe.within(silentAnswer, left(Duration.ofSeconds(50), silentSent));
      assertEquals(503, r.status(), r.body());
      assertEquals("unavailable", r.errorCode());

      silentProxy.speak();
      await("the re-sent event is stored").atMost(Duration.ofSeconds(20))
          .until(() -> silentHttp.postEvents(event).status() == 200);
      assertEquals(1L, StoreProbe.rowsWithId(db, event.getString("id")));

      // the cut-off request learns nothing until its own connection has been silent for the append's statement
      // timeout and a margin; then, past its retry deadline, it is answered 503, or with the id's one position
      Response cut = StoreProbe.within(cutOff, left(Duration.ofSeconds(60), partitionChecked));
      if (cut.status() != 503) {
        assertEquals(200, cut.status(), cut.body());
        assertEquals(stored.results().getJsonObject(0).getLong("position"),
            cut.results().getJsonObject(0).getLong("position"));
      }
      assertEquals(1L, StoreProbe.rowsWithId(db, first.getString("id")));
    }
  }

  @Test
  @DisplayName("reads whose connections go silent (a network partition) are answered 503 with Retry-After within the "
      + "statement timeout and a few seconds, not held until TCP gives up; reads work again once the network is back")
  void silentReadConnectionsAreGivenUp() throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_URL", proxy.url(),
             // a read connection silent for 1 + 5 s is closed
             "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "1000"))) {
      HttpTestClient http = gateway.http();
      assertEquals(200, http.postEvents(HttpTestClient.pageView("silent-reader", "/")).status());
      assertEquals(200, http.getWithReadToken("/v1/events").status());
      proxy.silence();

      List<CompletableFuture<Response>> reads = new ArrayList<>();
      for (String path : List.of("/v1/events", "/v1/streams/silent-reader/events", "/v1/visitors/silent-reader",
          "/v1/event-counts")) {
        reads.add(http.sendAsync(http.request(path).header("Authorization", "Bearer " + TestGateway.READ_TOKEN)));
      }
      for (CompletableFuture<Response> read : reads) {
        Response r = StoreProbe.within(read, Duration.ofSeconds(25));
        assertEquals(503, r.status(), r.body());
        assertEquals("unavailable", r.errorCode(), r.body());
        assertNotNull(r.header("Retry-After"), r.body());
      }

      proxy.speak();
      await("reads answer again").atMost(Duration.ofSeconds(20))
          .until(() -> http.getWithReadToken("/v1/visitors/silent-reader").status() == 200);
    }
  }

  @Test
  @DisplayName("an idle projection keeps its connection and lease while the server is fine; one whose connection goes "
      + "silent is taken over again once the network is back and applies what was posted meanwhile")
  void silentProjectionConnectionIsGivenUp() throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-projection-");
         TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_URL", proxy.url(),
             // a projection connection silent for 6 s is closed; only the heartbeat speaks on an idle one
             "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "1000",
             "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "600000"))) {
      HttpTestClient http = gateway.http();
      String visitor = "silent-projection-" + System.nanoTime();
      http.postEvents(HttpTestClient.pageView(visitor, "/before"));
      await("applied").atMost(Duration.ofSeconds(20)).until(() -> pageViews(http, visitor) == 1);

      List<List<Object>> sessions = db.query(PROJECTION_SESSIONS);
      await("idle projections keep their sessions (and leases) over twice the silence timeout")
          .during(Duration.ofSeconds(13)).atMost(Duration.ofSeconds(15))
          .until(() -> db.query(PROJECTION_SESSIONS).equals(sessions));

      proxy.silence();
      for (int i = 0; i < 3; i++) {
        http.postEvents(HttpTestClient.pageView(visitor, "/during/" + i));
      }
      await("nothing applied while the network is down").during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(4)).until(() -> pageViews(http, visitor) == 1);
      proxy.speak();
      await("applied once the network is back").atMost(Duration.ofSeconds(40))
          .until(() -> pageViews(http, visitor) == 4);
    }
  }

  @Test
  @DisplayName("a LISTEN connection that goes silent is noticed (readiness reports it DOWN) and replaced once the "
      + "network is back; new events then reach live subscribers at once again")
  void silentListenConnectionIsReplaced() throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-listen");
         TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_DB_URL", proxy.url(),
             "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "1000",
             // only a notification brings new events to the live feed quickly
             "FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "600000"));
         SseTestClient live = SseTestClient.open(gateway, "/v1/live", Map.of())) {
      HttpTestClient http = gateway.http();
      await("listening").atMost(Duration.ofSeconds(10)).until(() -> listener(http).equals("UP"));

      proxy.silence();
      await("the silent LISTEN connection is noticed").atMost(Duration.ofSeconds(20))
          .until(() -> listener(http).equals("DOWN"));
      proxy.speak();
      await("listening again").atMost(Duration.ofSeconds(20)).until(() -> listener(http).equals("UP"));

      JsonObject event = HttpTestClient.pageView("silent-listener", "/after");
      assertEquals(200, http.postEvents(event).status());
      SseTestClient.Message m = live.next(Duration.ofSeconds(5));
      assertNotNull(m, "the event reached the live subscriber");
      assertEquals(event.getString("id"), new JsonObject(m.data()).getString("id"));
    }
  }

  private static final String PROJECTION_SESSIONS = """
      SELECT pid, backend_start FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'flightdeck-projection-%' ORDER BY pid""";

  private static long pageViews(HttpTestClient http, String visitor) {
    Response r = http.getWithReadToken("/v1/visitors/" + visitor);
    return r.status() == 200 ? r.json().getLong("pageViews", 0L) : 0;
  }

  /** The listener check of /health/ready. */
  private static String listener(HttpTestClient http) {
    Response r = http.send(http.request("/health/ready").GET());
    return r.json().getJsonObject("checks").getJsonObject("listener").getString("status");
  }

  /** A gateway whose connections go through {@code proxy}, retrying appends long enough to outlast what it cuts. */
  private static TestGateway behind(AnswerCuttingProxy proxy) {
    return TestGateway.start(db, Map.of("FLIGHTDECK_DB_URL", proxy.url(),
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "20000"));
  }

  /** The one event of {@code r} was answered appended, as this append's own, and is stored once. */
  private static void assertAppendedOnce(Response r, JsonObject event) {
    assertEquals(200, r.status(), r.body());
    assertEquals("appended", r.results().getJsonObject(0).getString("status"),
        "the event this append stored is its own, not a duplicate of itself");
    assertEquals(1L, StoreProbe.rowsWithId(db, event.getString("id")));
  }

  /** A deferred trigger that sleeps inside COMMIT for events of one stream (the schema must exist: start first). */
  private static void slowCommits(String streamId, double seconds) {
    db.execute("""
        CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_sleep(%s);
          RETURN NULL;
        END
        $$""".formatted(seconds));
    db.execute("""
        CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.stream_id = '%s') EXECUTE FUNCTION test_slow_commit()""".formatted(streamId));
  }

  private static void fastCommits() {
    db.execute("DROP TRIGGER IF EXISTS test_slow_commit ON events");
    db.execute("DROP FUNCTION IF EXISTS test_slow_commit()");
  }

  /** New sessions of the test database start read-only, or read-write again. */
  private static void readOnly(boolean on) {
    // database names are identifiers, not parameters; the test database's name is generated and safe
    StoreProbe.server(db).execute("ALTER DATABASE " + db.name()
        + (on ? " SET default_transaction_read_only = on" : " RESET default_transaction_read_only"));
  }

  private static Response ready(HttpTestClient http) {
    return http.send(http.request("/health/ready").GET());
  }

  /** What is left of {@code bound} counted from {@code since} (System.nanoTime()): a wait's bound where it began. */
  private static Duration left(Duration bound, long since) {
    return bound.minusNanos(System.nanoTime() - since);
  }

  private static boolean hasOtherThan(List<Integer> pids, int pid) {
    return pids.stream().anyMatch(p -> p != pid);
  }
}
