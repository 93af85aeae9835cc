package io.flightdeck.gateway.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;
import io.vertx.pgclient.PgConnectOptions;

/**
 * Gives each test class a fresh database on a real PostgreSQL server: a Testcontainers PostgreSQL 16 when a
 * Docker engine answers, else the server at {@code FLIGHTDECK_TEST_DB_URL} (default
 * {@code postgresql://postgres@127.0.0.1:5432/postgres}). The database is dropped after the class.
 * Inject it as a {@link TestDatabase} parameter of a test, constructor or lifecycle method.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {

  private static final String DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PostgresExtension.class);
  private static volatile String serverUrl;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    context.getStore(NS).put("db", create(context.getRequiredTestClass().getSimpleName()));
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    TestDatabase db = context.getStore(NS).remove("db", TestDatabase.class);
    if (db != null) {
      drop(db);
    }
  }

  /**
   * A fresh database named after {@code label}, for a test engine that runs no JUnit Jupiter extension (jqwik's
   * properties): its class creates it before its tries and {@link #drop}s it after them.
   */
  public static TestDatabase create(String label) throws SQLException {
    String name = "fd_test_" + label.toLowerCase(Locale.ROOT) + "_" + UUID.randomUUID().toString().substring(0, 8);
    String server = server();
    try (Connection c = connect(server); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
    return new TestDatabase(new TestDatabase(server).urlFor(name));
  }

  /** Drops a database {@link #create} made, closing what is still connected to it. */
  public static void drop(TestDatabase db) throws SQLException {
    try (Connection c = connect(server()); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + db.name() + " WITH (FORCE)");
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestDatabase.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return database(context);
  }

  /** The database this extension made for the test class of {@code context} (a class's, a test's or a nested one's). */
  public static TestDatabase database(ExtensionContext context) {
    ExtensionContext c = context;
    while (c != null) {
      TestDatabase db = c.getStore(NS).get("db", TestDatabase.class);
      if (db != null) {
        return db;
      }
      c = c.getParent().orElse(null);
    }
    throw new IllegalStateException("no test database: is the class annotated with @ExtendWith(PostgresExtension.class)?");
  }

  /** The server's maintenance URL, started once per test JVM. */
  static synchronized String server() {
    if (serverUrl == null) {
      serverUrl = dockerAvailable() ? startContainer() : localServer();
    }
    return serverUrl;
  }

  private static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  @SuppressWarnings("resource") // stopped by Testcontainers' reaper when the JVM exits
  private static String startContainer() {
    PostgreSQLContainer<?> pg = new PostgreSQLContainer<>("postgres:16-alpine");
    pg.start();
    return "postgresql://" + pg.getUsername() + ":" + pg.getPassword() + "@" + pg.getHost() + ":"
        + pg.getMappedPort(5432) + "/" + pg.getDatabaseName();
  }

  private static String localServer() {
    String url = System.getenv("FLIGHTDECK_TEST_DB_URL");
    return url == null || url.isBlank() ? DEFAULT_URL : url;
  }

  private static Connection connect(String url) throws SQLException {
    PgConnectOptions o = PgConnectOptions.fromUri(url);
    Properties p = new Properties();
    p.setProperty("user", o.getUser());
    if (o.getPassword() != null) {
      p.setProperty("password", o.getPassword());
    }
    return DriverManager.getConnection("jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + o.getDatabase(), p);
  }
}
