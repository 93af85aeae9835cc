package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.store.StoreUnavailableException;
import io.flightdeck.gateway.store.StoreUnavailableException.Reason;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.SqlConnection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The statements of this process's admin changes (a rebuild, a dead-letter retry) that wait for a projection's
 * checkpoint lock, which a runner's batch, a rebuild or retry of another process, or an operator's session may hold.
 * Their wait is bounded (the rebuild's lock timeout, 10 s; the statement timeout, 30 s by default), but either is
 * longer than the drain the contract gives SIGTERM: on {@link #stop()} the server cancels them, their transactions
 * roll back, having changed nothing, and their requests are answered 503 (shutting down) instead of being cut off
 * unanswered once the HTTP drain gives up on them. Changes begun after it are refused the same way.
 */
final class LockWaits {

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

  /** A cancel that reaches the server before the statement began cancels nothing: sent again while it waits. */
  private void cancel(PgConnection conn) {
    if (!waiting.contains(conn)) {
      return;
    }
    conn.cancelRequest().onComplete(ar -> {
      if (waiting.contains(conn)) {
        vertx.setTimer(CANCEL_AGAIN_MS, id -> cancel(conn));
      }
    });
  }

  private static StoreUnavailableException shuttingDown(Throwable cause) {
    return new StoreUnavailableException(Reason.SHUTTING_DOWN, "the gateway is shutting down", 1, cause);
  }
}
