package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.store.StoreUnavailableException;
import io.flightdeck.gateway.store.StoreUnavailableException.Reason;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.SqlConnection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The statements of this process's admin changes (a rebuild, a dead-letter retry) that wait for a projection's
 * checkpoint lock, which a runner's batch, a rebuild or retry of another process, or an operator's session may hold.
 * Their wait is bounded (the rebuild's lock timeout, 10 s; the statement timeout, 30 s by default), but either is
 * longer than the drain the contract gives SIGTERM: on {@link #stop()} the server cancels them, their transactions
 * roll back, having changed nothing, and their requests are answered 503 (shutting down) instead of being cut off
 * unanswered once the HTTP drain gives up on them. Changes begun after it are refused the same way.
 */
final class LockWaits {

  private static final Logger LOG = LoggerFactory.getLogger(LockWaits.class);

  /** How soon a cancel is sent again when the one before reached the server before the wait began. */
  private static final long CANCEL_AGAIN_MS = 100;

  private final Vertx vertx;
  private final Set<PgConnection> waiting = ConcurrentHashMap.newKeySet();
  private volatile boolean stopping;

  LockWaits(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Runs {@code statement}, a lock wait on {@code conn}, as one a stop cancels. */
  <T> Future<T> await(SqlConnection conn, Supplier<Future<T>> statement) {
    if (stopping) {
      return Future.failedFuture(shuttingDown(null));
    }
    PgConnection pg = PgConnection.cast(conn);
    waiting.add(pg);
    if (stopping) {
      // stop() went over the set before this wait was in it
      cancel(pg);
    }
    return statement.get()
        .transform(ar -> {
          waiting.remove(pg);
          if (ar.succeeded()) {
            return Future.succeededFuture(ar.result());
          }
          return Future.failedFuture(stopping ? shuttingDown(ar.cause()) : ar.cause());
        });
  }

  /** Cancels the waits in flight, and refuses those to come. */
  void stop() {
    stopping = true;
    // on a Vert.x context: the caller may be the JVM's shutdown hook
    vertx.runOnContext(v -> waiting.forEach(this::cancel));
  }

  private void cancel(PgConnection conn) {
    cancelWhile(vertx, conn, () -> waiting.contains(conn));
  }

  /**
   * Has the server cancel the statement {@code conn} runs while {@code stillWaiting} says it waits for a lock. A
   * cancel that reaches the server before the statement began (sent with others, still queued behind them) cancels
   * nothing, so it is sent again every {@value #CANCEL_AGAIN_MS} ms until the wait is over; a lock granted meanwhile
   * ends it as usual. Used by a stop, for this class's admin changes and for a runner's own waits.
   */
  static void cancelWhile(Vertx vertx, PgConnection conn, BooleanSupplier stillWaiting) {
    if (!stillWaiting.getAsBoolean()) {
      return;
    }
    conn.cancelRequest().onComplete(ar -> {
      if (ar.failed()) {
        LOG.debug("cannot cancel a lock wait: {}", ar.cause().getMessage());
      }
      if (stillWaiting.getAsBoolean()) {
        vertx.setTimer(CANCEL_AGAIN_MS, id -> cancelWhile(vertx, conn, stillWaiting));
      }
    });
  }

  private static StoreUnavailableException shuttingDown(Throwable cause) {
    return new StoreUnavailableException(Reason.SHUTTING_DOWN, "the gateway is shutting down", 1, cause);
  }
}
