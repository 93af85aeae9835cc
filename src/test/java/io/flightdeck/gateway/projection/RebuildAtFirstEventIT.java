package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rebuild asked for while the projection's very first event fails its last attempt: the failing step read it after
 * checkpoint 0, which is also where the rebuild puts the checkpoint back. Its own database, as the event must be the
 * first of its type in the store.
 */
@ExtendWith(PostgresExtension.class)
class RebuildAtFirstEventIT {

  static final Duration CATCH_UP = Duration.ofSeconds(30);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(PoisonEventsIT.SETTINGS);

  static long checkpoint() {
    return gateway.db().queryLong("SELECT position FROM projection_checkpoints WHERE name = 'form-submissions'");
  }

  @Test
  @DisplayName("a rebuild asked for while the first event fails its last attempt replays that event too: the dead "
      + "letter from before the rebuild is not recorded at the checkpoint 0 the rebuild reset")
  void rebuildWhileTheFirstEventFails() throws Exception {
    // the first two tries at the form fail, slowly (time for a rebuild to queue behind the second); later ones work,
    // as after an operator fixed the cause and asked for the rebuild
    gateway.db().execute("CREATE SEQUENCE first_poison_tries");
    gateway.db().execute("""
        CREATE FUNCTION first_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.form_id = 'first-poison' AND nextval('first_poison_tries') <= 2 THEN
            PERFORM pg_sleep(1.5);
            RAISE EXCEPTION 'first poison';
          END IF;
          RETURN NEW;
        END $$""");
    gateway.db().execute("""
        CREATE TRIGGER first_poison BEFORE INSERT ON form_submissions
          FOR EACH ROW EXECUTE FUNCTION first_poison()""");
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM events"), "the form must be the store's first event");

    gateway.http().postBatch(HttpTestClient.formSubmission("fp-1", "first-poison", new JsonObject().put("a", "b")));
    // the first try (the batch's) costs no attempt; the second is the last of maxAttempts 1
    Awaitility.await("the last attempt being applied").atMost(CATCH_UP).pollInterval(Duration.ofMillis(10))
        .until(() -> gateway.db().queryLong("SELECT last_value FROM first_poison_tries") == 2
            && gateway.db().queryLong("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'flightdeck-projection-form-submissions'
                  AND wait_event = 'PgSleep'""")
            == 1);
    // queues behind the failing step's checkpoint lock, and gets it as that step rolls back
    CompletableFuture<Response> rebuild = CompletableFuture.supplyAsync(() ->
        gateway.http().postWithAdminToken("/v1/admin/projections/form-submissions/rebuild"));
    Response r = rebuild.get();
    assertEquals(202, r.status(), r.body());

    long head = gateway.db().queryLong("SELECT max(position) FROM events");
    Awaitility.await("the rebuild done").atMost(CATCH_UP).pollInterval(Duration.ofMillis(50))
        .until(() -> checkpoint() >= head);
    // whatever the order of the last attempt's dead letter and the rebuild, the replay applies the form once
    Awaitility.await("the form replayed").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
        .until(() -> gateway.db().queryLong(
            "SELECT count(*) FROM form_submissions WHERE form_id = 'first-poison'") > 0);
    assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'first-poison'"));
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters WHERE projection = 'form-submissions'"),
        "the rebuild dropped the dead letters, and the replay applied the event");
  }
}
