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
 * A read of projections.scanPositions positions that is itself cancelled at db.statementTimeoutMs: the range is as
 * wide as the run of other events in front of form-submissions (2,000,000 positions, a scan of several times the
 * 100 ms, as in {@link SparseTypesScanIT}), while a range of a few hundred thousand positions reads within it. Read
 * over the same range again, the read would be cancelled for ever. The shared window of recent events is off, so
 * that every projection reads the run from the store itself.
 */
@ExtendWith(PostgresExtension.class)
class ReadRangeTimeoutIT {

  static final Duration CATCH_UP = Duration.ofSeconds(20);
  static final int OTHER_EVENTS = 2_000_000;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "100",
      "FLIGHTDECK_PROJECTIONS_SCAN_POSITIONS", "" + OTHER_EVENTS,
      "FLIGHTDECK_PROJECTIONS_WINDOW_EVENTS", "0",
      "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "100",
      "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "200"));

  static long checkpoint(String projection) {
    return ReadModelCheck.checkpoint(gateway.db(), projection);
  }

  @Test
  @DisplayName("a projection whose read of projections.scanPositions positions outlasts db.statementTimeoutMs reads "
      + "smaller ranges: its checkpoint moves over the run of other events, and its next event is applied once")
  void readRangeLongerThanTheStatementTimeout() {
    // ids in order, so that the insert does not spend its time in the unique index of random ids
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'range-other', g, 'Other', 1,
               '{}'::jsonb, now()
        FROM generate_series(1, ?) g""", OTHER_EVENTS);
    long others = gateway.db().queryLong("SELECT max(position) FROM events");

    Awaitility.await("form-submissions over the other events").atMost(CATCH_UP).pollInterval(Duration.ofMillis(100))
        .until(() -> checkpoint("form-submissions") >= others);

    assertEquals(200, gateway.http().postEvents(new JsonObject().put("events", new JsonArray()
        .add(HttpTestClient.formSubmission("range-visitor", "range-form", new JsonObject().put("a", "1"))))).status());
    ReadModelCheck.awaitCaughtUp(gateway.db(), CATCH_UP);
    assertEquals(1, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'range-form'"));
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters"));
    ReadModelCheck.assertMatchesStore(gateway.db());
  }
}
