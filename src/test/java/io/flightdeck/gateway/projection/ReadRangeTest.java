package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.projection.ProjectionTransactions.ReadTimedOutException;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The range of a projection's reads after one was cancelled at the statement timeout, as {@link BatchFailures} keeps
 * it; {@link ReadRangeTimeoutIT} shows the same against a real store, where the reads it shrinks are cancelled.
 */
class ReadRangeTest {

  static final int SCAN_POSITIONS = 1000;

  private Vertx vertx;
  private final List<Long> resumedAt = new CopyOnWriteArrayList<>();
  private final AtomicInteger retries = new AtomicInteger();
  private BatchFailures failures;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    ProjectionsConfig config = new ProjectionsConfig(true, 5000, 0, 1000, 0, 1, 2000, 5, 1, 1, SCAN_POSITIONS);
    failures = new BatchFailures(vertx, "probe", config, null, retries::incrementAndGet,
        ar -> resumedAt.add(ar.result()));
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** How a read of {@code positions} after {@code from} fails when the server cancels it at the statement timeout. */
  static ReadTimedOutException cancelled(long from, long positions) {
    return new ReadTimedOutException(from, positions,
        new PgException("canceling statement due to statement timeout", "ERROR", "57014", null));
  }

  @Test
  @DisplayName("a read cancelled at the statement timeout is read again at once over half its range; every 4 reads "
      + "from the store in a row that succeed double it back towards the full range, steps from the shared window "
      + "do not count")
  void halvesThenGrowsBack() {
    assertEquals(ProjectionTransactions.FULL_RANGE, failures.readRange());
    failures.handle(null, cancelled(7, SCAN_POSITIONS));
    assertEquals(500, failures.readRange());
    failures.handle(null, cancelled(7, 500));
    assertEquals(250, failures.readRange());
    assertEquals(List.of(7L, 7L), resumedAt);
    assertEquals(0, retries.get());

    // a rebuild or a new lease starts from another checkpoint, on the same store
    failures.reset();
    assertEquals(250, failures.readRange());
    long checkpoint = 100;
    for (int i = 0; i < 10; i++) {
      failures.succeeded(checkpoint++, false);
    }
    assertEquals(250, failures.readRange());
    for (int i = 1; i < BatchFailures.READS_BEFORE_GROWING; i++) {
      failures.succeeded(checkpoint++, true);
    }
    assertEquals(250, failures.readRange(), "not yet: a store that stays slow would cancel every other read");
    failures.succeeded(checkpoint++, true);
    assertEquals(500, failures.readRange());
    // a timeout at the grown range starts the count again
    failures.handle(null, cancelled(checkpoint, 500));
    assertEquals(250, failures.readRange());
    for (int i = 0; i < 2 * BatchFailures.READS_BEFORE_GROWING; i++) {
      failures.succeeded(checkpoint++, true);
    }
    assertEquals(ProjectionTransactions.FULL_RANGE, failures.readRange());
  }

  @Test
  @DisplayName("a read of one position cancelled at the statement timeout is retried after a back-off over one "
      + "position, as any trouble with the database")
  void oneNotHalved() {
    failures.handle(null, cancelled(7, 2));
    assertEquals(1, failures.readRange());
    assertEquals(List.of(7L), resumedAt);

    failures.handle(null, cancelled(7, 1));
    assertEquals(1, failures.readRange());
    Awaitility.await("the retry after the back-off").atMost(Duration.ofSeconds(10)).until(() -> retries.get() == 1);
    assertEquals(List.of(7L), resumedAt);
  }
}
