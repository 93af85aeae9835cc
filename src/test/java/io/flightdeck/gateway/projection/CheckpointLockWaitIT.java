package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One projection's checkpoint row locked by another transaction (a rebuild, a dead-letter retry, an operator's
 * session) while the process's projections share one step at a time (projections.concurrentSteps 1, the default):
 * that projection waits, the others go on.
 */
@ExtendWith(PostgresExtension.class)
class CheckpointLockWaitIT {

  // a statement waiting for a lock is cancelled only after a minute: far longer than the others may take
  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "60000",
      "FLIGHTDECK_PROJECTIONS_CONCURRENT_STEPS", "1"));

  static final String LOCKED = "visitor-activity";
  static final List<String> OTHERS = List.of("page-stats", "form-submissions", "event-counts");

  static long pageViews(String visitor) {
    return gateway.db().queryLong(
        "SELECT COALESCE((SELECT page_views FROM visitor_activity WHERE stream_id = ?), -1)", visitor);
  }

  static boolean lockedRunnerWaits() {
    return gateway.db().queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name = ? "
        + "AND wait_event_type = 'Lock'", "flightdeck-projection-" + LOCKED) > 0;
  }

  static long checkpoint(String projection) {
    return gateway.http().projectionStatus(projection).getLong("checkpoint");
  }

  static long submissions(String formId) {
    JsonObject body = gateway.http().getWithReadToken("/v1/forms/" + formId + "/submissions").json();
    return body.getJsonArray("submissions").size();
  }

  @Test
  @DisplayName("while one projection's checkpoint is locked by another transaction, the other projections keep up "
      + "with new events, and the locked one catches up once the lock is released")
  void othersStepWhileOneCheckpointIsLocked() throws Exception {
    long warm = gateway.http().postBatch(HttpTestClient.pageView("lockwait-warm", "/warm"))
        .getJsonObject(0).getLong("position");
    Awaitility.await().atMost(15, TimeUnit.SECONDS).until(() -> pageViews("lockwait-warm") == 1
        && OTHERS.stream().allMatch(p -> checkpoint(p) >= warm));

    try (Connection holder = gateway.db().connect(); Statement st = holder.createStatement()) {
      holder.setAutoCommit(false);
      st.execute("SELECT 1 FROM projection_checkpoints WHERE name = '" + LOCKED + "' FOR UPDATE");
      gateway.http().postBatch(HttpTestClient.pageView("lockwait-a", "/a"));
      Awaitility.await().atMost(15, TimeUnit.SECONDS).until(CheckpointLockWaitIT::lockedRunnerWaits);

      // new events while the locked projection waits: every other projection applies them
      JsonArray later = gateway.http().postBatch(HttpTestClient.pageView("lockwait-b", "/b"),
          HttpTestClient.formSubmission("lockwait-b", "lockwait-form", new JsonObject().put("email", "b@example.com")));
      long last = later.getJsonObject(1).getLong("position");
      Awaitility.await().atMost(20, TimeUnit.SECONDS).until(() -> submissions("lockwait-form") == 1
          && OTHERS.stream().allMatch(p -> checkpoint(p) >= last));
      assertEquals(-1, pageViews("lockwait-a"), "the locked projection applied nothing while locked");
      holder.commit();
    }

    Awaitility.await().atMost(20, TimeUnit.SECONDS).until(() -> pageViews("lockwait-a") == 1
        && pageViews("lockwait-b") == 1);
    long head = gateway.db().queryLong("SELECT max(position) FROM events");
    Awaitility.await().atMost(20, TimeUnit.SECONDS).until(() -> checkpoint(LOCKED) == head);
  }

  static final String FAILING = "form-submissions";
  static final List<String> NOT_FAILING = List.of("visitor-activity", "page-stats", "event-counts");

  static boolean runnerIn(String projection, String waitColumn, String wait) {
    return gateway.db().queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name = ? AND "
        + waitColumn + " = ?", "flightdeck-projection-" + projection, wait) > 0;
  }

  @Test
  @DisplayName("while a failing event's checkpoint is locked by another transaction as its attempt fails, the other "
      + "projections keep up with new events: recording the failure does not wait for the lock")
  void othersStepWhileAFailedAttemptMeetsALockedCheckpoint() throws Exception {
    // the form's apply fails; from its second try on (the first that counts as an attempt) only after a while, so
    // that a lock asked for meanwhile queues behind the attempt's transaction and is granted as it rolls back
    gateway.db().execute("CREATE SEQUENCE failing_form_tries");
    gateway.db().execute("""
        CREATE FUNCTION failing_form() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.form_id = 'lockwait-failing' THEN
            IF nextval('failing_form_tries') >= 2 THEN
              PERFORM pg_sleep(2);
            END IF;
            RAISE EXCEPTION 'failing form';
          END IF;
          RETURN NEW;
        END $$""");
    gateway.db().execute("CREATE TRIGGER failing_form BEFORE INSERT ON form_submissions "
        + "FOR EACH ROW EXECUTE FUNCTION failing_form()");
    try (Connection holder = gateway.db().connect(); Statement st = holder.createStatement()) {
      holder.setAutoCommit(false);
      gateway.http().postBatch(HttpTestClient.formSubmission("lockwait-f", "lockwait-failing", new JsonObject()));
      Awaitility.await("the counted attempt being applied").atMost(20, TimeUnit.SECONDS)
          .pollInterval(10, TimeUnit.MILLISECONDS).until(() -> runnerIn(FAILING, "wait_event", "PgSleep"));
      CompletableFuture<Boolean> locked = CompletableFuture.supplyAsync(() -> lock(st, FAILING));
      Awaitility.await("the checkpoint locked as the attempt failed").atMost(20, TimeUnit.SECONDS)
          .until(locked::isDone);
      locked.join();
      Awaitility.await().atMost(20, TimeUnit.SECONDS).until(() -> runnerIn(FAILING, "wait_event_type", "Lock"));

      // well below the statement timeout (60 s here), which alone would end a wait for the lock
      long last = gateway.http().postBatch(HttpTestClient.pageView("lockwait-c", "/c"))
          .getJsonObject(0).getLong("position");
      Awaitility.await("the other projections past the new event").atMost(15, TimeUnit.SECONDS)
          .until(() -> NOT_FAILING.stream().allMatch(p -> checkpoint(p) >= last));
      assertEquals(1, pageViews("lockwait-c"));
    } finally {
      gateway.db().execute("DROP TRIGGER failing_form ON form_submissions");
      gateway.db().execute("DROP FUNCTION failing_form()");
      gateway.db().execute("DROP SEQUENCE failing_form_tries");
    }
    // the lock released (the holder closed), the next attempt applies the form, its trigger gone
    Awaitility.await().atMost(20, TimeUnit.SECONDS).until(() -> submissions("lockwait-failing") == 1);
  }

  /** Locks {@code projection}'s checkpoint row in the open transaction of {@code st}'s connection. */
  static boolean lock(Statement st, String projection) {
    try {
      return st.execute("SELECT 1 FROM projection_checkpoints WHERE name = '" + projection + "' FOR UPDATE");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
