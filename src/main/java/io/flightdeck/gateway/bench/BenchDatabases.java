package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.config.DbConfig;
import io.flightdeck.gateway.store.DatabaseBootstrap;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The run's own databases on the server of {@code --db-url}: each phase gets a fresh, migrated one (so no phase
 * writes into a table an earlier phase grew), and every one is dropped again. JDBC, always on a worker thread.
 */
final class BenchDatabases {

  /** What the report says about the server. */
  record ServerInfo(String version, String synchronousCommit, String fsync, String sharedBuffers, String maxWalSize,
                    String checkpointTimeout, long postmasterPid) {
  }

  private final Vertx vertx;
  private final PgConnectOptions server;
  private final String prefix =
      "flightdeck_bench_" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss"));
  private final Set<String> created = ConcurrentHashMap.newKeySet();
  private final QuietStorage quiet;
  private volatile String checkpointRefused;

  /** {@code quiet}: what each fresh database waits for before its phase may start. */
  BenchDatabases(Vertx vertx, PgConnectOptions server, QuietStorage quiet) {
    this.vertx = vertx;
    this.server = server;
    this.quiet = quiet;
  }

  /**
   * Creates and migrates a database named after the phase, then flushes everything written so far (CHECKPOINT) and
   * waits until the storage is quiet; answers the database's URL.
   */
  Future<String> createFresh(String label) {
    String name = prefix + "_" + label.toLowerCase().replaceAll("[^a-z0-9]+", "_");
    String url = urlFor(name);
    return vertx.executeBlocking(() -> {
      created.add(name);
      DatabaseBootstrap.prepare(new DbConfig(url, true, 1, 1, 5000, 10));
      checkpoint();
      QuietStorage.Wait wait = quiet.await(label);
      System.out.println("  storage " + (wait.quiet() ? "quiet after " : "not quiet after ")
          + BenchText.num("%.1f s", wait.seconds()) + " (" + wait.state() + ")");
      return url;
    }, false);
  }

  /**
   * Flushes what earlier phases wrote, so no phase's window pays for another's WAL with a checkpoint. Needs
   * superuser or pg_checkpoint; without them the phases simply share checkpoints as they fall.
   */
  void checkpoint() {
    try (Connection c = connect(server.getDatabase()); Statement st = c.createStatement()) {
      st.execute("CHECKPOINT");
    } catch (SQLException e) {
      checkpointRefused = e.getMessage();
    }
  }

  /** Every wait for quiet storage so far, in order. */
  List<QuietStorage.Wait> quietWaits() {
    return quiet.waits();
  }

  /** Why CHECKPOINT was refused, or null when every phase started from one. */
  String checkpointRefused() {
    return checkpointRefused;
  }

  Future<Long> countEvents(String url) {
    return vertx.executeBlocking(() -> {
      try (Connection c = connect(PgConnectOptions.fromUri(url).getDatabase());
           Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT count(*) FROM events")) {
        rs.next();
        return rs.getLong(1);
      }
    }, false);
  }

  Future<Void> drop(String url) {
    String name = PgConnectOptions.fromUri(url).getDatabase();
    return vertx.executeBlocking(() -> {
      dropNow(name);
      return null;
    }, false);
  }

  /** Drops every database this run created and has not dropped yet. */
  Future<Void> dropAll() {
    return vertx.executeBlocking(() -> {
      dropAllNow();
      return null;
    }, false);
  }

  /** The blocking form, for a shutdown hook where no event loop may be left. */
  void dropAllNow() throws SQLException {
    for (String name : List.copyOf(created)) {
      dropNow(name);
    }
  }

  Future<ServerInfo> serverInfo() {
    return vertx.executeBlocking(() -> {
      try (Connection c = connect(server.getDatabase()); Statement st = c.createStatement()) {
        String version = show(st, "server_version");
        String sync = show(st, "synchronous_commit");
        String fsync = show(st, "fsync");
        // the two settings that decide how much a write-heavy run pays for evictions and checkpoints
        String sharedBuffers = show(st, "shared_buffers");
        String maxWalSize = show(st, "max_wal_size");
        String checkpointTimeout = show(st, "checkpoint_timeout");
        long backend = scalar(st, "SELECT pg_backend_pid()");
        // read while this backend is alive: its parent is the postmaster, whose children we measure
        return new ServerInfo(version, sync, fsync, sharedBuffers, maxWalSize, checkpointTimeout,
            CpuProbe.parentPid(backend));
      }
    }, false);
  }

  private void dropNow(String name) throws SQLException {
    if (!created.contains(name)) {
      return; // never drop anything this run did not create
    }
    try (Connection c = connect(server.getDatabase()); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
      created.remove(name);
    }
  }

  String urlFor(String database) {
    String user = URLEncoder.encode(server.getUser(), StandardCharsets.UTF_8);
    String auth = server.getPassword() == null ? user
        : user + ":" + URLEncoder.encode(server.getPassword(), StandardCharsets.UTF_8);
    return "postgresql://" + auth + "@" + server.getHost() + ":" + server.getPort() + "/" + database;
  }

  /** A JDBC connection to one of this run's databases, by its URL: for a phase's own sampling and checks. */
  Connection open(String url) throws SQLException {
    return connect(PgConnectOptions.fromUri(url).getDatabase());
  }

  private Connection connect(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", server.getUser());
    if (server.getPassword() != null) {
      p.setProperty("password", server.getPassword());
    }
    p.setProperty("ApplicationName", "flightdeck-bench");
    return DriverManager.getConnection(
        "jdbc:postgresql://" + server.getHost() + ":" + server.getPort() + "/" + database, p);
  }

  private static String show(Statement st, String setting) throws SQLException {
    try (ResultSet rs = st.executeQuery("SHOW " + setting)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static long scalar(Statement st, String sql) throws SQLException {
    try (ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
