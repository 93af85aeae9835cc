package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rebuild asked for while the projection waits out the back-off after a failed event. The back-off here is far
 * longer than the test waits (projections.retryMaxDelayMs may be up to an hour), so only a rebuild that starts at
 * once can pass.
 */
@ExtendWith(PostgresExtension.class)
class RebuildDuringBackOffIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_PROJECTIONS_MAX_ATTEMPTS", "5",
      "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "600000",
      "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "600000"));

  static long checkpoint() {
    return gateway.db().queryLong("SELECT position FROM projection_checkpoints WHERE name = 'form-submissions'");
  }

  @Test
  @DisplayName("a rebuild asked for while a failed event waits for its next attempt starts at once, instead of after "
      + "the back-off: the read model is rebuilt, the event applied")
  void rebuildDuringBackOff() {
    // a cause on the read model's side, which the operator removes before asking for the rebuild
    gateway.db().execute("""
        CREATE FUNCTION backoff_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.form_id = 'backoff-poison' THEN
            RAISE EXCEPTION 'backoff poison';
          END IF;
          RETURN NEW;
        END $$""");
    gateway.db().execute("""
        CREATE TRIGGER backoff_poison BEFORE INSERT ON form_submissions
          FOR EACH ROW EXECUTE FUNCTION backoff_poison()""");
    gateway.http().postBatch(HttpTestClient.formSubmission("bo-1", "backoff-form", new JsonObject()));
    gateway.http().postBatch(HttpTestClient.formSubmission("bo-2", "backoff-poison", new JsonObject()));
    // the first try (the batch's) costs no attempt; the second is attempt 1 of 5, then ten minutes of back-off
    Awaitility.await("the event failing, waiting for its next attempt").atMost(CATCH_UP)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> "failing".equals(gateway.http().projectionStatus("form-submissions").getString("state")));

    gateway.db().execute("DROP TRIGGER backoff_poison ON form_submissions");
    Response rebuild = gateway.http().postWithAdminToken("/v1/admin/projections/form-submissions/rebuild");
    assertEquals(202, rebuild.status(), rebuild.body());

    long head = gateway.db().queryLong("SELECT max(position) FROM events");
    Awaitility.await("the rebuild done").atMost(CATCH_UP).pollInterval(Duration.ofMillis(50))
        .until(() -> checkpoint() >= head);
    assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'backoff-poison'"));
    assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'backoff-form'"));
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters"));
    JsonObject status = gateway.http().projectionStatus("form-submissions");
    assertEquals("running", status.getString("state"), status.encode());
  }
}
