package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.Scrape;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * projections.scanPositions below projections.batchSize. The bound is for a projection of few types, which may scan
 * many positions of other types for each event of its own; event-counts applies every type, so a read of its batch
 * scans as many positions as it has events, and the bound would only cut its batches into many small transactions.
 * The shared window of recent events is off, so that every projection reads the store itself.
 */
@ExtendWith(PostgresExtension.class)
class AllTypesScanIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);
  static final int SCAN_POSITIONS = 50;
  static final int EVENTS = 500;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_PROJECTIONS_SCAN_POSITIONS", "" + SCAN_POSITIONS,
      "FLIGHTDECK_PROJECTIONS_WINDOW_EVENTS", "0",
      "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200"));

  static double storeBatches(String projection) {
    String body = gateway.http().send(gateway.http().request("/metrics").GET()).body();
    return Scrape.parse(body).value("flightdeck_projection_batches_total", "projection", projection,
        "source", "store");
  }

  @Test
  @DisplayName("a scanPositions below batchSize leaves event-counts' batches whole, and still bounds the reads of a "
      + "projection of some types")
  void scanPositionsBelowTheBatch() {
    JsonObject[] views = new JsonObject[EVENTS];
    for (int i = 0; i < EVENTS; i++) {
      views[i] = HttpTestClient.pageView("all-" + (i % 10), "/all/" + (i % 7));
    }
    double counts = storeBatches("event-counts");
    double pages = storeBatches("page-stats");
    // one request, one transaction: its events become visible at once, so one read may take them all
    gateway.http().postBatch(views);
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);

    assertEquals(1, storeBatches("event-counts") - counts, "event-counts' batches for one append of " + EVENTS);
    assertTrue(storeBatches("page-stats") - pages >= EVENTS / SCAN_POSITIONS,
        "page-stats reads " + SCAN_POSITIONS + " positions at a time");
    ReadModelCheck.assertMatchesStore(gateway.db());
  }
}
