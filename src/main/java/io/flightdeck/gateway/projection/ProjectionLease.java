package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.store.PgSessions;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this process runs a projection: it does while its one dedicated connection holds the projection's
 * advisory lock. The same connection does all of the projection's work, so if it dies the lock and any open
 * transaction go with it, and another process (or this one, soon) takes over from the committed checkpoint.
 * Touched only on the runner's context.
 *
 * <p>The connection comes from {@link PgSessions}: closed once the server has been silent on it for the silence
 * timeout (a partition, a frozen host), whatever it was doing, which ends the lead here (the server releases the lock
 * once it notices the connection is gone, or at once where the close reaches it). It sends {@code SELECT 1} every
 * heartbeat interval, so that an idle lead, with nothing to apply, is never that silent and is kept.
 */
final class ProjectionLease {

  private static final Logger LOG = LoggerFactory.getLogger(ProjectionLease.class);
  private static final long RETRY_AFTER_LOSS_MS = 100;

  private final Vertx vertx;
  private final PgSessions sessions;
  private final String name;
  private final PgConnectOptions connectOptions;
  private final String owner;
  private final Runnable onLead;

  private PgConnection conn;
  private boolean connecting;
  private boolean leading;
  private boolean released;
  private long heartbeat = -1;

  /** {@code onLead} runs each time this process takes the projection over. */
  ProjectionLease(Vertx vertx, PgSessions sessions, String name, PgConnectOptions connectOptions, String owner,
                  Runnable onLead) {
    this.vertx = vertx;
    this.sessions = sessions;
    this.name = name;
    this.connectOptions = connectOptions;
    this.owner = owner;
    this.onLead = onLead;
  }

  /** Whether this process runs the projection now. */
  boolean leading() {
    return leading && !released;
  }

  /** The connection that holds the lock; only while {@link #leading()}. */
  PgConnection connection() {
    return conn;
  }

  /** Tries to take the projection over, unless this process runs it already or is trying. */
  void tryLead() {
    if (released || leading || connecting) {
      return;
    }
    if (heartbeat < 0) {
      heartbeat = sessions.heartbeat(() -> conn);
    }
    connecting = true;
    connect()
        .compose(c -> c.preparedQuery(ProjectionSql.TRY_LOCK).execute(Tuple.of(name))
            .compose(rows -> rows.iterator().next().getBoolean("locked")
                ? c.preparedQuery(ProjectionSql.CLAIM).execute(Tuple.of(name, owner)).map(true)
                : Future.succeededFuture(false)))
        .onComplete(this::led);
  }

  private void led(AsyncResult<Boolean> result) {
    connecting = false;
    if (released && conn != null) {
      // released while connecting: whatever was won goes back at once
      PgConnection c = conn;
      conn = null;
      c.close();
      return;
    }
    if (result.failed()) {
      LOG.debug("projection {}: cannot take the lead now: {}", name, result.cause().getMessage());
      return;
    }
    if (result.result() && !released) {
      leading = true;
      LOG.info("projection {}: running in this process", name);
      changedHands();
      onLead.run();
    }
  }

  private Future<PgConnection> connect() {
    if (conn != null) {
      return Future.succeededFuture(conn);
    }
    return sessions.connect(connectOptions).onSuccess(c -> {
      conn = c;
      c.closeHandler(v -> lost(c));
      // the failure reaches the step in flight and the close handler; without a handler it is printed raw
      c.exceptionHandler(e -> LOG.debug("projection {}: connection error: {}", name, e.getMessage()));
    });
  }

  private void lost(PgConnection c) {
    if (conn != c) {
      return;
    }
    conn = null;
    if (leading) {
      LOG.warn("projection {}: connection lost; it resumes from its checkpoint here or in another process", name);
      leading = false;
      changedHands();
      // try again soon rather than at the next takeover tick; the lock decides who runs it
      vertx.setTimer(RETRY_AFTER_LOSS_MS, id -> tryLead());
    }
  }

  /** Stops taking the projection over; a lead won from now on is given back at once. */
  void stopLeading() {
    released = true;
    vertx.cancelTimer(heartbeat);
  }

  /** Closes the connection, which releases the lock: another process takes over at once. */
  Future<Void> release() {
    stopLeading();
    boolean led = leading;
    leading = false;
    PgConnection c = conn;
    conn = null;
    if (c == null) {
      return Future.succeededFuture();
    }
    // told once the lock is gone, so that the figures sampled then no longer show it held here
    return c.close().onComplete(ar -> {
      if (led) {
        changedHands();
      }
    });
  }

  /** The projection figures show who holds the locks, which just changed here: they are sampled again. */
  private void changedHands() {
    vertx.eventBus().publish(EventBusAddresses.PROJECTION_LEASE_CHANGED, new JsonObject().put("projection", name));
  }
}
