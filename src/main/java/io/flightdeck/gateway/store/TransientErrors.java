package io.flightdeck.gateway.store;

import io.vertx.core.VertxException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import java.io.IOException;
import java.util.Set;

/** Which store failures are worth retrying: the same append may well succeed a moment later. */
public final class TransientErrors {

  private static final Set<String> RETRYABLE_STATES = Set.of(
      "40001", // serialization_failure
      "40P01", // deadlock_detected
      "55P03", // lock_not_available (lock_timeout)
      "57014", // query_canceled (statement_timeout)
      "57P01", // admin_shutdown
      "57P02", // crash_shutdown
      "57P03", // cannot_connect_now (starting up, recovering)
      "25006", // read_only_sql_transaction: a standby, or a database made read-only, until it takes writes again
      "23505", // unique_violation: a racing writer stored the id; the retry answers it as a duplicate
      "25P02"); // in_failed_sql_transaction (follows one of the above in a pipeline)

  private TransientErrors() {
  }

  public static boolean isUniqueViolation(Throwable t) {
    return t instanceof PgException pg && "23505".equals(pg.getSqlState());
  }

  /** The server ended the session (terminated, shutting down, crashed): another connection may well work. */
  static boolean isSessionLost(PgException pg) {
    return "FATAL".equals(pg.getSeverity()) || "PANIC".equals(pg.getSeverity());
  }

  /**
   * Whether a transaction may have committed although one of its steps failed with {@code failure}; both append
   * paths decide by this rule alone. {@code commitStep} says whether the failed step is the one that commits (COMMIT,
   * or a statement that commits on its own).
   * <ul>
   *   <li>A server's answer to a step before the commit step proves the transaction never committed: the server
   *   was still at that step, and a queued COMMIT after an error is a rollback.</li>
   *   <li>A server's answer to the commit step is a rollback too (ERROR, or FATAL, which ends the session by rolling
   *   back), except PANIC: once a commit record is written an error can only be a PANIC, and the record may be on
   *   disk. PostgreSQL never answers FATAL after a commit; a backend told to quit while a synchronous standby has
   *   not confirmed its commit closes the connection without a word.</li>
   *   <li>A connection that broke with no answer leaves the outcome unknown, whichever step was waiting: the server
   *   may have run every step it had received, COMMIT included.</li>
   * </ul>
   */
  static boolean mayHaveCommitted(Throwable failure, boolean commitStep) {
    if (failure instanceof PgException pg) {
      return commitStep && "PANIC".equals(pg.getSeverity());
    }
    return true;
  }

  public static boolean isTransient(Throwable t) {
    if (t instanceof CommitOutcomeUnknownException) {
      return true;
    }
    if (t instanceof PgException pg) {
      if (isSessionLost(pg)) {
        // the session is gone (refused at connect, terminated, server stopping): another connection may well work,
        // and past the deadline the client is told 503, the store is down
        return true;
      }
      String state = pg.getSqlState();
      return state != null && (RETRYABLE_STATES.contains(state) || state.startsWith("08") || state.startsWith("53"));
    }
    // connection refused, reset, closed, pool wait timeouts: all say "not now" rather than "never"
    return t instanceof ClosedConnectionException || t instanceof IOException || t instanceof VertxException;
  }
}
