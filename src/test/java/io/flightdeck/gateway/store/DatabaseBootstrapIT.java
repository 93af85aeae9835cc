package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.config.DbConfig;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Start-up prepares the store: creates the database when it is missing, migrates it, and is safe to repeat. */
@ExtendWith(PostgresExtension.class)
class DatabaseBootstrapIT {

  private static final List<List<Object>> MIGRATIONS = List.of(List.of("1", true), List.of("2", true),
      List.of("3", true), List.of("4", true), List.of("5", true),
      List.of("6", true), List.of("7", true), List.of("8", true));

  /** The identifier columns schema 4 gives the "C" collation (the only columns not of the database's). */
  private static final List<String> BYTE_ORDERED = List.of("event_counts.type", "events.stream_id", "events.type",
      "form_submissions.form_id", "form_submissions.site", "form_submissions.stream_id", "page_stats.page_id",
      "page_stats.site", "page_visitors.page_id", "page_visitors.site", "page_visitors.stream_id",
      "visitor_activity.site", "visitor_activity.stream_id");

  private TestDatabase server;
  private TestDatabase created;

  @BeforeEach
  void newName(TestDatabase db) {
    server = db;
    // a dash needs quoting in SQL: the name is used as an operator wrote it
    created = new TestDatabase(db.urlFor("fd-bootstrap-" + UUID.randomUUID().toString().substring(0, 8)));
  }

  @AfterEach
  void dropCreated() {
    server.execute("DROP DATABASE IF EXISTS \"" + created.name() + "\" WITH (FORCE)");
  }

  private boolean exists(String database) {
    return server.queryLong("SELECT count(*) FROM pg_database WHERE datname = ?", database) == 1;
  }

  private TestGateway startOn(TestDatabase database) {
    return TestGateway.start(server, Map.of("FLIGHTDECK_DB_URL", database.url()));
  }

  @Test
  @DisplayName("a gateway pointed at a database that does not exist yet creates it and applies every migration")
  void createsAndMigrates() throws Exception {
    assertFalse(exists(created.name()), "the database is new");
    try (TestGateway gateway = startOn(created)) {
      assertTrue(exists(created.name()), "the gateway created " + created.name());
      assertEquals(1L, created.queryLong("SELECT count(*) FROM information_schema.tables "
          + "WHERE table_schema = 'public' AND table_name = 'events'"));
      assertEquals(MIGRATIONS, created.query(
          "SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"));
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v1", "/x")).status());
      assertEquals(1L, created.queryLong("SELECT count(*) FROM events"));
    }
  }

