package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnection;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Dead letters set aside by two projections at once, as a poison event that every projection fails on is (their
 * retries run on the same back-off): a reader of {@code GET /v1/admin/dead-letters} that follows {@code next} must
 * see both, whichever commits first.
 */
@ExtendWith(PostgresExtension.class)
class DeadLetterPagingIT {

  // migrates the database; no projection runner, so only the test sets dead letters aside
  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));

  /** The advisory lock the test holds to keep the first dead letter's transaction open after its insert. */
  static final long STALL_LOCK = 4242;

  @Test
  @DisplayName("a reader following next sees every dead letter, also one whose transaction commits after a later one")
  void followingNextMissesNone() throws Exception {
    gateway.http().postBatch(HttpTestClient.pageView("dl-paging-1", "/poison"));
    gateway.db().execute("INSERT INTO projection_checkpoints (name) VALUES ('dl-a'), ('dl-b')");
    // dl-a's insert waits, its id taken, until the test lets it go (as a slow commit would)
    gateway.db().execute("""
        CREATE FUNCTION stall_dl_a() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_advisory_lock_shared(%d);
          PERFORM pg_advisory_unlock_shared(%d);
          RETURN NEW;
        END $$""".formatted(STALL_LOCK, STALL_LOCK));
    gateway.db().execute("CREATE TRIGGER stall_dl_a AFTER INSERT ON dead_letters FOR EACH ROW "
        + "WHEN (NEW.projection = 'dl-a') EXECUTE FUNCTION stall_dl_a()");
    EventEnvelope event = new EventEnvelope(UUID.randomUUID(), 1, "dl-paging-1", 1, "PageViewed", 2,
        new JsonObject().put("pageId", "/poison"), new JsonObject(), Instant.EPOCH, Instant.EPOCH);
    Vertx vertx = Vertx.vertx();
    try (Connection holder = gateway.db().connect(); Statement st = holder.createStatement()) {
      st.execute("SELECT pg_advisory_lock(" + STALL_LOCK + ")");
      PgConnection a = await(PgConnection.connect(vertx, gateway.db().options().addProperty("application_name",
          "dl-a")));
      PgConnection b = await(PgConnection.connect(vertx, gateway.db().options().addProperty("application_name",
          "dl-b")));
      Future<Long> first = new ProjectionTransactions(new ProjectionTransactionsIT.Probe("dl-a"), 100_000).deadLetter(a, event, 0, null, "boom", 3);
      awaitWaiting("dl-a");
      Future<Long> second = new ProjectionTransactions(new ProjectionTransactionsIT.Probe("dl-b"), 100_000).deadLetter(b, event, 0, null, "boom", 3);
      Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> second.isComplete() || waiting("dl-b"));

      List<Long> seen = new ArrayList<>();
      long next = readFrom(0, seen);
      st.execute("SELECT pg_advisory_unlock(" + STALL_LOCK + ")");
      await(first);
      await(second);
      readFrom(next, seen);

      List<Long> stored = new ArrayList<>();
      gateway.db().query("SELECT id FROM dead_letters ORDER BY id")
          .forEach(row -> stored.add(((Number) row.get(0)).longValue()));
      assertEquals(2, stored.size());
      assertEquals(stored, seen, "the dead letters a reader following next listed");
      await(a.close());
      await(b.close());
    } finally {
      await(vertx.close());
    }
  }

  /** Reads every page from {@code after} on, adding the ids listed to {@code seen}; answers the last next. */
  private static long readFrom(long after, List<Long> seen) {
    long next = after;
    while (true) {
      JsonObject page = gateway.http().getWithAdminToken("/v1/admin/dead-letters?after=" + next).json();
      JsonArray letters = page.getJsonArray("deadLetters");
      letters.forEach(l -> seen.add(((JsonObject) l).getLong("id")));
      next = page.getLong("next");
      if (letters.isEmpty()) {
        return next;
      }
    }
  }

  private static void awaitWaiting(String applicationName) {
    Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> waiting(applicationName));
  }

  /** Whether the connection named {@code applicationName} waits for a lock. */
  private static boolean waiting(String applicationName) {
    return gateway.db().queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name = ? "
        + "AND wait_event_type = 'Lock'", applicationName) > 0;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
