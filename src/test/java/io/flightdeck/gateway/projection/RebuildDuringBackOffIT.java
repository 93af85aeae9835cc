package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
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

  static long sleepingSteps() {
    return gateway.db().queryLong("""
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'flightdeck-projection-form-submissions'
          AND wait_event = 'PgSleep'""");
  }

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

  @Test
  @DisplayName("a rebuild that queued behind an event's failing attempt does not list the projection failing with "
      + "that attempt's error: the failure is not recorded over the checkpoint the rebuild reset")
  void failureBeforeTheRebuildIsNotRecordedAfterIt() throws Exception {
    gateway.db().execute("CREATE SEQUENCE stale_tries");
    gateway.db().execute("CREATE TABLE stale_flag (slow boolean NOT NULL)");
    gateway.db().execute("INSERT INTO stale_flag VALUES (false)");
    // the poison's first try (the batch's) fails at once, its second (attempt 1) slowly, time for a rebuild to queue
    // behind it; later ones work. Once the flag is set, the form before it takes a while, which holds the replay's
    // first batch open
    gateway.db().execute("""
        CREATE FUNCTION stale_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE n bigint;
        BEGIN
          IF NEW.form_id = 'stale-slow' AND (SELECT slow FROM stale_flag) THEN
            PERFORM pg_sleep(3);
          END IF;
          IF NEW.form_id = 'stale-poison' THEN
            n := nextval('stale_tries');
            IF n = 2 THEN
              PERFORM pg_sleep(1.5);
            END IF;
            IF n <= 2 THEN
              RAISE EXCEPTION 'stale poison';
            END IF;
          END IF;
          RETURN NEW;
        END $$""");
    gateway.db().execute("""
        CREATE TRIGGER stale_poison BEFORE INSERT ON form_submissions
          FOR EACH ROW EXECUTE FUNCTION stale_poison()""");
    try {
      gateway.http().postBatch(HttpTestClient.formSubmission("st-1", "stale-slow", new JsonObject()));
      long before = gateway.db().queryLong("SELECT max(position) FROM events");
      Awaitility.await("the first form applied").atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
          .until(() -> checkpoint() >= before);
      gateway.http().postBatch(HttpTestClient.formSubmission("st-2", "stale-poison", new JsonObject()));
      Awaitility.await("attempt 1 being applied").atMost(CATCH_UP).pollInterval(Duration.ofMillis(10))
          .until(() -> gateway.db().queryLong("SELECT last_value FROM stale_tries") == 2 && sleepingSteps() == 1);

      gateway.db().execute("UPDATE stale_flag SET slow = true");
      // queues behind the failing attempt's checkpoint lock, and gets it as that attempt rolls back
      Response r = CompletableFuture.supplyAsync(() ->
          gateway.http().postWithAdminToken("/v1/admin/projections/form-submissions/rebuild")).get();
      assertEquals(202, r.status(), r.body());
      // the replay's first batch, held open on the first form: whatever the runner did on its connection before
      // the replay (recording attempt 1's failure) is done
      Awaitility.await("the replay's first batch under way").atMost(CATCH_UP).pollInterval(Duration.ofMillis(10))
          .until(() -> sleepingSteps() == 1);
      JsonObject status = gateway.http().projectionStatus("form-submissions");
      assertEquals("rebuilding", status.getString("state"), status.encode());
      assertEquals(null, status.getValue("lastError"), status.encode());

      long head = gateway.db().queryLong("SELECT max(position) FROM events");
      Awaitility.await("the rebuild done").atMost(CATCH_UP).pollInterval(Duration.ofMillis(50))
          .until(() -> checkpoint() >= head);
      assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'stale-poison'"));
    } finally {
      gateway.db().execute("DROP TRIGGER stale_poison ON form_submissions");
      gateway.db().execute("DROP FUNCTION stale_poison()");
    }
  }
}
