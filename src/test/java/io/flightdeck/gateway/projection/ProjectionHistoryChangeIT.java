package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonArray;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The projections when the store's history changes under the process: a failover promotes a replica that had not
 * received the last commits. Its read models and checkpoints are consistent with its events (one WAL), but the
 * process's shared window of recent events still holds the lost events, and new events take their positions.
 */
@ExtendWith(PostgresExtension.class)
class ProjectionHistoryChangeIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  static final String RUNNER = "flightdeck-projection-visitor-activity";

  static long pageViews(String visitor) {
    return gateway.db().queryLong(
        "SELECT COALESCE((SELECT page_views FROM visitor_activity WHERE stream_id = ?), -1)", visitor);
  }

  static boolean runnerWaitsForLock() {
    return gateway.db().queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name = ? AND wait_event_type = 'Lock'", RUNNER) > 0;
  }

  @Test
  @DisplayName("a step waiting with the shared window when the store lost that window's events applies none of "
      + "them, and the new events in their positions are applied")
  void lostEventsInTheWindowAreNotApplied() throws Exception {
    JsonArray warm = gateway.http().postBatch(HttpTestClient.pageView("hist-warm", "/warm"));
    Awaitility.await().atMost(15, TimeUnit.SECONDS).until(() -> pageViews("hist-warm") == 1);
    long kept = warm.getJsonObject(0).getLong("position");

    try (Connection holder = gateway.db().connect(); Statement st = holder.createStatement()) {
      holder.setAutoCommit(false);
      // the visitor-activity runner's next step waits for its checkpoint's lock, holding the window it read
      st.execute("SELECT 1 FROM projection_checkpoints WHERE name = 'visitor-activity' FOR UPDATE");
      gateway.http().postBatch(HttpTestClient.pageView("hist-lost", "/1"), HttpTestClient.pageView("hist-lost", "/2"),
          HttpTestClient.pageView("hist-lost", "/3"));
      Awaitility.await().atMost(15, TimeUnit.SECONDS).until(ProjectionHistoryChangeIT::runnerWaitsForLock);
      // the replica had everything up to the warm-up event, and visitor-activity's checkpoint there (its step
      // never committed): a failover to it, which ends every connection to the old primary, the runner's too. The
      // runner takes its lease again on a new connection, with the window it read still in memory
      gateway.db().loseEventsAfter(kept);
      long killed = gateway.db().queryLong("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
          + "AND application_name = ?", RUNNER);
      gateway.db().execute("SELECT pg_terminate_backend(?)", (int) killed);
      holder.commit();
      // its lease again (a step from the stored checkpoint follows at once), before the new events come
      Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> gateway.db().queryLong(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = ? "
              + "AND pid <> ?", RUNNER, (int) killed) == 1);
      Thread.sleep(500);
    }
    JsonArray fresh = gateway.http().postBatch(HttpTestClient.pageView("hist-new", "/1"),
        HttpTestClient.pageView("hist-new", "/2"), HttpTestClient.pageView("hist-new", "/3"));
    assertEquals(kept + 1, fresh.getJsonObject(0).getLong("position"), "the new events take the lost positions");

    Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> pageViews("hist-new") == 3);
    assertEquals(-1, pageViews("hist-lost"), "no lost event was applied");
    Awaitility.await().atMost(15, TimeUnit.SECONDS).until(() -> gateway.db().queryLong(
        "SELECT position FROM projection_checkpoints WHERE name = 'visitor-activity'") == kept + 3);
    assertTrue(gateway.get().registry().get("flightdeck.store.history.changes").tag("reader", "projections")
        .counter().count() >= 1, "counted for operators");
  }
}
