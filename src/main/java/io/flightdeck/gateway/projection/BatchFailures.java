package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.projection.ProjectionTransactions.ApplyFailedException;
import io.flightdeck.gateway.projection.ProjectionTransactions.ReadTimedOutException;
import io.flightdeck.gateway.store.TransientErrors;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides what one projection's runner does after a failed step. A failing batch is replayed one event per
 * transaction to find the culprit; an event that fails is retried with exponential back-off and, after
 * {@code maxAttempts}, goes to the dead letters so that the projection moves on. Trouble with the database or
 * the connection is retried with the same back-off without counting against the event. A batch the server cancelled
 * at the statement timeout is tried again at once in halves, down to one event, as a batch that takes too long
 * whole takes as long every time it is tried whole; so is a read of the store cancelled at the statement timeout,
 * over half the positions, down to one, its range growing back as reads succeed again.
 */
final class BatchFailures {

  /** How many reads in a row must succeed before a range shrunk after a read timeout doubles again. */
  static final int READS_BEFORE_GROWING = 4;

  // logged as the runner: these lines are about its steps, and operators look for them under its name
  private static final Logger LOG = LoggerFactory.getLogger(ProjectionRunner.class);

  private final Vertx vertx;
  private final String projection;
  private final ProjectionsConfig config;
  private final ProjectionTransactions transactions;
  private final Runnable retry;
  private final Handler<AsyncResult<Long>> resume;

  private long isolateUntil = -1;
  /** While the checkpoint is below this, a step takes at most {@link #shrunk} events: a larger batch timed out. */
  private long shrinkUntil = -1;
  private int shrunk;
  /**
   * The most positions the next read of the store covers: {@link ProjectionTransactions#FULL_RANGE} (as many as
   * projections.scanPositions lets it) unless a read timed out lately. Kept across {@link #reset}: it says how fast
   * the store answers, not where the checkpoint is.
   */
  private long readRange = ProjectionTransactions.FULL_RANGE;
  /** Reads of the store that succeeded since {@link #readRange} last changed. */
  private int readsAtRange;
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

  /**
   * The most events the step after {@code checkpoint} may apply: one while a failed batch is replayed, a part of a
   * batch that timed out while its events are tried again ({@link #tookTooLong}).
   */
  int limit(long checkpoint) {
    if (replaying(checkpoint)) {
      return 1;
    }
    return checkpoint >= 0 && checkpoint < shrinkUntil ? shrunk : config.batchSize();
  }

  /**
   * Whether the step after {@code checkpoint} is a first try ({@link Projection#applyFirstTry}): no failed batch is
   * being replayed and no failed event retried. Trouble with the database does not count: its transaction rolled
   * back, so the tables are as the checkpoint says.
   */
  boolean firstTry(long checkpoint) {
    return attempts == 0 && !replaying(checkpoint);
  }

  /** The most positions the next read of the store may cover ({@link ProjectionTransactions#next}). */
  long readRange() {
    return readRange;
  }

  private boolean replaying(long checkpoint) {
    return checkpoint >= 0 && checkpoint < isolateUntil;
  }

  /**
   * A step committed up to {@code checkpoint}: the counts start again, and a replay ends past its batch. {@code read}:
   * it read its events from the store (not from the shared window), so a range shrunk after a timeout grows again.
   */
  void succeeded(long checkpoint, boolean read) {
    attempts = 0;
    troubles = 0;
    if (checkpoint >= isolateUntil) {
      isolateUntil = -1;
    }
    if (checkpoint >= shrinkUntil) {
      shrinkUntil = -1;
    }
    if (read) {
      readSucceeded();
    }
  }

  /** The runner starts again from the stored checkpoint: no replay in progress, no attempts counted. */
  void reset() {
    isolateUntil = -1;
    shrinkUntil = -1;
    attempts = 0;
  }

  /** Handles a failed step of a runner that still leads: replays, retries later or dead-letters. */
  void handle(SqlConnection conn, Throwable failure) {
    if (failure instanceof ApplyFailedException f && !transientFailure(f.getCause())) {
      applyFailed(conn, f);
    } else if (failure instanceof ApplyFailedException f && f.events().size() > 1 && timedOut(f.getCause())) {
      tookTooLong(f);
    } else if (failure instanceof ReadTimedOutException r && r.positions() > 1) {
      readTookTooLong(r);
    } else {
      troubles++;
      LOG.warn("projection {}: store error, retrying in {} ms: {}", projection,
          config.backoffMs(troubles), failure.getMessage());
      retryLater(config.backoffMs(troubles));
    }
  }

  /**
   * The server cancelled the batch's apply at the statement timeout (db.statementTimeoutMs): tried whole again, it
   * would take as long and be cancelled again, for ever, although each of its events alone may take a fraction of
   * that. The same events are tried again at once in halves (a half that times out too, in halves again), up to the
   * last of them, then in full batches again. The transaction rolled back: no attempt is counted, and the tables
   * are as the checkpoint says, so a step is still a first try. A lone event that times out is trouble with the
   * database, retried after a back-off like any other.
   */
  private void tookTooLong(ApplyFailedException failure) {
    List<EventEnvelope> events = failure.events();
    shrunk = Math.max(1, events.size() / 2);
    // a half that times out within a shrunk range shrinks the rest of that range too
    shrinkUntil = Math.max(shrinkUntil, events.get(events.size() - 1).position());
    LOG.warn("projection {}: a batch of {} events did not finish within the statement timeout; trying {} at a time "
        + "up to position {}: {}", projection, events.size(), shrunk, shrinkUntil, failure.getMessage());
    resume.handle(Future.succeededFuture(failure.from()));
  }

  /**
   * The server cancelled the read of the events after the checkpoint at the statement timeout (a slow disk, a small
   * db.statementTimeoutMs, a range of large rows): read again over as many positions it would most likely be
   * cancelled again, for ever, while fewer would do. The next read covers half of them, at once (one that times out
   * too, half of that again), down to one position: a read of one that times out is trouble with the database,
   * retried after a back-off like any other. Every {@value #READS_BEFORE_GROWING} reads in a row that succeed double
   * the range again, up to projections.scanPositions, so that a slow moment does not leave the projection reading
   * small ranges for good; not every read, or a store that stays slow would cancel every other read, each after the
   * whole statement timeout.
   */
  private void readTookTooLong(ReadTimedOutException failure) {
    readRange = Math.max(1, failure.positions() / 2);
    readsAtRange = 0;
    LOG.warn("projection {}: a read of {} positions after position {} did not finish within the statement timeout; "
        + "reading {} at a time: {}", projection, failure.positions(), failure.from(), readRange,
        failure.getMessage());
    resume.handle(Future.succeededFuture(failure.from()));
  }

  private void readSucceeded() {
    if (readRange == ProjectionTransactions.FULL_RANGE || ++readsAtRange < READS_BEFORE_GROWING) {
      return;
    }
    readsAtRange = 0;
    if (readRange >= config.scanPositions() / 2) {
      readRange = ProjectionTransactions.FULL_RANGE;
      LOG.info("projection {}: reads of the store cover their full range again (projections.scanPositions: {})",
          projection, config.scanPositions());
    } else {
      readRange *= 2;
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

  /** The server cancelled the statement: its statement timeout, or an operator's pg_cancel_backend. */
  static boolean timedOut(Throwable t) {
    return t instanceof PgException pg && "57014".equals(pg.getSqlState());
  }

  /** The error as recorded with a failure or a dead letter: its message, at most 2000 characters. */
  static String describe(Throwable t) {
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return message.length() > 2000 ? message.substring(0, 2000) : message;
  }
}
