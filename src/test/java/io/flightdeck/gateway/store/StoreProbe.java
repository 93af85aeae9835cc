package io.flightdeck.gateway.store;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the store tests do to PostgreSQL from the outside: hold the position lock, find and kill the gateway's
 * append backends, insert rows the way a writer that bypasses the gateway would. All blocking, on test threads.
 */
final class StoreProbe {

  /** The advisory lock key every insert into events takes (V1__event_store.sql). */
  static final long POSITION_LOCK_KEY = 1178861569L;

  static final String APPEND_APPLICATION = "flightdeck-append";

  private StoreProbe() {
  }

  /** The maintenance database of the same server: reachable even while the test database refuses connections. */
  static TestDatabase server(TestDatabase db) {
    return new TestDatabase(db.urlFor("postgres"));
  }

  /** Pids of the gateway's append connections to {@code db} that wait on a lock. */
  static List<Integer> appendBackendsWaitingOnLock(TestDatabase db) {
    return pids(server(db).query("""
        SELECT pid FROM pg_stat_activity
        WHERE datname = ? AND application_name = ? AND wait_event_type = 'Lock'
        ORDER BY pid""", db.name(), APPEND_APPLICATION));
  }

  /** Pids of the gateway's append connections to {@code db} that show {@code waitEvent} (e.g. PgSleep). */
  static List<Integer> appendBackendsWaitingOn(TestDatabase db, String waitEvent) {
    return pids(server(db).query("""
        SELECT pid FROM pg_stat_activity
        WHERE datname = ? AND application_name = ? AND wait_event = ?
        ORDER BY pid""", db.name(), APPEND_APPLICATION, waitEvent));
  }

  /** Pids of the gateway's append connections to {@code db} that sit idle inside a transaction. */
  static List<Integer> appendBackendsIdleInTransaction(TestDatabase db) {
    return pids(server(db).query("""
        SELECT pid FROM pg_stat_activity
        WHERE datname = ? AND application_name = ? AND state = 'idle in transaction'
        ORDER BY pid""", db.name(), APPEND_APPLICATION));
  }

  /** Whether backend {@code pid} waits on a lock now. */
  static boolean waitsOnLock(TestDatabase db, int pid) {
    return server(db).queryLong(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'", pid) == 1;
  }

  static void terminate(TestDatabase db, int pid) {
    server(db).query("SELECT pg_terminate_backend(?)", pid);
  }

  /** Ends every session on {@code db} except the caller's, as an operator or a crash would. */
  static void terminateAllSessions(TestDatabase db) {
    server(db).query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? "
        + "AND pid <> pg_backend_pid()", db.name());
  }

  static void allowConnections(TestDatabase db, boolean allow) {
    // database names are identifiers, not parameters; the test database's name is generated and safe
    server(db).execute("ALTER DATABASE " + db.name() + " WITH ALLOW_CONNECTIONS " + allow);
  }

  static long rowsWithId(TestDatabase db, String id) {
    return db.queryLong("SELECT count(*) FROM events WHERE id = ?::uuid", id);
  }

  /** The table's positions in order. */
  static List<Long> positions(TestDatabase db, String where, Object... params) {
    List<Long> out = new ArrayList<>();
    for (List<Object> row : db.query("SELECT position FROM events " + where + " ORDER BY position", params)) {
      out.add(((Number) row.get(0)).longValue());
    }
    return out;
  }

  /**
   * Inserts one PageViewed row with plain SQL in the connection's current transaction, as a writer that
   * bypasses the gateway would. Answers the row's id.
   */
  static UUID insertRaw(Connection c, String streamId, long streamVersion) throws SQLException {
    UUID id = UUID.randomUUID();
    try (PreparedStatement st = c.prepareStatement("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
        VALUES (?, ?, ?, 'PageViewed', 1, ?::jsonb, '{}'::jsonb, now())""")) {
      st.setObject(1, id);
      st.setString(2, streamId);
      st.setLong(3, streamVersion);
      st.setString(4, "{\"pageId\":\"/raw/" + streamVersion + "\"}");
      st.executeUpdate();
    }
    return id;
  }

  static int backendPid(Connection c) throws SQLException {
    try (Statement st = c.createStatement(); var rs = st.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Waits for every response, at most {@code timeout} in all. */
  static List<HttpTestClient.Response> all(List<CompletableFuture<HttpTestClient.Response>> futures,
      Duration timeout) throws Exception {
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    List<HttpTestClient.Response> out = new ArrayList<>(futures.size());
    for (CompletableFuture<HttpTestClient.Response> f : futures) {
      out.add(f.join());
    }
    return out;
  }

  static <T> T within(CompletableFuture<T> future, Duration timeout)
      throws InterruptedException, ExecutionException, TimeoutException {
    return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static List<Integer> pids(List<List<Object>> rows) {
    List<Integer> out = new ArrayList<>(rows.size());
    for (List<Object> row : rows) {
      out.add(((Number) row.get(0)).intValue());
    }
    return out;
  }

  /**
   * The position lock held by a session of the test's own, as a long-running writer would: every append, the
   * gateway's and anyone else's, waits behind it.
   */
  static final class PositionLock implements AutoCloseable {

    private final Connection connection;
    private boolean held;

    private PositionLock(Connection connection) {
      this.connection = connection;
    }

    static PositionLock hold(TestDatabase db) throws SQLException {
      Connection c = db.connect();
      try (Statement st = c.createStatement()) {
        st.execute("SELECT pg_advisory_lock(" + POSITION_LOCK_KEY + ")");
      } catch (SQLException e) {
        c.close();
        throw e;
      }
      PositionLock lock = new PositionLock(c);
      lock.held = true;
      return lock;
    }

    void release() throws SQLException {
      if (held) {
        try (Statement st = connection.createStatement()) {
          st.execute("SELECT pg_advisory_unlock(" + POSITION_LOCK_KEY + ")");
        }
        held = false;
      }
    }

    @Override
    public void close() throws SQLException {
      try {
        release();
      } finally {
        connection.close();
      }
    }
  }
}
