package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.projection.ProjectionTransactions.ApplyFailedException;
import io.flightdeck.gateway.store.TransientErrors;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what one projection's runner does after a failed step. A failing batch is replayed one event per
 * transaction to find the culprit; an event that fails is retried with exponential back-off and, after
 * {@code maxAttempts}, goes to the dead letters so that the projection moves on. Trouble with the database or
 * the connection is retried with the same back-off without counting against the event.
 */
final class BatchFailures {

  // logged as the runner: these lines are about its steps, and operators look for them under its name
  private static final Logger LOG = LoggerFactory.getLogger(ProjectionRunner.class);

  private final Vertx vertx;
  private final String projection;
  private final ProjectionsConfig config;
  private final ProjectionTransactions transactions;
  private final Runnable retry;
  private final Handler<AsyncResult<Long>> resume;

  private long isolateUntil = -1;
  private int attempts;
  private int troubles;
  private long retryTimer = -1;
  private boolean settingAside;

  /**
   * @param retry steps again from the runner's checkpoint, once a back-off is over
   * @param resume steps on at once from the checkpoint it is given, or handles its failure as a failed step
   */
  BatchFailures(Vertx vertx, String projection, ProjectionsConfig config, ProjectionTransactions transactions,
                Runnable retry, Handler<AsyncResult<Long>> resume) {
    this.vertx = vertx;
    this.projection = projection;
    this.config = config;
    this.transactions = transactions;
    this.retry = retry;
    this.resume = resume;
  }

  /** The most events the step after {@code checkpoint} may apply: one while a failed batch is replayed. */
  int limit(long checkpoint) {
    return replaying(checkpoint) ? 1 : config.batchSize();
  }

  /**
   * Whether the step after {@code checkpoint} is a first try ({@link Projection#applyFirstTry}): no failed batch is
   * being replayed and no failed event retried. Trouble with the database does not count: its transaction rolled
   * back, so the tables are as the checkpoint says.
   */
  boolean firstTry(long checkpoint) {
    return attempts == 0 && !replaying(checkpoint);
  }

  private boolean replaying(long checkpoint) {
    return checkpoint >= 0 && checkpoint < isolateUntil;
  }

  /** A step committed up to {@code checkpoint}: the counts start again, and a replay ends past its batch. */
  void succeeded(long checkpoint) {
    attempts = 0;
    troubles = 0;
    if (checkpoint >= isolateUntil) {
      isolateUntil = -1;
    }
  }

  /** The runner starts again from the stored checkpoint: no replay in progress, no attempts counted. */
  void reset() {
    isolateUntil = -1;
    attempts = 0;
  }

  /** Handles a failed step of a runner that still leads: replays, retries later or dead-letters. */
  void handle(SqlConnection conn, Throwable failure) {
    if (failure instanceof ApplyFailedException f && !transientFailure(f.getCause())) {
      applyFailed(conn, f);
    } else {
      troubles++;
      LOG.warn("projection {}: store error, retrying in {} ms: {}", projection,
          config.backoffMs(troubles), failure.getMessage());
      retryLater(config.backoffMs(troubles));
    }
  }

  private void applyFailed(SqlConnection conn, ApplyFailedException failure) {
    List<EventEnvelope> events = failure.events();
    if (events.size() > 1 || failure.firstTry()) {
      // find the culprit: the same events again, one transaction each, none a first try; a lone event's first try
      // does not count as an attempt either, so that it never costs a dead letter (Projection#applyFirstTry)
      isolateUntil = events.get(events.size() - 1).position();
      resume.handle(Future.succeededFuture(events.get(0).position() - 1));
      return;
    }
    EventEnvelope event = events.get(0);
    attempts++;
    String error = describe(failure.getCause());
    recordFailure(conn, failure, error);
    if (attempts < config.maxAttempts()) {
      LOG.warn("projection {}: apply failed for event at position {} (attempt {} of {}): {}", projection,
          event.position(), attempts, config.maxAttempts(), error);
      retryLater(config.backoffMs(attempts));
      return;
    }
    int failed = attempts;
    settingAside = true;
    transactions.deadLetter(conn, event, failure.from(), failure.rebuildStarted(), error, attempts)
        .onComplete(ar -> settingAside = false)
        .map(checkpoint -> {
          attempts = 0;
          if (checkpoint == event.position()) {
            LOG.error("projection {}: event at position {} (id {}) failed {} times, moved to the dead letters: {}",
                projection, event.position(), event.id(), failed, error);
          } else {
            LOG.warn("projection {}: event at position {} (id {}) failed {} times; not set aside, as the checkpoint "
                + "moved meanwhile (a rebuild, or another process), to {}", projection, event.position(), event.id(),
                failed, checkpoint);
          }
          return checkpoint;
        })
        .onComplete(resume);
  }

  /**
   * Sent without waiting for it, ahead of the retry on the same connection: it must not wait for the checkpoint's
   * lock ({@link ProjectionSql#RECORD_FAILURE} skips a locked row), or the retry's turn at the gate would wait too.
   */
  private void recordFailure(SqlConnection conn, ApplyFailedException failure, String error) {
    conn.preparedQuery(ProjectionSql.RECORD_FAILURE)
        .execute(Tuple.of(projection, error, failure.from(), failure.rebuildStarted()))
        .onFailure(e -> LOG.debug("projection {}: cannot record the failure: {}", projection, e.getMessage()));
  }

  private void retryLater(long delayMs) {
    retryTimer = vertx.setTimer(delayMs, id -> {
      retryTimer = -1;
      retry.run();
    });
  }

  /**
   * Whether an event's dead letter is being written: its transaction waits for the checkpoint's lock, which a rebuild
   * or a dead-letter retry may hold, and for the dead letters' id lock, as long as another projection writes one.
   */
  boolean settingAside() {
    return settingAside;
  }

  /** Cancels the retry waiting for its back-off, if any: true when one was cancelled before it ran. */
  boolean cancelRetry() {
    boolean cancelled = retryTimer >= 0 && vertx.cancelTimer(retryTimer);
    retryTimer = -1;
    return cancelled;
  }

  /** The database or the connection, not the event: retried without counting against the event. */
  static boolean transientFailure(Throwable t) {
    return TransientErrors.isTransient(t) && !TransientErrors.isUniqueViolation(t);
  }

  /** The error as recorded with a failure or a dead letter: its message, at most 2000 characters. */
  static String describe(Throwable t) {
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return message.length() > 2000 ? message.substring(0, 2000) : message;
  }
}
