package io.flightdeck.gateway.store;

import io.flightdeck.gateway.config.ConfigException;
import io.flightdeck.gateway.config.DbConfig;
import io.vertx.pgclient.PgConnectOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.Set;
import javax.net.ssl.SSLException;
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
  /** SQLSTATE class 28, invalid authorization specification: 28000 (role, pg_hba.conf) and 28P01 (password). */
  private static final String INVALID_AUTHORIZATION_CLASS = "28";
  private static final String INVALID_AUTHORIZATION = "28000";
  /**
   * The TLS alerts (RFC 8446, 6.2) with which a server refuses the client's certificate: with pg_hba.conf's cert, one
   * its ssl_ca_file does not verify (unknown_ca), or none at all under clientcert (certificate_required).
   */
  private static final Set<String> CLIENT_CERTIFICATE_ALERTS = Set.of("bad_certificate", "unsupported_certificate",
      "certificate_revoked", "certificate_expired", "certificate_unknown", "unknown_ca", "access_denied",
      "certificate_required");

  private DatabaseBootstrap() {
  }

  /** Prepares the database and returns the schema version now applied. Blocks; call off the event loop. */
  public static String prepare(DbConfig db) throws SQLException, InterruptedException {
    PgConnectOptions options = db.connectOptions();
    long deadline = System.nanoTime() + db.startupTimeoutSeconds() * 1_000_000_000L;
    boolean exists = waitForServer(options, db, deadline);
    if (!exists) {
      if (!db.createDatabase()) {
        // said at once: the migration's connection retries (7 s) cannot make the database appear
        throw new SQLException("database \"" + options.getDatabase() + "\" does not exist on PostgreSQL at "
            + options.getHost() + ":" + options.getPort() + " (db.createDatabase is false: create it, or set it true)",
            INVALID_CATALOG);
      }
      createDatabase(options, db);
    }
    return migrate(options, db);
  }

  /**
   * The JDBC URL of {@code database} on the server of {@code o}. The name is the decoded one (the pg client decoded
   * the operator's %-escapes) and the driver decodes the URL's once more (as a form: '+' is a space), so it goes in
   * escaped again: else fd%2Bboot in db.url would be created as fd+boot and migrated as "fd boot". The sslmode is
   * the one the pg client uses (require with a CA file raised to verify-ca, see DbConfig.connectOptions).
   *
   * <p>With db.url's sslrootcert or sslcert, TLS is {@link PemSslSocketFactory}'s, which reads those files (and
   * sslkey), escaped the same way, as the pg client reads them: the driver's own factory takes no PEM key, and checks
   * the host name only after the handshake, failing as a server that is not up does.
   */
  static String jdbcUrl(PgConnectOptions o, DbConfig db, String database) {
    String ssl = o.getSslMode() == null ? "" : "?sslmode=" + o.getSslMode().name().toLowerCase().replace('_', '-');
    if (o.getSslMode() != null && (db.sslRootCert() != null || db.sslCert() != null)) {
      ssl += "&sslfactory=" + PemSslSocketFactory.class.getName();
      ssl += db.sslRootCert() == null ? "" : "&sslrootcert=" + escaped(db.sslRootCert());
      ssl += db.sslCert() == null ? "" : "&sslcert=" + escaped(db.sslCert()) + "&sslkey=" + escaped(db.sslKey());
    }
    return "jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + escaped(database) + ssl;
  }

  private static String escaped(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /**
   * The user, password and timeouts of every start-up connection. The driver's own defaults wait for the server's
   * first answer without end: a server that takes the connection and never answers (frozen, or a proxy in front of
   * one that is down) held start-up for ever, past db.startupTimeoutSeconds. loginTimeout bounds the whole opening
   * (TCP connect, TLS, authentication) by db.connectionWaitMs, as the pools bound theirs; statements, migrations
   * among them, are left unbounded.
   */
  static Properties credentials(PgConnectOptions o, DbConfig db) {
    Properties p = new Properties();
    p.setProperty("user", o.getUser());
    if (o.getPassword() != null) {
      p.setProperty("password", o.getPassword());
    }
    p.setProperty("connectTimeout", String.valueOf(seconds(db.connectTimeoutMs())));
    p.setProperty("loginTimeout", String.valueOf(seconds(db.connectionBoundMs())));
    p.setProperty("ApplicationName", "flightdeck-gateway-bootstrap");
    return p;
  }

  /** Whole seconds, rounded up: the driver takes its timeouts in seconds, and 0 would mean no bound at all. */
  private static int seconds(int ms) {
    return Math.max(1, (ms + 999) / 1000);
  }

  /**
   * Waits until the server answers and says whether the database exists. It asks for the database itself: a role
   * may well be allowed there alone (pg_hba.conf naming only the gateway's database, CONNECT revoked on postgres, a
   * hosted server), and asking for postgres first refused to start on a database that was there all along.
   */
  private static boolean waitForServer(PgConnectOptions o, DbConfig db, long deadline)
      throws SQLException, InterruptedException {
    long backoffMs = 250;
    while (true) {
      String url = jdbcUrl(o, db, o.getDatabase());
      try (Connection c = DriverManager.getConnection(url, credentials(o, db))) {
        return true;
      } catch (SQLException e) {
        if (INVALID_CATALOG.equals(e.getSQLState())) {
          return false; // the server answers; the database is not there yet
        }
        refusedCertificate(e, o, db);
        if (e.getSQLState() != null && e.getSQLState().startsWith(INVALID_AUTHORIZATION_CLASS)) {
          // the server answers and refuses the role (no LOGIN, a wrong password, pg_hba.conf): no retry mends that
          throw new SQLException("PostgreSQL at " + o.getHost() + ":" + o.getPort() + " refused the connection: "
              + e.getMessage() + unsentCertificate(e, db), e.getSQLState(), e);
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

  /**
   * Ends start-up at once when a certificate was refused, which no retry mends: the server's, by the gateway (another
   * CA, a name it does not hold under verify-full), is a configuration error of db.url (exit 2), said as such; the
   * gateway's client certificate, by the server (a TLS alert), is an authentication failure, as a wrong password is.
   * Until then both were retried as a server not up yet for db.startupTimeoutSeconds.
   */
  private static void refusedCertificate(SQLException e, PgConnectOptions o, DbConfig db) throws SQLException {
    String at = "PostgreSQL at " + o.getHost() + ":" + o.getPort();
    boolean handshake = false; // a CertificateException elsewhere (a file changed since load) is no server's refusal
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (handshake && t instanceof CertificateException) {
        throw new ConfigException("db.url", "the server's certificate was refused (" + at + ", sslmode="
            + o.getSslMode().value + ", sslrootcert=" + db.sslRootCert() + "): " + t.getMessage());
      }
      handshake |= t instanceof SSLException;
      String message = String.valueOf(t.getMessage());
      String alert = message.substring(message.indexOf(':') + 1).strip();
      if (t instanceof SSLException && message.startsWith("Received fatal alert:")
          && CLIENT_CERTIFICATE_ALERTS.contains(alert)) {
        throw new SQLException(at + " refused the connection: it refused the client certificate " + (db.sslCert()
            == null ? "(none given: add sslcert and sslkey to db.url)" : db.sslCert()) + " (TLS alert " + alert + ")",
            INVALID_AUTHORIZATION, e);
      }
    }
  }

  /**
   * Why a server that wants a client certificate got none though db.url gives one: TLS sends only a certificate whose
   * issuer is among the CAs the server names (its ssl_ca_file), and the server's message does not say that.
   */
  private static String unsentCertificate(SQLException e, DbConfig db) {
    if (db.sslCert() == null || e.getMessage() == null || !e.getMessage().contains("valid client certificate")) {
      return "";
    }
    return " (sslcert " + db.sslCert() + " was not sent: the server accepts certificates of other CAs only)";
  }

  /** Creates the missing database, from the maintenance database postgres (the one CREATE DATABASE needs). */
  private static void createDatabase(PgConnectOptions o, DbConfig db) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl(o, db, "postgres"), credentials(o, db));
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

  private static String migrate(PgConnectOptions o, DbConfig db) {
    Properties p = credentials(o, db);
    // the timeouts go in the URL: Flyway's DataSource takes a user and a password, not the driver's properties
    String url = jdbcUrl(o, db, o.getDatabase()) + (o.getSslMode() == null ? "?" : "&")
        + "connectTimeout="
        + p.getProperty("connectTimeout") + "&loginTimeout=" + p.getProperty("loginTimeout");
    Flyway flyway = Flyway.configure()
        .dataSource(url, p.getProperty("user"), p.getProperty("password"))
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
