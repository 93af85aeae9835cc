package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.flightdeck.gateway.bench.PgTime.Kind;
import java.lang.reflect.Field;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How the table of PostgreSQL's time sorts the statements the gateway really sends (no database needed). */
class PgTimeTest {

  /** A statement of the gateway's, as its SQL class holds it. */
  private static String sql(String className, String field) throws Exception {
    Field f = Class.forName(className).getDeclaredField(field);
    f.setAccessible(true);
    return (String) f.get(null);
  }

  private static String projectionSql(String field) throws Exception {
    return sql("io.flightdeck.gateway.projection.ProjectionSql", field);
  }

  @Test
  @DisplayName("a projection reading the events after its checkpoint is an event read, not checkpoint bookkeeping")
  void projectionReadsAreReads() throws Exception {
    assertEquals(Kind.READS, PgTime.kindOf(projectionSql("READ_EVENTS_AFTER_CHECKPOINT")));
    assertEquals(Kind.READS, PgTime.kindOf(projectionSql("READ_EVENT_AT")));
    assertEquals(Kind.READS, PgTime.kindOf(sql("io.flightdeck.gateway.store.StoreSql", "READ_ALL")));
    // the checkpoint's lock reads the head in a subquery, and the advance writes the checkpoint: bookkeeping
    assertEquals(Kind.CHECKPOINTS, PgTime.kindOf(projectionSql("LOCK_CHECKPOINT")));
    assertEquals(Kind.CHECKPOINTS, PgTime.kindOf(projectionSql("ADVANCE")));
    assertEquals(Kind.CHECKPOINTS, PgTime.kindOf(projectionSql("ENSURE")));
    assertEquals(Kind.APPEND, PgTime.kindOf(sql("io.flightdeck.gateway.store.StoreSql", "APPEND")));
    assertEquals(Kind.VISITOR_ACTIVITY, PgTime.kindOf(sql("io.flightdeck.gateway.projection.model.ReadModelSql",
        "UPSERT_VISITORS")));
    // however long the list of what it selects
    assertEquals(Kind.READS, PgTime.kindOf("SELECT " + "a, ".repeat(50_000) + "b FROM events WHERE position > $1"));
  }

  @Test
  @DisplayName("the benchmark's own statements in the phase's database (the lag sampler's) are not the gateway's")
  void ownStatementsAreLeftOut() {
    // pg_stat_statements keeps the text as sent, constants replaced; the sampler's names the checkpoints
    assertNull(PgTime.kindOf(LagSampler.SQL.replace(", 0)::float8", ", $1)::float8")));
  }
}
