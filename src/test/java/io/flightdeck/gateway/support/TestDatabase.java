package io.flightdeck.gateway.support;

import io.vertx.pgclient.PgConnectOptions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * A fresh, empty database for one test class, and blocking JDBC helpers for asserting on what is stored.
 * The helpers run on the test thread, never on an event loop.
 */
public record TestDatabase(String url) {

  public PgConnectOptions options() {
    return PgConnectOptions.fromUri(url);
  }

  public String name() {
    return options().getDatabase();
  }

  public String jdbcUrl() {
    PgConnectOptions o = options();
    return "jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + o.getDatabase();
  }

  /** A URL for another database on the same server. */
  public String urlFor(String database) {
    PgConnectOptions o = options();
    return url(o.getHost(), o.getPort(), database);
  }

  /** A URL for this database at another address (a proxy in front of its server). */
  public String urlVia(String host, int port) {
    return url(host, port, name());
  }

  private String url(String host, int port, String database) {
    PgConnectOptions o = options();
    String auth = o.getPassword() == null ? o.getUser() : o.getUser() + ":" + o.getPassword();
    return "postgresql://" + auth + "@" + host + ":" + port + "/" + database;
  }

  public Connection connect() throws SQLException {
    PgConnectOptions o = options();
    Properties p = new Properties();
    p.setProperty("user", o.getUser());
    if (o.getPassword() != null) {
      p.setProperty("password", o.getPassword());
    }
    return DriverManager.getConnection(jdbcUrl(), p);
  }

  /**
   * What a failover to a replica that had received the store up to position {@code kept} leaves: the events after it
   * gone, and the next event at the position after it (the identity sequence as the replica logged it), so new events
   * take the lost ones' positions. The append-only triggers are off for it, as they never fire on a replica's copy.
   */
  public void loseEventsAfter(long kept) {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("SET LOCAL session_replication_role = replica");
      st.execute("DELETE FROM events WHERE position > " + kept);
      st.execute("SELECT setval(pg_get_serial_sequence('events', 'position'), " + Math.max(kept, 1) + ", "
          + (kept > 0) + ")");
      c.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Keeps {@code table} without planner statistics from here on (autovacuum never analyzes it), as a table that grew
   * since autovacuum last analyzed it: the planner then expects few rows of any key, which is what a read that must
   * be bounded by its page whatever the plan is tested against.
   */
  public void withoutStatistics(String table) {
    execute("ALTER TABLE " + table + " SET (autovacuum_enabled = false)");
  }

  public void execute(String sql, Object... params) {
    try (Connection c = connect(); PreparedStatement st = c.prepareStatement(sql)) {
      bind(st, params);
      st.execute();
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  public long queryLong(String sql, Object... params) {
    List<List<Object>> rows = query(sql, params);
    return ((Number) rows.get(0).get(0)).longValue();
  }

  public List<List<Object>> query(String sql, Object... params) {
    try (Connection c = connect(); PreparedStatement st = c.prepareStatement(sql)) {
      bind(st, params);
      try (ResultSet rs = st.executeQuery()) {
        List<List<Object>> rows = new ArrayList<>();
        int columns = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<Object> row = new ArrayList<>(columns);
          for (int i = 1; i <= columns; i++) {
            row.add(rs.getObject(i));
          }
          rows.add(row);
        }
        return rows;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  private static void bind(PreparedStatement st, Object[] params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      st.setObject(i + 1, params[i]);
    }
  }
}
