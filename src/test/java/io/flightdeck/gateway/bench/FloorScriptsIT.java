package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.config.DbConfig;
import io.flightdeck.gateway.projection.Projection;
import io.flightdeck.gateway.projection.model.ReadModels;
import io.flightdeck.gateway.store.DatabaseBootstrap;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The scripts the benchmark's floor runs with pgbench, on the gateway's own schema. */
@ExtendWith(PostgresExtension.class)
class FloorScriptsIT {

  private static final int N = PgBench.ROWS_PER_TRANSACTION;

  /** The gateway's schema, migrated the way the benchmark's fresh databases are. */
  @BeforeAll
  static void migrate(TestDatabase db) throws Exception {
    DatabaseBootstrap.prepare(new DbConfig(db.url(), true, 1, 1, 5000, 10));
  }

  @Test
  @DisplayName("the read models' bare writes fill every table the PageViewed projections write, one row per new visitor")
  void readModelWrites(TestDatabase db) {
    db.execute(PgBench.READ_MODELS);
    db.execute(PgBench.READ_MODELS);

    assertEquals(2L * N, db.queryLong("SELECT count(*) FROM visitor_activity WHERE page_views = 1"));
    assertEquals(2L * N, db.queryLong("SELECT count(*) FROM page_visitors"));
    assertEquals(List.of(List.of(2L * N, 2L * N)), db.query("SELECT views, unique_visitors FROM page_stats"));
    assertEquals(2L * N, db.queryLong("SELECT sum(count)::bigint FROM event_counts WHERE type = 'PageViewed'"));
    // the floor stands for what the projections write for a PageViewed: the same tables, no fewer
    Set<String> written = new TreeSet<>();
    for (Projection p : ReadModels.projections()) {
      if (p.eventTypes().isEmpty() || p.eventTypes().contains("PageViewed")) {
        written.addAll(p.tables());
      }
    }
    assertEquals(new TreeSet<>(List.of("event_counts", "page_stats", "page_visitors", "visitor_activity")), written);
  }

  @Test
  @DisplayName("C_db's insert and the generation alone run on the same schema")
  void appendAndGeneration(TestDatabase db) {
    db.execute(PgBench.SCRIPT);
    assertEquals(N, db.queryLong("SELECT count(DISTINCT stream_id) FROM events"));
    assertEquals(1, db.query(PgBench.GENERATION).size());
  }
}
