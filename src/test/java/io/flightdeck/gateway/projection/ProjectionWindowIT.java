package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The projections' shared read: new events are read once per process into a bounded window and every runner
 * steps from there when it can, from the store when it cannot. Either way the read models equal the store.
 */
@ExtendWith(PostgresExtension.class)
class ProjectionWindowIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);
  static final String[] PROJECTIONS = {"visitor-activity", "page-stats", "form-submissions", "event-counts"};

  static TestDatabase db;

  @BeforeAll
  static void keep(TestDatabase database) {
    db = database;
  }

  static TestGateway start(Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>(overrides);
    env.put("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200");
    return TestGateway.start(db, env);
  }

  /** Every type, so that every projection has events to apply. */
  static JsonObject[] mixedBatch(String prefix, int n) {
    JsonObject[] events = new JsonObject[n];
    for (int i = 0; i < n; i++) {
      String stream = prefix + "-" + (i % 4);
      events[i] = switch (i % 3) {
        case 0 -> HttpTestClient.pageView(stream, "/w/" + (i % 5));
        case 1 -> HttpTestClient.click(stream, "b" + (i % 2));
        default -> HttpTestClient.formSubmission(stream, prefix + "-form", new JsonObject().put("i", "" + i));
      };
    }
    return events;
  }

  static double batches(TestGateway gateway, String projection, String source) {
    String body = gateway.http().send(gateway.http().request("/metrics").GET()).body();
    return Scrape.parse(body).value("flightdeck_projection_batches_total", "projection", projection,
        "source", source);
  }

  @Test
  @DisplayName("under a steady trickle every projection applies new events from the one shared read")
  void sharedRead() throws Exception {
    try (TestGateway gateway = start(Map.of())) {
      for (int round = 0; round < 100 && !allShared(gateway); round++) {
        gateway.http().postBatch(mixedBatch("trickle-" + round, 6));
        Thread.sleep(30);
      }
      for (String name : PROJECTIONS) {
        assertTrue(batches(gateway, name, "shared") > 0, name + " never stepped from the shared window");
      }
      ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
      ReadModelCheck.assertMatchesStore(db);
    }
  }

  private static boolean allShared(TestGateway gateway) {
    for (String name : PROJECTIONS) {
      if (batches(gateway, name, "shared") == 0) {
        return false;
      }
    }
    return true;
  }

  @Test
  @DisplayName("bursts larger than a tiny window mix shared and own reads and still apply every event exactly once")
  void tinyWindow() throws Exception {
    try (TestGateway gateway = start(Map.of(
        "FLIGHTDECK_PROJECTIONS_WINDOW_EVENTS", "8",
        "FLIGHTDECK_PROJECTIONS_BATCH_SIZE", "5"))) {
      for (int wave = 0; wave < 3; wave++) {
        List<CompletableFuture<HttpTestClient.Response>> posts = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          JsonArray burst = new JsonArray(List.of((Object[]) mixedBatch("burst-" + wave + "-" + i, 25)));
          posts.add(gateway.http().postEventsAsync(new JsonObject().put("events", burst)));
        }
        for (CompletableFuture<HttpTestClient.Response> p : posts) {
          assertEquals(200, p.get().status(), p.get().body());
        }
        // a trickle after the burst: the runners are back in the window
        gateway.http().postBatch(mixedBatch("after-" + wave, 3));
        Thread.sleep(100);
      }
      ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
      ReadModelCheck.assertMatchesStore(db);
      double store = 0;
      for (String name : PROJECTIONS) {
        store += batches(gateway, name, "store");
      }
      assertTrue(store > 0, "a runner behind the window reads the store itself");
    }
  }

  @Test
  @DisplayName("with the window off (windowEvents 0) every projection reads the store itself, as before")
  void windowOff() throws Exception {
    try (TestGateway gateway = start(Map.of("FLIGHTDECK_PROJECTIONS_WINDOW_EVENTS", "0"))) {
      for (int round = 0; round < 10; round++) {
        gateway.http().postBatch(mixedBatch("off-" + round, 6));
        Thread.sleep(30);
      }
      ReadModelCheck.awaitCaughtUp(db, CATCH_UP);
      ReadModelCheck.assertMatchesStore(db);
      for (String name : PROJECTIONS) {
        assertEquals(0, batches(gateway, name, "shared"), name);
        assertTrue(batches(gateway, name, "store") > 0, name);
      }
    }
  }
}
