package io.flightdeck.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code recorded_at} must not go backwards in position (and so stream-version) order: {@code GET
 * /v1/visitors/{id}?at=} folds the events recorded up to a time, and if version n+1 is recorded before version n, a
 * time between the two folds n+1 without n, a state the stream never had. Positions and versions are handed out under
 * the position lock (V1's statement trigger, and the gateway's checked path), so the time has to be taken under it
 * too, not when the writing transaction (or statement) began.
 */
@ExtendWith(PostgresExtension.class)
class RecordedAtOrderIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  /** A page view inserted the way a writer that bypasses the gateway does: recorded_at left to the table. */
  private static final String EXTERNAL_INSERT = """
      INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
      VALUES (gen_random_uuid(), ?, ?, 'PageViewed', 1, jsonb_build_object('pageId', ?::text), now())""";

  private static void insert(Connection c, String stream, int version) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(EXTERNAL_INSERT)) {
      st.setString(1, stream);
      st.setInt(2, version);
      st.setString(3, "/" + version);
      st.executeUpdate();
    }
  }

  private static Instant instant(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getObject(1, OffsetDateTime.class).toInstant();
    }
  }

  /** recorded_at of the stream's events in position order, with their versions: "v1@...". */
  private static List<Object[]> recorded(TestDatabase db, String stream) {
    List<Object[]> out = new ArrayList<>();
    for (List<Object> row : db.query(
        "SELECT stream_version, recorded_at FROM events WHERE stream_id = ? ORDER BY position", stream)) {
      Instant at = row.get(1) instanceof java.sql.Timestamp t ? t.toInstant()
          : ((OffsetDateTime) row.get(1)).toInstant();
      out.add(new Object[] {((Number) row.get(0)).longValue(), at});
    }
    return out;
  }

  private static String describe(List<Object[]> rows) {
    StringBuilder s = new StringBuilder();
    for (Object[] r : rows) {
      s.append(" v").append(r[0]).append('@').append(r[1]);
    }
    return s.toString().trim();
  }

  @Test
  @DisplayName("a writer whose transaction began before another's but appended after it: recorded_at follows the "
      + "versions, and ?at= each event's recorded time folds exactly the events up to it")
  void lateAppenderOfAnEarlierTransaction(TestDatabase db) throws Exception {
    String stream = "rec-external";
    try (Connection a = db.connect(); Connection b = db.connect()) {
      insert(a, stream, 1);
      b.setAutoCommit(false);
      Instant bBegan = instant(b, "SELECT now()"); // B's transaction has begun: its now() is fixed from here
      Thread.sleep(20);
      insert(a, stream, 2); // A: begins after B, appends and commits first
      insert(b, stream, 3); // B takes the position lock after A's commit: version 3, position after 2
      b.commit();
      assertTrue(bBegan.isBefore(instant(a, "SELECT now()")));
    }

    List<Object[]> rows = recorded(db, stream);
    assertEquals(3, rows.size());
    String stored = describe(rows);
    List<Executable> checks = new ArrayList<>();
    for (int i = 1; i < rows.size(); i++) {
      Object[] prev = rows.get(i - 1);
      Object[] next = rows.get(i);
      checks.add(() -> assertFalse(((Instant) next[1]).isBefore((Instant) prev[1]),
          "recorded_at goes backwards in version order: " + stored));
    }
    // what the API answers at each event's recorded time: the stream up to that event, nothing else
    for (Object[] row : rows) {
      long version = (long) row[0];
      String at = row[1].toString();
      checks.add(() -> {
        Response r = gateway.http().getWithReadToken("/v1/visitors/" + stream + "?at=" + at);
        assertEquals(200, r.status(), r.body());
        assertEquals(version + " page views, last /" + version,
            r.json().getLong("pageViews") + " page views, last " + r.json().getString("lastPage"),
            "?at=" + at + " (the time v" + version + " was recorded; stored: " + stored + ")");
      });
    }
    assertAll(checks);
  }

  /**
   * Holds the position lock on a connection of its own while {@code append} runs, until the append waits on it; then
   * reads the clock and commits. Answers that time: whatever the append stores was stored after it.
   */
  private static Instant appendBehindTheLock(TestDatabase db, Runnable append, CompletableFuture<?> done)
      throws Exception {
    Instant released;
    try (Connection x = db.connect()) {
      x.setAutoCommit(false);
      try (Statement st = x.createStatement()) {
        st.execute("SELECT pg_advisory_xact_lock(" + StoreProbe.POSITION_LOCK_KEY + ")");
      }
      append.run();
      await().atMost(Duration.ofSeconds(20)).until(() -> db.queryLong("""
          SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted""") > 0);
      Thread.sleep(20);
      released = instant(x, "SELECT clock_timestamp()");
      x.commit();
    }
    done.get(30, TimeUnit.SECONDS);
    return released;
  }

  @Test
  @DisplayName("the gateway's fast path, held back by another writer's position lock: its event is recorded after "
      + "that lock is released, not when its statement began")
  void gatewayFastPathRecordsUnderTheLock(TestDatabase db) throws Exception {
    String stream = "rec-fast";
    CompletableFuture<Response> answer = new CompletableFuture<>();
    Instant released = appendBehindTheLock(db,
        () -> gateway.http().postEventsAsync(HttpTestClient.pageView(stream, "/fast")).whenComplete((r, e) -> {
          if (e != null) {
            answer.completeExceptionally(e);
          } else {
            answer.complete(r);
          }
        }), answer);
    assertEquals(200, answer.get().status(), answer.get().body());
    List<Object[]> rows = recorded(db, stream);
    assertEquals(1, rows.size());
    Instant recorded = (Instant) rows.get(0)[1];
    assertFalse(recorded.isBefore(released),
        "recorded at " + recorded + ", before the position lock it waited for was released at " + released);
  }

  @Test
  @DisplayName("the gateway's checked path (BEGIN; the position lock; the statement; COMMIT), held back by another "
      + "writer's lock: its event is recorded after that lock is released, not at BEGIN")
  void gatewayCheckedPathRecordsUnderTheLock(TestDatabase db) throws Exception {
    String stream = "rec-checked";
    Vertx vertx = Vertx.vertx();
    Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(1)).connectingTo(db.options()).using(vertx)
        .build();
    try {
      PgAppendTransaction tx = new PgAppendTransaction(pool);
      NewEvent event = new NewEvent(UUID.randomUUID(), stream, "PageViewed", 1, "{\"pageId\":\"/checked\"}", "{}",
          Instant.now());
      CompletableFuture<List<StoredRow>> done = new CompletableFuture<>();
      Instant released = appendBehindTheLock(db, () -> tx.run(List.of(event), true)
          .onComplete(ar -> {
            if (ar.succeeded()) {
              done.complete(ar.result());
            } else {
              done.completeExceptionally(ar.cause());
            }
          }), done);
      assertEquals(1, done.get().size());
      List<Object[]> rows = recorded(db, stream);
      assertEquals(1, rows.size());
      Instant recorded = (Instant) rows.get(0)[1];
      assertFalse(recorded.isBefore(released),
          "recorded at " + recorded + ", before the position lock it waited for was released at " + released);
    } finally {
      pool.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
