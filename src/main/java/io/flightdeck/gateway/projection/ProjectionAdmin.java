package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.PgEventStore;
import io.flightdeck.gateway.store.PgStoreListener;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What operators do to projections, from any gateway process on the database: list them, rebuild one, list and
 * retry dead letters. Every change takes the projection's checkpoint lock first, like its runner, so it never
 * interleaves with a batch being applied wherever the projection runs.
 */
public final class ProjectionAdmin {

  /** The outcome of a dead-letter retry. */
  public sealed interface RetryOutcome {
  }

  public record NotFound() implements RetryOutcome {
  }

  public record Applied(DeadLetter deadLetter) implements RetryOutcome {
  }

  public record FailedAgain(DeadLetter deadLetter, String error, int attempts) implements RetryOutcome {
  }

  /** The dead letter's projection is not part of this release (an earlier one ran it): nothing can apply it. */
  public record UnknownProjection(DeadLetter deadLetter) implements RetryOutcome {
  }

  private final Pool pool;
  private final Map<String, Projection> projections;
  private final LockWaits lockWaits;

  public ProjectionAdmin(Vertx vertx, Pool pool, Map<String, Projection> projections) {
    this.pool = pool;
    this.projections = projections;
    this.lockWaits = new LockWaits(vertx);
  }

  /**
   * The process is stopping: a rebuild or a dead-letter retry waiting for a projection's lock gives the wait up, and
   * one begun from now on is refused; either fails with the gateway shutting down (503), having changed nothing.
   */
  public void stop() {
    lockWaits.stop();
  }

  public Future<List<ProjectionStatus>> statuses() {
    return pool.preparedQuery(ProjectionSql.STATUS)
        .execute(Tuple.of(projections.keySet().toArray(String[]::new)))
        .map(ProjectionAdmin::statuses)
        .recover(PgEventStore::unavailable);
  }

  private static List<ProjectionStatus> statuses(RowSet<Row> rows) {
    List<ProjectionStatus> out = new ArrayList<>();
    for (Row row : rows) {
      out.add(status(row));
    }
    return out;
  }

  private static ProjectionStatus status(Row row) {
    long checkpoint = row.getLong("position");
    long head = row.getLong("head");
    Long target = row.getLong("rebuild_target");
    String lastError = row.getString("last_error");
    boolean running = row.getBoolean("running");
    String state = !running ? "stopped"
        : lastError != null ? "failing"
        // a rebuild is done once the checkpoint reached the head it started from; one that started from an empty
        // store (target 0) has nothing to replay, and no batch comes to clear its target until an event does
        : target != null && checkpoint < target ? "rebuilding"
        : "running";
    Double lagSeconds = row.getDouble("lag_seconds");
    // the column keeps the last process that took the projection over, gone or not: only a held lease names one
    String owner = running ? row.getString("owner") : null;
    return new ProjectionStatus(row.getString("name"), state, checkpoint, head, Math.max(0, head - checkpoint),
        lagSeconds == null ? 0 : Math.max(0, lagSeconds), row.getLong("dead_letters"), owner,
        lastError, instant(row.getOffsetDateTime("failing_since")), target,
        instant(row.getOffsetDateTime("rebuild_started")));
  }

  /**
   * Empties the projection's tables, drops its dead letters (the replay meets those events again) and resets its
   * checkpoint, in one transaction; the projection then replays the store wherever it runs, while ingest goes on.
   * Answers the head it must reach to be rebuilt, or empty for an unknown projection.
   */
  public Future<Optional<Long>> rebuild(String name) {
    Projection projection = projections.get(name);
    if (projection == null) {
      return Future.succeededFuture(Optional.empty());
    }
    return pool.withTransaction(conn -> conn.query("SET LOCAL lock_timeout = '10s'").execute()
        .compose(v -> lockCheckpoint(conn, name))
        .compose(v -> conn.query("TRUNCATE " + String.join(", ", projection.tables())).execute())
        .compose(v -> conn.preparedQuery(ProjectionSql.DELETE_DEAD_LETTERS_OF).execute(Tuple.of(name)))
        .compose(v -> conn.preparedQuery(ProjectionSql.RESET_FOR_REBUILD).execute(Tuple.of(name)))
        .compose(reset -> conn.preparedQuery(ProjectionSql.NOTIFY_CHANGED)
            .execute(Tuple.of(PgStoreListener.PROJECTION_CHANNEL, name))
            .map(v -> Optional.of(reset.iterator().next().getLong("rebuild_target")))))
        .recover(PgEventStore::unavailable);
  }

