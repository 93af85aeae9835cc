package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A store with no event yet: its own database, as nothing may have been written to it. */
@ExtendWith(PostgresExtension.class)
class EmptyStoreRebuildIT {

  @Test
  @DisplayName("a rebuild on an empty store is done at once: the projection is running, not rebuilding until the "
      + "first event arrives")
  void rebuildOfNothingIsDone(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      Response rebuild = gateway.http().postWithAdminToken("/v1/admin/projections/page-stats/rebuild");
      assertEquals(202, rebuild.status(), rebuild.body());
      assertEquals(0L, rebuild.json().getLong("rebuildTarget"));
      JsonObject status = gateway.http().projectionStatus("page-stats");
      assertEquals("running", status.getString("state"), status.encode());
      assertEquals(200, gateway.http().getWithReadToken("/health/ready").status());
    }
  }
}
