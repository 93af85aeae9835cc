package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.projection.ProjectionTransactions.Step;
import io.flightdeck.gateway.store.PgSessions;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one projection in this process while its {@link ProjectionLease} says so, on the lease's connection.
 * Woken by the process's shared read of new events ({@link RecentEventsReader}), or by the store listener's
 * notifications while that is not reading, with a polling fallback. A step takes its events from the shared
 * window when the window holds everything after the checkpoint, else reads them from the store. What a failed
 * step leads to (a replay event by event, a retry after a back-off, a dead letter) is decided by
 * {@link BatchFailures}.
 */
public final class ProjectionRunner extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ProjectionRunner.class);

  private final Projection projection;
  private final ProjectionTransactions transactions;
  private final ProjectionsConfig config;
  private final PgConnectOptions connectOptions;
  private final PgSessions sessions;
  private final String owner;
  private final GatewayMetrics metrics;
  private final RecentEvents recent;
  private final StepGate gate;

  private ProjectionLease lease;
  private boolean busy;
  private boolean wakeAgain;
  private boolean stopped;
  private boolean awaitingCheckpoint;
  private long checkpoint = -1;
  private long rateTimer = -1;
  private BatchFailures failures;
  private long stepStarted = System.nanoTime() - 1_000_000_000L;
  private Promise<Void> idle;

  /**
   * {@code connectOptions} bound a statement's time (statement_timeout) below the silence timeout of
   * {@code sessions}, which closes the connection once nothing has come back on it for that long.
   */
  public ProjectionRunner(Projection projection, ProjectionsConfig config, PgConnectOptions connectOptions,
                          PgSessions sessions, String owner, GatewayMetrics metrics, RecentEvents recent,
                          StepGate gate) {
    this.metrics = metrics;
    this.sessions = sessions;
    this.recent = recent;
    this.gate = gate;
    this.projection = projection;
    this.transactions = new ProjectionTransactions(projection, config.scanPositions());
    this.config = config;
    this.connectOptions = new PgConnectOptions(connectOptions)
        .addProperty("application_name", "flightdeck-projection-" + projection.name())
        // a read model and its checkpoint commit together, so losing the last commits in a server crash only
        // rewinds both to an earlier consistent point, replayed from the store: no WAL flush needed per batch
        .addProperty("synchronous_commit", "off");
    this.owner = owner;
  }

  @Override
  public Future<?> start() {
    failures = new BatchFailures(vertx, projection.name(), config, transactions, this::step, this::resumed);
    lease = new ProjectionLease(vertx, sessions, projection.name(), connectOptions, owner, () -> {
      reset();
      wake();
    });
    vertx.eventBus().consumer(EventBusAddresses.STORE_APPENDED, m -> {
      if (!recent.reading()) {
        wake();
      }
    });
    vertx.eventBus().consumer(EventBusAddresses.PROJECTION_EVENTS_READ, m -> wake());
    vertx.eventBus().<JsonObject>consumer(EventBusAddresses.PROJECTION_CHANGED, m -> {
      if (projection.name().equals(m.body().getString("projection"))) {
        changed();
      }
    });
    vertx.setPeriodic(config.pollIntervalMs(), id -> wake());
    vertx.setPeriodic(config.takeoverIntervalMs(), id -> lease.tryLead());
    lease.tryLead();
    return Future.succeededFuture();
  }

  /**
   * A rebuild reset the checkpoint: start again from it now. A failed event's back-off (up to retryMaxDelayMs, which
   * may be an hour) is for that event, not for the rebuild an operator asked for, and is cancelled.
   */
  private void changed() {
    reset();
    if (failures.cancelRetry()) {
      settle();
    }
    wake();
  }

  private void reset() {
    checkpoint = -1;
    failures.reset();
  }

  private void wake() {
    if (!lease.leading() || stopped) {
      return;
    }
    if (busy) {
      wakeAgain = true;
      return;
    }
    busy = true;
    stepWithinRate();
  }

  /**
   * Under a steady trickle of notifications, waits until {@code minIntervalMs} after the previous step began:
   * one transaction then takes everything that arrived meanwhile, instead of one commit per append.
   */
  private void stepWithinRate() {
    long waitMs = config.minIntervalMs() - (System.nanoTime() - stepStarted) / 1_000_000;
    if (waitMs <= 0) {
      vertx.runOnContext(v -> step());
    } else {
      rateTimer = vertx.setTimer(waitMs, id -> step());
    }
  }

  /** A step for new events: it waits its turn at the process's {@link StepGate}. */
  private void step() {
    rateTimer = -1;
    step(true);
  }

  /**
   * The next full batch of a backlog (catching up, rebuilding): it does not wait at the gate, so a rebuild runs at
   * the machine's speed, as an operator who asked for it expects.
   */
  private void backlogStep() {
    step(false);
  }

  private void step(boolean gated) {
    wakeAgain = false;
    if (!lease.leading() || stopped) {
      settle();
      return;
    }
    recent.touch();
    (gated ? gate.run(this::next) : next()).onComplete(result -> {
      if (result.failed() && ProjectionTransactions.checkpointBusy(result.cause())) {
        awaitCheckpoint(gated);
      } else {
        stepped(result);
      }
    });
  }

  /**
   * Another transaction holds the checkpoint's lock (a rebuild, a dead-letter retry, a step of another process that
   * lost the lease): the step gave up at once, and its turn at the gate with it, so that the other projections go on
   * meanwhile. The runner waits for the lock here, off the gate, then steps again.
   */
  private void awaitCheckpoint(boolean gated) {
    if (!lease.leading() || stopped) {
      settle();
      return;
    }
    awaitingCheckpoint = true;
    transactions.awaitCheckpoint(lease.connection()).onComplete(ar -> {
      awaitingCheckpoint = false;
      if (ar.succeeded()) {
        step(gated);
      } else {
        failed(ar.cause());
      }
    });
  }

  /** The step's transaction; null when the runner stopped or lost its lease while the step waited for its turn. */
  private Future<Step> next() {
    stepStarted = System.nanoTime();
    if (!lease.leading() || stopped) {
      return Future.succeededFuture(null);
    }
    RecentEvents.Window window = recent.window();
    int limit = failures.limit(checkpoint);
    boolean firstTry = failures.firstTry(checkpoint);
    return window != null && window.ahead(checkpoint)
        ? transactions.next(lease.connection(), window, limit, failures.readRange(), firstTry)
        : transactions.next(lease.connection(), limit, failures.readRange(), firstTry);
  }

  private void stepped(AsyncResult<Step> result) {
    if (result.succeeded() && result.result() == null) {
      // stopped, or the lease lost, while waiting for its turn
      settle();
    } else if (result.succeeded()) {
      Step s = result.result();
      if (s.applied() > 0) {
        metrics.projectionApplied(projection.name(), s.applied(), s.shared());
      }
      checkpoint = s.checkpoint();
      recent.applied(projection.name(), checkpoint);
      failures.succeeded(checkpoint, !s.shared());
      continueOrSettle(s.more());
    } else {
      failed(result.cause());
    }
  }

  private void continueOrSettle(boolean more) {
    if (!lease.leading() || stopped || !(more || wakeAgain)) {
      settle();
    } else if (more) {
      // a backlog (catching up, rebuilding): full batches back to back
      vertx.runOnContext(v -> backlogStep());
    } else {
      stepWithinRate();
    }
  }

  /** Nothing in flight: a wake-up may start the next step, and a stop may close the connection. */
  private void settle() {
    busy = false;
    if (idle != null) {
      idle.tryComplete();
    }
  }

  private void failed(Throwable failure) {
    if (!lease.leading() || stopped) {
      settle();
      return;
    }
    failures.handle(lease.connection(), failure);
  }

  /** After a failure: steps on from the checkpoint it moved to, or handles a failure of its own like a step's. */
  private void resumed(AsyncResult<Long> result) {
    if (result.succeeded()) {
      checkpoint = result.result();
      recent.applied(projection.name(), checkpoint);
      continueOrSettle(true);
    } else {
      failed(result.cause());
    }
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    recent.left(projection.name());
    lease.stopLeading();
    // at most one of the two timers is pending: a step waiting for its rate, or a retry for its back-off
    if ((rateTimer >= 0 && vertx.cancelTimer(rateTimer)) || failures.cancelRetry()) {
      settle();
    }
    idle = Promise.promise();
    if (!busy) {
      idle.complete();
    }
    cancelLockWait();
    return idle.future().eventually(lease::release);
  }

  /** Whether the runner's statement in flight may be waiting for a lock that another session holds. */
  private boolean waitingForLock() {
    return awaitingCheckpoint || failures.settingAside();
  }

  /**
   * A stop does not wait for a lock held elsewhere (a rebuild, a dead-letter retry, another process, an operator's
   * session), which only the statement timeout would end, well past the 10 s the contract gives SIGTERM: the server
   * cancels the waiting statement, its transaction rolls back, having changed nothing, and the failure that follows is
   * the stop's, not the projection's (it is not counted, logged or set aside). Closing the connection instead would not
   * do: a backend notices its client gone only once the wait ends, and holds the lease until then
   * ({@link LockWaits#cancelWhile}: sent again while the runner still waits).
   */
  private void cancelLockWait() {
    PgConnection conn = lease.connection();
    if (conn != null) {
      LockWaits.cancelWhile(vertx, conn, this::waitingForLock);
    }
  }
}