  public Future<List<DeadLetter>> deadLetters(long afterId, String projection, int limit) {
    return pool.preparedQuery(ProjectionSql.LIST_DEAD_LETTERS).execute(Tuple.of(afterId, projection, limit))
        .map(rows -> {
          List<DeadLetter> out = new ArrayList<>(rows.rowCount());
          rows.forEach(row -> out.add(DeadLetter.from(row)));
          return out;
        })
        .recover(PgEventStore::unavailable);
  }

  /**
   * Applies a dead-lettered event again and removes the dead letter, in one transaction. If the apply fails
   * again, the dead letter stays with one more attempt and the new error.
   */
  public Future<RetryOutcome> retry(long id) {
    return pool.withTransaction(conn -> retryIn(conn, id))
        .recover(failure -> {
          if (failure instanceof RetryFailed f) {
            return pool.preparedQuery(ProjectionSql.RETRY_FAILED)
                .execute(Tuple.of(id, BatchFailures.describe(f.getCause())))
                .map(rows -> rows.rowCount() == 0 ? new NotFound()
                    : new FailedAgain(f.deadLetter, BatchFailures.describe(f.getCause()),
                        rows.iterator().next().getInteger("attempts")));
          }
          return Future.failedFuture(failure);
        })
        .recover(PgEventStore::unavailable);
  }

  private Future<RetryOutcome> retryIn(SqlConnection conn, long id) {
    return conn.preparedQuery(ProjectionSql.FIND_DEAD_LETTER).execute(Tuple.of(id)).compose(found -> {
      if (found.rowCount() == 0) {
        return Future.<RetryOutcome>succeededFuture(new NotFound());
      }
      DeadLetter letter = DeadLetter.from(found.iterator().next());
      Projection projection = projections.get(letter.projection());
      if (projection == null) {
        return Future.<RetryOutcome>succeededFuture(new UnknownProjection(letter));
      }
      return lockCheckpoint(conn, letter.projection())
          .compose(v -> conn.preparedQuery(ProjectionSql.TAKE_DEAD_LETTER).execute(Tuple.of(id)))
          .compose(taken -> taken.rowCount() == 0 ? Future.<RetryOutcome>succeededFuture(new NotFound())
              : reapply(conn, projection, letter));
    });
  }

  private Future<RetryOutcome> reapply(SqlConnection conn, Projection projection, DeadLetter letter) {
    return conn.preparedQuery(ProjectionSql.READ_EVENT_AT).execute(Tuple.of(letter.position()))
        .compose(rows -> {
          List<EventEnvelope> events = PgEventStore.envelopes(rows);
          // trouble with the database is no verdict on the event: the retry answers 503 and counts no attempt
          return ProjectionTransactions.apply(projection, conn, events, false)
              .recover(e -> Future.failedFuture(BatchFailures.transientFailure(e) ? e : new RetryFailed(letter, e)));
        })
        .map(v -> (RetryOutcome) new Applied(letter));
  }

  /** Every change takes the projection's checkpoint lock first, like its runner; a stop does not wait for it. */
  private Future<RowSet<Row>> lockCheckpoint(SqlConnection conn, String name) {
    return lockWaits.await(conn, () -> conn.preparedQuery(ProjectionSql.LOCK_CHECKPOINT).execute(Tuple.of(name)));
  }

  private static java.time.Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }

  /** Rolls the retry's transaction back; the dead letter is then updated in a new one. */
  private static final class RetryFailed extends RuntimeException {

    private final transient DeadLetter deadLetter;

    RetryFailed(DeadLetter deadLetter, Throwable cause) {
      super(cause.getMessage(), cause, false, false);
      this.deadLetter = deadLetter;
    }
  }
}