  @Test
  @DisplayName("a database whose name is percent-escaped in the URL (a '+', a '%') is created, migrated and used "
      + "under that very name")
  void escapedDatabaseName() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    // postgresql://.../fd%2Bboot%25<suffix> names the database fd+boot%<suffix>, as libpq and the pg client read it
    created = new TestDatabase(server.urlFor("fd%2Bboot%25" + suffix));
    assertEquals("fd+boot%" + suffix, created.name());
    try (TestGateway gateway = startOn(created)) {
      assertTrue(exists(created.name()), "the gateway created " + created.name());
      assertFalse(exists("fd boot%" + suffix), "no database under a name decoded twice");
      assertEquals(200, gateway.http().getWithReadToken("/health/ready").status(), "migrated where it reads");
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v1", "/x")).status());
      assertEquals(1, gateway.http().getWithReadToken("/v1/events").json().getJsonArray("events").size());
    }
  }

  @Test
  @DisplayName("starting a second time on a created database changes nothing and keeps its events")
  void secondStartIsHarmless() throws Exception {
    JsonObject first = HttpTestClient.pageView("v1", "/first");
    JsonObject second = HttpTestClient.pageView("v1", "/second");
    try (TestGateway gateway = startOn(created)) {
      assertEquals(200, gateway.http().postEvents(first).status());
    }
    try (TestGateway gateway = startOn(created)) {
      HttpTestClient.Response r = gateway.http().postEvents(second);
      assertEquals(200, r.status(), r.body());
      assertEquals(2L, r.results().getJsonObject(0).getLong("streamVersion"), "the stream continues where it was");
      assertEquals(200, gateway.http().getWithReadToken("/health/ready").status());
    }
    assertEquals(MIGRATIONS, created.query(
        "SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"));
    assertEquals(List.of(List.of(first.getString("id"), "/first", 1L), List.of(second.getString("id"), "/second", 2L)),
        created.query("SELECT id::text, data->>'pageId', stream_version FROM events ORDER BY position"));
  }

  @Test
  @DisplayName("two gateways starting at once on a database that does not exist yet create and migrate it once")
  void concurrentStartsMigrateOnce() throws Exception {
    ExecutorService starters = Executors.newFixedThreadPool(2);
    List<Future<TestGateway>> starting = List.of(starters.submit(() -> startOn(created)),
        starters.submit(() -> startOn(created)));
    starters.shutdown();
    try (TestGateway one = starting.get(0).get(60, TimeUnit.SECONDS);
         TestGateway two = starting.get(1).get(60, TimeUnit.SECONDS)) {
      assertEquals(MIGRATIONS, created.query(
          "SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"),
          "every migration applied exactly once");
      assertEquals(200, one.http().postEvents(HttpTestClient.pageView("v1", "/one")).status());
      assertEquals(200, two.http().postEvents(HttpTestClient.pageView("v1", "/two")).status());
      assertEquals(List.of(List.of(1L), List.of(2L)),
          created.query("SELECT stream_version FROM events ORDER BY position"));
    }
  }

  @Test
  @DisplayName("a role that may connect to its own database but not to the database postgres starts on it and "
      + "migrates it")
  void roleWithoutAccessToPostgresDatabase() throws Exception {
    String role = "fd_own_db_only_" + UUID.randomUUID().toString().substring(0, 8);
    server.execute("CREATE ROLE " + role + " LOGIN");
    try {
      // PostgreSQL refuses this role's sessions on the database postgres alone (FATAL at connection), as a
      // pg_hba.conf that lists only the gateway's database, or REVOKE CONNECT, would; those are the whole server's
      server.execute("ALTER ROLE " + role + " IN DATABASE postgres SET session_preload_libraries = 'fd_no_such_lib'");
      server.execute("CREATE DATABASE \"" + created.name() + "\" OWNER " + role);
      String url = created.url().replaceFirst("://[^@/]*@", "://" + role + "@");
      try (TestGateway gateway = TestGateway.start(server, Map.of("FLIGHTDECK_DB_URL", url,
          "FLIGHTDECK_DB_STARTUP_TIMEOUT_SECONDS", "2"))) {
        assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v1", "/x")).status());
        assertEquals(MIGRATIONS, created.query(
            "SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank"));
      }
    } finally {
      server.execute("DROP DATABASE IF EXISTS \"" + created.name() + "\" WITH (FORCE)");
      server.execute("DROP ROLE " + role);
    }
  }

  @Test
  @DisplayName("a server that takes the connection and never answers stops start-up once db.startupTimeoutSeconds "
      + "are up, naming the server")
  void silentServer() throws Exception {
    // connections are accepted by the kernel into the backlog and never answered: a frozen server, a proxy in front
    // of one that is down
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      String at = "127.0.0.1:" + silent.getLocalPort();
      DbConfig db = new DbConfig("postgresql://postgres@" + at + "/flightdeck", true, 1, 1, 1000, 1, 30_000, 1000);
      SQLException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
          () -> assertThrows(SQLException.class, () -> DatabaseBootstrap.prepare(db)), "start-up never ended");
      assertTrue(e.getMessage().contains(at), e.getMessage());
    }
  }

  @Test
  @DisplayName("a role the server refuses (no LOGIN, a wrong password, pg_hba.conf) stops start-up at once with the "
      + "server's reason, instead of being retried as unreachable for db.startupTimeoutSeconds")
  void refusedRoleIsNotRetried() throws Exception {
    String role = "fd_nologin_" + UUID.randomUUID().toString().substring(0, 8);
    server.execute("CREATE ROLE " + role + " NOLOGIN");
    try {
      String url = created.url().replaceFirst("://[^@/]*@", "://" + role + "@");
      DbConfig db = new DbConfig(url, true, 1, 1, 1000, 30, 30_000, 1000);
      SQLException e = assertThrows(SQLException.class, () -> DatabaseBootstrap.prepare(db));
      // before, the refusal was retried as "not reachable yet" until the 30 s were up: "cannot reach ... within 30 s"
      assertEquals("28000", e.getSQLState(), e.getMessage());
      assertFalse(e.getMessage().contains("within 30 s"), e.getMessage());
      assertTrue(e.getMessage().contains("refused") && e.getMessage().contains(role), e.getMessage());
    } finally {
      server.execute("DROP ROLE " + role);
    }
  }

  @Test
  @DisplayName("a database that already exists but is empty is migrated, not re-created")
  void existingEmptyDatabaseIsMigrated() throws Exception {
    server.execute("CREATE DATABASE \"" + created.name() + "\"");
    long oid = server.queryLong("SELECT oid FROM pg_database WHERE datname = ?", created.name());
    try (TestGateway gateway = startOn(created)) {
      assertEquals(oid, server.queryLong("SELECT oid FROM pg_database WHERE datname = ?", created.name()));
      assertEquals(1L, created.queryLong("SELECT count(*) FROM information_schema.tables "
          + "WHERE table_schema = 'public' AND table_name = 'events'"));
    }
  }

  @Test
  @DisplayName("a store at schema 2 is upgraded in place: page_visitors keeps its rows under the new key order")
  void upgradesFromSchema2() throws Exception {
    createAtSchema("2");
    // page-stats as schema 2 left it: v1 already counted for /a today, nothing left to replay
    created.execute("INSERT INTO projection_checkpoints (name) VALUES ('page-stats')");
    created.execute("INSERT INTO page_visitors VALUES ('demo', '/a', (now() AT TIME ZONE 'UTC')::date, 'v1')");
    created.execute("INSERT INTO page_stats VALUES ('demo', '/a', (now() AT TIME ZONE 'UTC')::date, 1, 1)");

    try (TestGateway gateway = startOn(created)) {
      // the visitor leads (V3); the page is keyed by its digest since V5
      assertEquals("stream_id,site,day,page_key", primaryKey("page_visitors"));
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v1", "/a")).status());
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v2", "/a")).status());
      // v1's row survived the new key: its second view is a view, not a second unique visitor
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> created.query(
          "SELECT sum(views)::bigint, sum(unique_visitors)::bigint FROM page_stats WHERE page_id = '/a'")
          .equals(List.of(List.of(3L, 2L))));
      assertEquals(2L, created.queryLong("SELECT count(*) FROM page_visitors"));
    }
  }

  @Test
  @DisplayName("a store at schema 3 is upgraded in place: identifiers compare by bytes, rows and streams carry on")
  void upgradesFromSchema3() throws Exception {
    createAtSchema("3");
    created.execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        VALUES (gen_random_uuid(), 'Visitor-1', 1, 'PageViewed', 1, '{"pageId": "/a"}', now())""");

    try (TestGateway gateway = startOn(created)) {
      assertEquals(BYTE_ORDERED.stream().map(c -> List.<Object>of(c, "C")).toList(), created.query("""
          SELECT c, collation_name FROM (
            SELECT (table_name || '.' || column_name)::text COLLATE "C" AS c, collation_name::text
            FROM information_schema.columns WHERE table_schema = 'public' AND collation_name IS NOT NULL) t
          ORDER BY c"""));
      // the stream's key still finds the old row: the next event continues the stream
      HttpTestClient.Response r = gateway.http().postEvents(HttpTestClient.pageView("Visitor-1", "/b"));
      assertEquals(200, r.status(), r.body());
      assertEquals(2L, r.results().getJsonObject(0).getLong("streamVersion"));
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("visitor-1", "/b")).status());
      assertEquals(List.of(List.of("Visitor-1", 1L), List.of("Visitor-1", 2L), List.of("visitor-1", 1L)),
          created.query("SELECT stream_id, stream_version FROM events ORDER BY position"));
      HttpTestClient.Response stream = gateway.http().getWithReadToken("/v1/streams/Visitor-1/events");
      assertEquals(2, stream.json().getJsonArray("events").size(), stream.body());
      // a parameter of the database's collation meets the column's "C": the comparison is "C", so the index serves
      String plan = genericPlan("SELECT * FROM events WHERE stream_id = $1 AND stream_version >= 1");
      assertTrue(plan.contains("Index Scan using events_stream_version_key"), plan);
    }
  }

  @Test
  @DisplayName("a store at schema 4 is upgraded in place: pages already counted are keyed by digest and count on")
  void upgradesFromSchema4() throws Exception {
    createAtSchema("4");
    created.execute("INSERT INTO projection_checkpoints (name) VALUES ('page-stats')");
    created.execute("INSERT INTO page_visitors VALUES ('demo', '/a', (now() AT TIME ZONE 'UTC')::date, 'v1')");
    created.execute("INSERT INTO page_stats VALUES ('demo', '/a', (now() AT TIME ZONE 'UTC')::date, 1, 1)");

    try (TestGateway gateway = startOn(created)) {
      assertEquals("site,day,page_key", primaryKey("page_stats"));
      assertEquals("stream_id,site,day,page_key", primaryKey("page_visitors"));
      assertEquals(1L, created.queryLong("""
          SELECT count(*) FROM page_stats s JOIN page_visitors v USING (site, day, page_key)
          WHERE s.page_key = sha256(convert_to('/a', 'UTF8'))"""), "both rows got the digest of their page id");
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v1", "/a")).status());
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v2", "/a")).status());
      // the database computed the keys in V5; since V6 the gateway sends them, and nothing computes them here
      assertEquals(0L, created.queryLong("""
          SELECT count(*) FROM pg_attribute WHERE attname = 'page_key' AND attgenerated <> ''
            AND attrelid IN ('page_stats'::regclass, 'page_visitors'::regclass)"""));
      // v1's old row is found by the gateway's key: its second view is a view, not a second unique visitor
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> created.query(
          "SELECT views, unique_visitors FROM page_stats WHERE page_id = '/a'").equals(List.of(List.of(3L, 2L))));
      assertEquals(2L, created.queryLong(
          "SELECT count(*) FROM page_visitors WHERE page_key = sha256(convert_to('/a', 'UTF8'))"));
    }
  }

  /** The page-stats statement of the code before V6, which leaves page_key to the database (V5's generated column). */
  private static final String PAGE_STATS_BEFORE_V6 = """
      WITH visits AS (
        SELECT * FROM unnest(ARRAY['demo', 'demo'], ARRAY['/a', '/b'], ARRAY[current_date, current_date],
                             ARRAY['v1', 'v1'], ARRAY[1, 1]::bigint[])
          AS t(site, page_id, day, stream_id, views)
      ),
      fresh AS (
        INSERT INTO page_visitors (site, page_id, day, stream_id)
        SELECT site, page_id, day, stream_id FROM visits
        ON CONFLICT DO NOTHING
        RETURNING site, page_id, day
      )
      INSERT INTO page_stats AS p (site, page_id, day, views, unique_visitors)
      SELECT v.site, v.page_id, v.day, v.views, COALESCE(f.visitors, 0)
      FROM (SELECT site, page_id, day, sum(views)::bigint AS views FROM visits GROUP BY site, page_id, day) v
      LEFT JOIN (SELECT site, page_id, day, count(*) AS visitors FROM fresh GROUP BY site, page_id, day) f
        USING (site, page_id, day)
      ON CONFLICT (site, day, page_key) DO UPDATE SET
        views = p.views + EXCLUDED.views,
        unique_visitors = p.unique_visitors + EXCLUDED.unique_visitors """;

  @Test
  @DisplayName("a process still on the page-stats statement before V6 goes on counting after V6: the key is filled in")
  void olderProcessCountsOnAfterSchema6() throws Exception {
    createAtSchema("6");
    created.execute(PAGE_STATS_BEFORE_V6);
    try (TestGateway gateway = startOn(created)) {
      // the gateway of this version finds the rows by the key it computes itself
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v1", "/a")).status());
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("v2", "/a")).status());
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> created.query(
          "SELECT views, unique_visitors FROM page_stats WHERE page_id = '/a'").equals(List.of(List.of(3L, 2L))));
    }
    // and the older statement, run again, still counts on the same rows: a view, no new unique visitor
    created.execute(PAGE_STATS_BEFORE_V6);
    assertEquals(List.of(List.of("/a", 4L, 2L), List.of("/b", 2L, 1L)),
        created.query("SELECT page_id, views, unique_visitors FROM page_stats ORDER BY page_id"));
    ReadModelCheck.assertPagesKeyedByDigest(created);
  }

  /** The columns of {@code table}'s primary key, in key order, comma-separated. */
  private String primaryKey(String table) {
    return (String) created.query("""
        SELECT string_agg(a.attname, ',' ORDER BY k.ord)
        FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a
        WHERE i.indrelid = ?::regclass AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = k.attnum""",
        table).get(0).get(0);
  }

  /** Creates the database and migrates it up to {@code version} only, as an older gateway left it. */
  @Test
  @DisplayName("a visitor row from before V7 has no last_page_position: a later page view moves its last page, one "
      + "older than its last event does not (the rule before V7), and the row has the column from then on")
  void visitorRowsFromBeforeSchema7() throws Exception {
    createAtSchema("6");
    created.execute("""
        INSERT INTO visitor_activity (stream_id, site, first_seen, last_seen, page_views, last_page, last_position)
        VALUES ('legacy-behind', 'demo', now(), now(), 1, '/old', 0),
               ('legacy-ahead', 'demo', now(), now(), 1, '/old', 1000000)""");
    try (TestGateway gateway = startOn(created)) {
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("legacy-behind", "/new")).status());
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("legacy-ahead", "/new")).status());
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> created.queryLong(
          "SELECT count(*) FROM visitor_activity WHERE page_views = 2") == 2);
    }
    assertEquals(List.of(List.of("legacy-ahead", "/old"), List.of("legacy-behind", "/new")), created.query(
        "SELECT stream_id, last_page FROM visitor_activity ORDER BY stream_id"));
    assertEquals(1L, created.queryLong("SELECT count(*) FROM visitor_activity WHERE last_page_position IS NOT NULL"));
  }

  @Test
  @DisplayName("a store at schema 7 is upgraded in place: recorded_at is taken under the position lock from then on, "
      + "and the events already stored keep theirs")
  void recordedAtFromSchema8() throws Exception {
    createAtSchema("7");
    created.execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at, recorded_at)
        VALUES (gen_random_uuid(), 'old-visitor', 1, 'PageViewed', 1, '{"pageId": "/a"}', now(),
                '2020-01-01T00:00:00Z')""");
    assertEquals("now()", created.query("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
        + "WHERE adrelid = 'events'::regclass AND adnum = (SELECT attnum FROM pg_attribute "
        + "WHERE attrelid = 'events'::regclass AND attname = 'recorded_at')").get(0).get(0));
    try (TestGateway gateway = startOn(created)) {
      assertEquals("clock_timestamp()", created.query("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
          + "WHERE adrelid = 'events'::regclass AND adnum = (SELECT attnum FROM pg_attribute "
          + "WHERE attrelid = 'events'::regclass AND attname = 'recorded_at')").get(0).get(0));
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("old-visitor", "/b")).status());
    }
    assertEquals(List.of(List.of(1L, true), List.of(2L, false)), created.query("""
        SELECT stream_version, recorded_at = '2020-01-01T00:00:00Z' FROM events ORDER BY position"""));
  }

  private void createAtSchema(String version) {
    server.execute("CREATE DATABASE \"" + created.name() + "\"");
    Flyway.configure().dataSource(created.jdbcUrl(), created.options().getUser(), created.options().getPassword())
        .locations("classpath:db/migration").target(version).load().migrate();
  }

  /** The generic plan (the one a prepared statement of the gateway's gets) of {@code sql}, with one text parameter. */
  private String genericPlan(String sql) throws SQLException {
    try (Connection c = created.connect(); Statement st = c.createStatement()) {
      st.execute("SET enable_seqscan = off");
      st.execute("SET plan_cache_mode = force_generic_plan");
      st.execute("PREPARE probe(text) AS " + sql);
      StringBuilder plan = new StringBuilder();
      try (ResultSet rs = st.executeQuery("EXPLAIN EXECUTE probe('Visitor-1')")) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      return plan.toString();
    }
  }
}
