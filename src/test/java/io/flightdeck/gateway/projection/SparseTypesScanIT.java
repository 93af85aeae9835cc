package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A projection that applies few event types (form-submissions: FormSubmitted only) behind a long run of events of
 * other types. Read in one statement, the events after its checkpoint that it applies take a scan of the whole run,
 * which here outlasts db.statementTimeoutMs (a 2,000,000-event scan takes several times the 100 ms): the server
 * cancels it every time it is tried. Each read scans at most projections.scanPositions positions instead. The
 * shared window of recent events is off, so that every projection reads the run from the store itself, as one that
 * is far behind (rebuilding, new, or back after an outage) does.
 */
@ExtendWith(PostgresExtension.class)
class SparseTypesScanIT {

  static final Duration CATCH_UP = Duration.ofSeconds(120);
  static final int OTHER_EVENTS = 2_000_000;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(settings(10_000));

  /**
   * A statement timeout of 100 ms, {@code scanPositions}, and no shared window of recent events, so that every
   * projection reads the run of other events from the store itself; quick polls and retries.
   */
  static Map<String, String> settings(int scanPositions) {
    return Map.of(
        "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "100",
        "FLIGHTDECK_PROJECTIONS_SCAN_POSITIONS", String.valueOf(scanPositions),
        "FLIGHTDECK_PROJECTIONS_WINDOW_EVENTS", "0",
        "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
        "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "100",
        "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "200");
  }

  /**
   * {@link #OTHER_EVENTS} events of a type no projection but event-counts reads, in stream {@code streamId}, then
   * waits until form-submissions' checkpoint has moved over them (none of its type there: it still moves to the head),
   * within {@code within}.
   */
  static void runOfOtherEvents(ClassGateway gateway, String streamId, Duration within) {
    // ids in order, so that the insert does not spend its time in the unique index of random ids
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, ?, g, 'Other', 1, '{}'::jsonb, now()
        FROM generate_series(1, ?) g""", streamId, OTHER_EVENTS);
    long others = gateway.db().queryLong("SELECT max(position) FROM events");
    Awaitility.await("form-submissions over the other events").atMost(within).pollInterval(Duration.ofMillis(100))
        .until(() -> ReadModelCheck.checkpoint(gateway.db(), "form-submissions") >= others);
  }

  /** One form submission to {@code formId}, applied once after the run of other events, and nothing dead-lettered. */
  static void nextEventAppliedOnce(ClassGateway gateway, String formId, Duration within) {
    assertEquals(200, gateway.http().postEvents(new JsonObject().put("events", new JsonArray()
        .add(HttpTestClient.formSubmission(formId + "-visitor", formId, new JsonObject().put("a", "1"))))).status());
    ReadModelCheck.awaitCaughtUp(gateway.db(), within);
    assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = ?", formId));
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters"));
    ReadModelCheck.assertMatchesStore(gateway.db());
  }

  @Test
  @DisplayName("a projection of a rare type catches up past 2,000,000 events of other types, which one read could not "
      + "scan within db.statementTimeoutMs: its checkpoint moves over them, and its next event is applied once")
  void rareTypeBehindALongRunOfOthers() {
    runOfOtherEvents(gateway, "scan-other", CATCH_UP);
    nextEventAppliedOnce(gateway, "scan-form", CATCH_UP);

    // a rebuild replays the same run from position 0
    HttpTestClient.Response r = gateway.http().postWithAdminToken("/v1/admin/projections/form-submissions/rebuild");
    assertEquals(202, r.status(), r.body());
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    assertEquals("running", gateway.http().projectionStatus("form-submissions").getString("state"));
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters"));
    ReadModelCheck.assertMatchesStore(gateway.db());
  }
}
