package io.flightdeck.gateway.store;

import io.flightdeck.gateway.config.DbConfig;
import io.vertx.pgclient.PgConnectOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up work on the database, done with JDBC before any verticle deploys (it blocks, so it never runs on an
 * event loop): create the database when missing, then apply the Flyway migrations.
 */
public final class DatabaseBootstrap {

  private static final Logger LOG = LoggerFactory.getLogger(DatabaseBootstrap.class);
  private static final String DUPLICATE_DATABASE = "42P04";
  private static final String UNIQUE_VIOLATION = "23505";
  private static final String INVALID_CATALOG = "3D000";

  private DatabaseBootstrap() {
  }

  /** Prepares the database and returns the schema version now applied. Blocks; call off the event loop. */
  public static String prepare(DbConfig db) throws SQLException, InterruptedException {
    PgConnectOptions options = PgConnectOptions.fromUri(db.url());
    long deadline = System.nanoTime() + db.startupTimeoutSeconds() * 1_000_000_000L;
    waitForServer(options, db, deadline);
    if (db.createDatabase()) {
      createDatabaseIfMissing(options, db);
    }
    return migrate(options);
  }

  /**
   * The JDBC URL of {@code database} on the server of {@code o}. The name is the decoded one (the pg client decoded
   * the operator's %-escapes) and the driver decodes the URL's once more (as a form: '+' is a space), so it goes in
   * escaped again: else fd%2Bboot in db.url would be created as fd+boot and migrated as "fd boot".
   */
  static String jdbcUrl(PgConnectOptions o, String database) {
    String ssl = o.getSslMode() == null ? "" : "?sslmode=" + o.getSslMode().name().toLowerCase().replace('_', '-');
    return "jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/"
        + URLEncoder.encode(database, StandardCharsets.UTF_8) + ssl;
  }

  static Properties credentials(PgConnectOptions o) {
    Properties p = new Properties();
    p.setProperty("user", o.getUser());
    if (o.getPassword() != null) {
      p.setProperty("password", o.getPassword());
    }
    p.setProperty("connectTimeout", "10");
    p.setProperty("ApplicationName", "flightdeck-gateway-bootstrap");
    return p;
  }

  private static void waitForServer(PgConnectOptions o, DbConfig db, long deadline)
      throws SQLException, InterruptedException {
    long backoffMs = 250;
    while (true) {
      try (Connection c = DriverManager.getConnection(jdbcUrl(o, "postgres"), credentials(o))) {
        return;
      } catch (SQLException e) {
        if (INVALID_CATALOG.equals(e.getSQLState())) {
          return; // the server answers; it just has no "postgres" database
        }
        if (System.nanoTime() - deadline >= 0) {
          throw new SQLException("cannot reach PostgreSQL at " + o.getHost() + ":" + o.getPort() + " within "
              + db.startupTimeoutSeconds() + " s: " + e.getMessage(), e.getSQLState(), e);
        }
        LOG.warn("PostgreSQL at {}:{} not reachable yet ({}); retrying", o.getHost(), o.getPort(), e.getMessage());
        Thread.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 2000);
      }
    }
  }

  private static void createDatabaseIfMissing(PgConnectOptions o, DbConfig db) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl(o, o.getDatabase()), credentials(o))) {
      return;
    } catch (SQLException e) {
      if (!INVALID_CATALOG.equals(e.getSQLState())) {
        throw e;
      }
    }
    try (Connection c = DriverManager.getConnection(jdbcUrl(o, "postgres"), credentials(o));
         Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + quoteIdentifier(o.getDatabase()));
      LOG.info("created database {}", o.getDatabase());
    } catch (SQLException e) {
      // another process created it first: duplicate_database if it had committed before this one began, else a
      // unique violation on the catalog's name index once it commits (two gateways started at once)
      if (!DUPLICATE_DATABASE.equals(e.getSQLState()) && !UNIQUE_VIOLATION.equals(e.getSQLState())) {
        throw new SQLException("database " + o.getDatabase() + " does not exist and cannot be created: "
            + e.getMessage(), e.getSQLState(), e);
      }
    }
  }

  private static String migrate(PgConnectOptions o) {
    Properties p = credentials(o);
    Flyway flyway = Flyway.configure()
        .dataSource(jdbcUrl(o, o.getDatabase()), p.getProperty("user"), p.getProperty("password"))
        .locations("classpath:db/migration")
        .connectRetries(3)
        .load();
    MigrateResult result = flyway.migrate();
    String version = flyway.info().current().getVersion().getVersion();
    LOG.info("schema at version {} ({} migrations applied now)", version, result.migrationsExecuted);
    return version;
  }

  static String quoteIdentifier(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }
}
