package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A projection the database has never seen, as after an upgrade that adds one. */
@ExtendWith(PostgresExtension.class)
class NewProjectionIT {

  @Test
  @DisplayName("a projection added in a new release starts from position 0 on its own and replays the whole store")
  void newProjectionReplays(TestDatabase db) throws Exception {
    try (TestGateway first = TestGateway.start(db)) {
      JsonArray batch = new JsonArray();
      for (int i = 0; i < 120; i++) {
        batch.add(HttpTestClient.pageView("np-" + (i % 9), "/np/" + (i % 4)));
      }
      assertEquals(200, first.http().postEvents(new JsonObject().put("events", batch)).status());
      ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(30));
    }
    // the release before did not have page-stats: no checkpoint, empty tables
    db.execute("DELETE FROM projection_checkpoints WHERE name = 'page-stats'");
    db.execute("TRUNCATE page_stats, page_visitors");

    try (TestGateway upgraded = TestGateway.start(db)) {
      ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(30));
      assertEquals(120L, db.queryLong("SELECT sum(views) FROM page_stats"));
      ReadModelCheck.assertMatchesStore(db);
      JsonArray list = upgraded.http().getWithAdminToken("/v1/admin/projections").json().getJsonArray("projections");
      assertEquals(4, list.size());
    }
  }
}
