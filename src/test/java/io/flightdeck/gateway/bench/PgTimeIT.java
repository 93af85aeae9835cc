package io.flightdeck.gateway.bench;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flightdeck.gateway.bench.PgTime.Kind;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The benchmark's account of PostgreSQL's time: on the benchmark's own server (initdb'd here, pg_stat_statements
 * preloaded), and on a server without the preload, which must say so instead of reporting zeros.
 */
@ExtendWith(PostgresExtension.class)
class PgTimeIT {

  @Test
  @DisplayName("the benchmark's own server preloads pg_stat_statements; only statements inside the window count, "
      + "and the WAL flushes inside it are counted and timed")
  void countsTheWindowOnly() throws Exception {
    Optional<Path> bin = BenchServer.binaries();
    assumeTrue(bin.isPresent(), "no PostgreSQL server programs (initdb, pg_ctl) on this machine");
    assumeTrue(BenchServer.hasStatements(bin.get()), "this PostgreSQL has no pg_stat_statements");
    Path work = Files.createTempDirectory("pgtime-it-");
    try (BenchServer server = BenchServer.start(bin.get(), work, 1024)) {
      assertTrue(server.settings().contains("shared_preload_libraries=pg_stat_statements"), server.settings()
          .toString());
      TestDatabase db = new TestDatabase(server.url());
      try (PgTime time = PgTime.open(db.connect());
           Connection other = db.connect();
           Statement st = other.createStatement()) {
        st.execute("CREATE TABLE events (position bigint GENERATED ALWAYS AS IDENTITY, stream_id text)");
        st.execute("CREATE TABLE visitor_activity (stream_id text PRIMARY KEY)");
        // before the window: not counted
        st.execute("INSERT INTO visitor_activity SELECT 'v' || g FROM generate_series(1, 20000) g");
        time.reset();
        st.execute("INSERT INTO events (stream_id) SELECT 'v' || g FROM generate_series(1, 20000) g");
        st.executeQuery("SELECT count(*) FROM events WHERE stream_id LIKE 'v1%'").close();
        // a backend reports its WAL statistics when idle, at most once a second: ask it to, then wait for them
        st.executeQuery("SELECT pg_stat_force_next_flush()").close();
        await().atMost(Duration.ofSeconds(15)).until(() -> {
          time.read();
          return time.result().wal().count() >= 1;
        });

        PgTime.Result r = time.result();
        assertNull(r.unavailable());
        assertTrue(r.millis().getOrDefault(Kind.APPEND, 0.0) > 0, r.toString());
        assertTrue(r.millis().getOrDefault(Kind.READS, 0.0) > 0, r.toString());
        assertFalse(r.millis().containsKey(Kind.VISITOR_ACTIVITY), "the insert before the window: " + r);
        assertEquals(r.millis().getOrDefault(Kind.APPEND, 0.0) * 1000 / 20000, r.microsPer(Kind.APPEND, 20000),
            1e-9);
        // the insert's commit flushed the WAL, and the benchmark's own server times its flushes
        assertTrue(server.settings().contains("track_wal_io_timing=on"), server.settings().toString());
        assertTrue(r.wal().millis() > 0, r.wal().toString());
      }
    } finally {
      try (var files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  @DisplayName("a server without the preload is reported as not measured, with the reason")
  void saysWhyWhenUnavailable(TestDatabase db) throws Exception {
    try (Connection probe = db.connect(); Statement st = probe.createStatement();
         var rs = st.executeQuery("SHOW shared_preload_libraries")) {
      rs.next();
      assumeFalse(rs.getString(1).contains("pg_stat_statements"), "this test server preloads pg_stat_statements");
    }
    try (PgTime time = PgTime.open(db.connect())) {
      time.reset();
      time.read();
      String why = time.result().unavailable();
      assertTrue(why != null && why.startsWith("pg_stat_statements is not available on this server: "), why);
      assertTrue(time.result().millis().isEmpty());
    }
  }

  @Test
  @DisplayName("statements are told apart by the tables they name")
  void kinds() {
    assertEquals(Kind.APPEND, PgTime.kindOf("WITH input AS (SELECT * FROM unnest($1::uuid[])), inserted AS (\n"
        + "  INSERT INTO events (id, stream_id) SELECT ... RETURNING id) SELECT ..."));
    assertEquals(Kind.CHECKPOINTS, PgTime.kindOf("SELECT position, (SELECT COALESCE(max(position), $1) FROM events) "
        + "AS head FROM projection_checkpoints WHERE name = $2 FOR UPDATE"));
    assertEquals(Kind.VISITOR_ACTIVITY, PgTime.kindOf("INSERT INTO visitor_activity AS v (stream_id) SELECT ..."));
    assertEquals(Kind.PAGE_STATS, PgTime.kindOf("WITH visits AS (...), fresh AS (INSERT INTO page_visitors ...) "
        + "INSERT INTO page_stats AS p ..."));
    assertEquals(Kind.FORM_SUBMISSIONS, PgTime.kindOf("INSERT INTO form_submissions (form_id) SELECT ..."));
    assertEquals(Kind.EVENT_COUNTS, PgTime.kindOf("INSERT INTO event_counts AS c (minute, type, count) ..."));
    assertEquals(Kind.READS, PgTime.kindOf("SELECT position, id FROM events WHERE position > $1 ORDER BY position"));
    assertEquals(Kind.OTHER, PgTime.kindOf("COMMIT"));
  }
}
