package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.SqlConnection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One projection step against the real store, with a window of recent events built by hand: the window's events
 * are marked, so the test sees which source a step used. Ten events are stored (positions 1 to 10).
 */
@ExtendWith(PostgresExtension.class)
class ProjectionTransactionsIT {

  // migrates the database; no projection runner, so the probe's checkpoint moves only where the tests move it
  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
  static Vertx vertx;
  static PgConnection conn;

  /** Records what it was given; reads every type. */
  /** A projection of no types and no tables that records what it is given to apply. */
  static final class Probe implements Projection {
    final List<EventEnvelope> applied = new ArrayList<>();
    private final String name;

    Probe() {
      this("probe");
    }

    Probe(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Set<String> eventTypes() {
      return Set.of();
    }

    @Override
    public List<String> tables() {
      return List.of();
    }

    @Override
    public Future<Void> apply(SqlConnection tx, List<EventEnvelope> events) {
      applied.addAll(events);
      return Future.succeededFuture();
    }
  }

  Probe probe;
  ProjectionTransactions transactions;

  @BeforeAll
  static void start() throws Exception {
    for (int i = 1; i <= 10; i++) {
      gateway.http().postBatch(HttpTestClient.pageView("tx-" + i, "/store/" + i));
    }
    gateway.db().execute("INSERT INTO projection_checkpoints (name) VALUES ('probe')");
    vertx = Vertx.vertx();
    conn = await(PgConnection.connect(vertx, gateway.db().options()));
  }

  @AfterAll
  static void stop() throws Exception {
    await(conn.close());
    await(vertx.close());
  }

  @BeforeEach
  void fresh() {
    probe = new Probe();
    transactions = new ProjectionTransactions(probe, 100_000);
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A window over (after, 10] whose events say they came from the window; their ids are the store's. */
  static RecentEvents.Window window(long after) {
    return window(after, p -> UUID.fromString(
        gateway.db().query("SELECT id::text FROM events WHERE position = ?", p).get(0).get(0).toString()));
  }

  /** A window over (after, 10] whose events say they came from the window, with these ids. */
  static RecentEvents.Window window(long after, LongFunction<UUID> ids) {
    RecentEvents recent = new RecentEvents(100, 1000);
    recent.startAt(after);
    List<EventEnvelope> events = new ArrayList<>();
    for (long p = after + 1; p <= 10; p++) {
      events.add(new EventEnvelope(ids.apply(p), p, "w", 1, "PageViewed", 2,
          new JsonObject().put("pageId", "/window/" + p), new JsonObject(), Instant.EPOCH, Instant.EPOCH));
    }
    recent.append(events, 0);
    return recent.window();
  }

  static void checkpointAt(long position) {
    gateway.db().execute("UPDATE projection_checkpoints SET position = ? WHERE name = 'probe'", position);
  }

  static long checkpoint() {
    return gateway.db().queryLong("SELECT position FROM projection_checkpoints WHERE name = 'probe'");
  }

  /** One step with the stored checkpoint at {@code checkpoint} and a window over (3, 10]. */
  private ProjectionTransactions.Step stepFrom(long checkpoint, int limit) throws Exception {
    checkpointAt(checkpoint);
    return await(transactions.next(conn, window(3), limit, ProjectionTransactions.FULL_RANGE, true));
  }

  /** The step applied these pages and committed this checkpoint, stored too. */
  private void assertApplied(ProjectionTransactions.Step step, List<String> pages, long checkpoint, boolean more) {
    assertEquals(pages, pages());
    assertEquals(checkpoint, step.checkpoint());
    assertEquals(more, step.more());
    assertEquals(checkpoint, checkpoint());
  }

  private List<String> pages() {
    return probe.applied.stream().map(e -> e.data().getString("pageId")).toList();
  }

  @Test
  @DisplayName("a step whose checkpoint the window covers applies the window's events after it and commits its end")
  void fromWindow() throws Exception {
    ProjectionTransactions.Step step = stepFrom(4, 100);
    assertTrue(step.shared());
    assertApplied(step, List.of("/window/5", "/window/6", "/window/7", "/window/8", "/window/9", "/window/10"), 10,
        false);
  }

  @Test
  @DisplayName("a full step from the window stops at its last event and says more may follow")
  void fromWindowLimited() throws Exception {
    assertApplied(stepFrom(4, 2), List.of("/window/5", "/window/6"), 6, true);
  }

  @Test
  @DisplayName("if the stored checkpoint moved out of the window (a rebuild), the step reads the store instead")
  void movedOutOfWindow() throws Exception {
    ProjectionTransactions.Step step = stepFrom(1, 100);
    assertFalse(step.shared());
    List<String> expected = new ArrayList<>();
    for (int i = 2; i <= 10; i++) {
      expected.add("/store/" + i);
    }
    assertEquals(expected, pages());
    assertEquals(10, checkpoint());
  }

  @Test
  @DisplayName("a window whose last event the store no longer holds (read before a failover to a replica that had "
      + "not received it, or a restored backup) is not applied: the step reads the store")
  void windowOfAnotherHistory() throws Exception {
    checkpointAt(4);
    ProjectionTransactions.Step step = await(transactions.next(conn, window(3, p -> UUID.randomUUID()), 100,
        ProjectionTransactions.FULL_RANGE, true));
    assertFalse(step.shared());
    assertEquals(List.of("/store/5", "/store/6", "/store/7", "/store/8", "/store/9", "/store/10"), pages());
    assertEquals(10, checkpoint());
  }

  @Test
  @DisplayName("a checkpoint already at the window's end commits nothing new")
  void atWindowEnd() throws Exception {
    ProjectionTransactions.Step step = stepFrom(10, 100);
    assertEquals(0, step.applied());
    assertTrue(probe.applied.isEmpty());
    assertEquals(10, checkpoint());
  }
}
