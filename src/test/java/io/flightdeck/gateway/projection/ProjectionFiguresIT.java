package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The projection figures of /health/ready (and the gauges) follow a lease that changes hands in this process at
 * once, not at the next periodic sample: the interval here is a minute, far longer than the tests wait, so only a
 * sample taken because a lease changed can show the projections running.
 */
@ExtendWith(PostgresExtension.class)
class ProjectionFiguresIT {

  private static final Map<String, String> SLOW_SAMPLES = Map.of(
      "FLIGHTDECK_METRICS_SAMPLE_INTERVAL_MS", "60000",
      "FLIGHTDECK_PROJECTIONS_TAKEOVER_INTERVAL_MS", "200");
  /** Well under the sample interval, generous for a slow machine. */
  private static final Duration PROMPTLY = Duration.ofSeconds(10);

  @Test
  @DisplayName("right after start /health/ready shows every projection this process runs as running, and UP")
  void runningRightAfterStart(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, SLOW_SAMPLES)) {
      Awaitility.await("every projection running and UP").atMost(PROMPTLY).pollInterval(Duration.ofMillis(100))
          .until(() -> ready(gateway), ProjectionFiguresIT::allRunningAndUp);
    }
  }

  @Test
  @DisplayName("a standby that takes the projections over when the running gateway stops shows their current"
      + " figures within seconds")
  void takeoverShowsCurrentFigures(TestDatabase db) throws Exception {
    TestGateway first = TestGateway.start(db, SLOW_SAMPLES);
    try (TestGateway standby = TestGateway.start(db, SLOW_SAMPLES)) {
      try {
        Awaitility.await("the standby sampled once").atMost(PROMPTLY).pollInterval(Duration.ofMillis(100))
            .until(() -> ready(standby), ProjectionFiguresIT::allRunningAndUp);
        for (int i = 0; i < 5; i++) {
          assertEquals(200, first.http().postEvents(HttpTestClient.pageView("figures-" + i, "/figures")).status());
        }
        ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(30));
      } finally {
        first.close();
      }
      Map<String, Long> applied = checkpoints(db);
      Awaitility.await("the standby runs them and shows the checkpoints " + applied).atMost(PROMPTLY)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> ready(standby), r -> allRunningAndUp(r) && applied.equals(shownCheckpoints(r)));
    }
  }

  private static JsonObject ready(TestGateway gateway) {
    Response r = gateway.http().send(gateway.http().request("/health/ready").GET());
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  private static boolean allRunningAndUp(JsonObject ready) {
    JsonObject check = ready.getJsonObject("checks").getJsonObject("projections");
    JsonObject each = check.getJsonObject("projections");
    return "UP".equals(ready.getString("status")) && "UP".equals(check.getString("status"))
        && each.size() == 4 && each.stream().allMatch(e -> "running".equals(((JsonObject) e.getValue())
            .getString("state")));
  }

  private static Map<String, Long> shownCheckpoints(JsonObject ready) {
    Map<String, Long> shown = new TreeMap<>();
    ready.getJsonObject("checks").getJsonObject("projections").getJsonObject("projections").forEach(e ->
        shown.put(e.getKey(), ((JsonObject) e.getValue()).getLong("checkpoint")));
    return shown;
  }

  private static Map<String, Long> checkpoints(TestDatabase db) {
    Map<String, Long> byName = new TreeMap<>();
    for (List<Object> row : db.query("SELECT name, position FROM projection_checkpoints")) {
      byName.put((String) row.get(0), ((Number) row.get(1)).longValue());
    }
    return byName;
  }
}
