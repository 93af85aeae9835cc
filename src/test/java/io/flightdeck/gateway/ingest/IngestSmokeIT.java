package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class IngestSmokeIT {

  static TestGateway gateway;
  static TestDatabase db;

  @BeforeAll
  static void start(TestDatabase database) {
    db = database;
    gateway = TestGateway.start(database);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
  }

  @Test
  @DisplayName("a posted event is stored and answered with its position after commit")
  void postedEventIsStored() {
    JsonObject event = HttpTestClient.pageView("visitor-1", "/home");
    HttpTestClient.Response r = gateway.http().postEvents(event);
    assertEquals(200, r.status(), r.body());
    JsonObject result = r.results().getJsonObject(0);
    assertEquals("appended", result.getString("status"));
    assertEquals(1L, db.queryLong("SELECT count(*) FROM events WHERE id = ?::uuid", event.getString("id")));
    assertEquals(result.getLong("position"),
        db.queryLong("SELECT position FROM events WHERE id = ?::uuid", event.getString("id")));
  }
}
