package io.flightdeck.gateway.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * How many rows of a table one run of a statement went through, from its plan (EXPLAIN ANALYZE): a read that must
 * be bounded by its page, not by the table behind it, is checked by the rows it touched, not by its time.
 */
public final class PlanRows {

  private PlanRows() {
  }

  /**
   * Runs {@code sql} (with {@code $n} parameters) once as a prepared statement under {@code planCacheMode}
   * ({@code force_generic_plan} is the plan a driver's cached statement ends up with, {@code force_custom_plan} the
   * one planned for these values), with {@code args} as SQL literals; answers the rows its scans of {@code table}
   * produced or filtered out, and the rows any join filter threw away, over every loop.
   */
  public static long touched(TestDatabase db, String table, String planCacheMode, String sql, String... args) {
    try (Connection c = db.connect(); Statement st = c.createStatement()) {
      st.execute("SET plan_cache_mode = " + planCacheMode);
      st.execute("PREPARE plan_rows AS " + sql);
      try (ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_rows("
          + String.join(", ", args) + ")")) {
        rs.next();
        return touched(new JsonArray(rs.getString(1)).getJsonObject(0).getJsonObject("Plan"), table);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  private static long touched(JsonObject node, String table) {
    long loops = node.getLong("Actual Loops", 1L);
    long rows = node.getLong("Rows Removed by Join Filter", 0L) * loops;
    if (table.equals(node.getString("Relation Name"))) {
      rows += (node.getLong("Actual Rows", 0L) + node.getLong("Rows Removed by Filter", 0L)
          + node.getLong("Rows Removed by Index Recheck", 0L)) * loops;
    }
    JsonArray children = node.getJsonArray("Plans", new JsonArray());
    for (int i = 0; i < children.size(); i++) {
      rows += touched(children.getJsonObject(i), table);
    }
    return rows;
  }
}
