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
 * A batch whose apply takes longer than db.statementTimeoutMs, although each of its events alone takes far less: the
 * server cancels the batch's statement every time, however often it is tried whole.
 */
@ExtendWith(PostgresExtension.class)
class BatchTimeoutIT {

  static final Duration CATCH_UP = Duration.ofSeconds(60);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "1000",
      "FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_PROJECTIONS_RETRY_INITIAL_DELAY_MS", "100",
      "FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "200"));

  static long checkpoint(String projection) {
    return ReadModelCheck.checkpoint(gateway.db(), projection);
  }

  @Test
  @DisplayName("a batch that cannot be applied within db.statementTimeoutMs, each of whose events can, is applied a "
      + "part at a time: the projection moves on instead of trying the whole batch again for ever, and sets nothing "
      + "aside")
  void batchLongerThanTheStatementTimeout() {
    // 10 ms per row: the 300 submissions of one request (one transaction, so one batch) take 3 s, one takes 10 ms
    gateway.db().execute("""
        CREATE FUNCTION slow_rows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_sleep(0.01);
          RETURN NEW;
        END $$""");
    gateway.db().execute("""
        CREATE TRIGGER slow_rows BEFORE INSERT ON form_submissions FOR EACH ROW EXECUTE FUNCTION slow_rows()""");
    JsonArray events = new JsonArray();
    for (int i = 0; i < 300; i++) {
      events.add(HttpTestClient.formSubmission("bt-" + i, "bt-form", new JsonObject().put("i", "" + i)));
    }
    assertEquals(200, gateway.http().postEvents(new JsonObject().put("events", events)).status());
    long head = gateway.db().queryLong("SELECT max(position) FROM events");

    Awaitility.await("form-submissions past the batch").atMost(CATCH_UP).pollInterval(Duration.ofMillis(100))
        .until(() -> checkpoint("form-submissions") >= head);
    assertEquals(300, gateway.db().queryLong("SELECT count(*) FROM form_submissions WHERE form_id = 'bt-form'"));
    assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM dead_letters"));
  }
}
