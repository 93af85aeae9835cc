package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.PgEventStore;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One projection's transactions on its runner's connection. Each takes the checkpoint row's lock first, so the
 * runner, a rebuild and a dead-letter retry never interleave their writes to the projection's tables. A step does
 * not wait for that lock: while another transaction holds it the step fails at once ({@link #checkpointBusy}), and
 * the runner waits for the lock with {@link #awaitCheckpoint}, outside the process's {@link StepGate}.
 */
final class ProjectionTransactions {

  /**
   * What a batch did: the checkpoint it committed, how many events it applied, whether more are waiting, and
   * whether its events came from the shared window of recent events rather than a read of its own.
   */
  record Step(long checkpoint, int applied, boolean more, boolean shared) {
  }

  /** A runner's read range while no read of its projection has timed out: projections.scanPositions decides. */
  static final long FULL_RANGE = Long.MAX_VALUE;

  private final Projection projection;
  private final long scanPositions;
  private final String[] types;
  private final Set<String> typeSet;

  /** {@code scanPositions}: projections.scanPositions, the most positions one read covers ({@link #span}). */
  ProjectionTransactions(Projection projection, long scanPositions) {
    this.projection = projection;
    this.scanPositions = scanPositions;
    this.types = projection.eventTypes().isEmpty() ? null : projection.eventTypes().toArray(String[]::new);
    this.typeSet = projection.eventTypes().isEmpty() ? null : Set.copyOf(projection.eventTypes());
  }

  /**
   * Applies the next (at most {@code limit}) events after the checkpoint and moves the checkpoint past them, in one
   * transaction. The read covers at most {@link #span} positions, none past the head seen: with no more event of the
   * projection's types there, the checkpoint moves to the end of that range, so the lag of a projection that reads
   * few types still falls to zero, and a range short of the head says more follow at once. {@code range}: the most
   * positions the runner lets the read cover, {@link #FULL_RANGE} unless a read timed out lately
   * ({@link ReadTimedOutException}). {@code firstTry}: the runner has not failed at these events yet
   * ({@link Projection#applyFirstTry}). Fails at once, having changed nothing, while another transaction holds the
   * checkpoint's lock ({@link #checkpointBusy}).
   */
  Future<Step> next(SqlConnection conn, int limit, long range, boolean firstTry) {
    long span = span(limit, range);
    // one round trip: BEGIN, the checkpoint lock, and the read (which uses the locked checkpoint)
    Future<RowSet<Row>> begin = conn.query("BEGIN").execute();
    Future<RowSet<Row>> checkpoint = lockCheckpointNowait(conn);
    Future<RowSet<Row>> read = readAfterCheckpoint(conn, limit, span);
    return Future.all(begin, checkpoint, read)
        .compose(all -> applyRead(conn, checkpoint.result().iterator().next(), read.result(), limit, span, firstTry))
        .recover(failure -> rollback(conn, checkpoint.succeeded() && failure == read.cause()
            ? readFailure(checkpoint.result().iterator().next().getLong("position"), limit, span, failure)
            : lockFailure(checkpoint, failure)));
  }

  /**
   * Like {@link #next}, but takes the events from {@code window} (which holds the events after the runner's last
   * checkpoint) instead of reading them. The checkpoint locked in the transaction decides: if another writer
   * moved it out of the window meanwhile, the events are read from the store after all. So does the window's last
   * event: if the store no longer holds it, the store's history changed after the window was read (a failover to a
   * replica that had not received the last commits, a restored backup), and the window holds events the store lost;
   * the checkpoint, in the same store, is on its new history.
   */
  Future<Step> next(SqlConnection conn, RecentEvents.Window window, int limit, long range, boolean firstTry) {
    Future<RowSet<Row>> begin = conn.query("BEGIN").execute();
    Future<RowSet<Row>> checkpoint = lockCheckpointNowait(conn);
    // after the lock, in the same round trip: what the store holds when the step applies
    Future<RowSet<Row>> last = conn.preparedQuery(PgEventStore.AT_POSITION).execute(Tuple.of(window.to()));
    return Future.all(begin, checkpoint, last)
        .compose(all -> {
          Row cp = checkpoint.result().iterator().next();
          long from = cp.getLong("position");
          if (!window.covers(from)
              || !PgEventStore.stillHolds(last.result().iterator().next(), window.to(), window.toId())) {
            long span = span(limit, range);
            return readAfterCheckpoint(conn, limit, span)
                .recover(failure -> Future.failedFuture(readFailure(from, limit, span, failure)))
                .compose(read -> applyRead(conn, cp, read, limit, span, firstTry));
          }
          RecentEvents.Slice slice = window.after(from, typeSet, limit);
          return applyAndAdvance(conn, from, cp.getOffsetDateTime("rebuild_started"), slice.to(), slice.events(),
              slice.full(), true, firstTry);
        })
        .recover(failure -> rollback(conn, lockFailure(checkpoint, failure)));
  }

  /**
   * Waits until the checkpoint's lock is free, taking and releasing it in a transaction of its own, which changes
   * nothing: the step that follows takes it again, unless another transaction was quicker. Cancelled (a stop), it
   * fails once the transaction has ended: the connection is then idle, and may be closed or used again.
   */
  Future<Void> awaitCheckpoint(SqlConnection conn) {
    Future<RowSet<Row>> begin = conn.query("BEGIN").execute();
    Future<RowSet<Row>> lock = lockCheckpoint(conn);
    // sent with the lock: the server runs it once the lock is granted, or after the lock wait failed
    Future<RowSet<Row>> rollback = conn.query("ROLLBACK").execute();
    // join, not all: a cancel that reached BEGIN fails it while the lock statement still waits on the server
    return Future.join(begin, lock, rollback).mapEmpty();
  }

  /** A step found its checkpoint locked by another transaction (a rebuild, a dead-letter retry, another process). */
  static boolean checkpointBusy(Throwable failure) {
    return failure instanceof PgException pg && "55P03".equals(pg.getSqlState());
  }

  /** The checkpoint lock's own failure, rather than the failures it caused in the statements pipelined after it. */
  private static Throwable lockFailure(Future<RowSet<Row>> checkpoint, Throwable failure) {
    return checkpoint.failed() ? checkpoint.cause() : failure;
  }

  private Future<RowSet<Row>> lockCheckpointNowait(SqlConnection conn) {
    return conn.preparedQuery(ProjectionSql.LOCK_CHECKPOINT_NOWAIT).execute(Tuple.of(projection.name()));
  }

  private Future<RowSet<Row>> lockCheckpoint(SqlConnection conn) {
    return conn.preparedQuery(ProjectionSql.LOCK_CHECKPOINT).execute(Tuple.of(projection.name()));
  }

  /**
   * The most positions a read of at most {@code limit} events covers, within the runner's {@code range}.
   * projections.scanPositions bounds it for a projection of some types, which may scan many events of other types
   * for each of its own. A projection of every type scans one position per event (the store's rare gaps aside), so
   * its limit bounds the scan already, and a scanPositions below the limit would only cap its batches: only a range
   * shrunk after a timeout bounds it more.
   */
  private long span(int limit, long range) {
    return Math.min(range, types == null ? Math.max(scanPositions, limit) : scanPositions);
  }

  /**
   * A read's failure: cancelled at the statement timeout, a {@link ReadTimedOutException} for the positions it
   * covered at most ({@code span}; for a projection of every type, no more than its {@code limit}).
   */
  private Throwable readFailure(long from, int limit, long span, Throwable failure) {
    if (!BatchFailures.timedOut(failure)) {
      return failure;
    }
    return new ReadTimedOutException(from, types == null ? Math.min(span, limit) : span, failure);
  }

  private Future<RowSet<Row>> readAfterCheckpoint(SqlConnection conn, int limit, long span) {
    return conn.preparedQuery(ProjectionSql.READ_EVENTS_AFTER_CHECKPOINT)
        .execute(Tuple.of(projection.name(), types, limit, span));
  }

  /**
   * Applies events read after the locked checkpoint {@code cp} (which also carries the head it saw). Positions become
   * visible in commit order (V1's position lock), and the read's snapshot is no older than the head's, so a read that
   * stopped at neither bound saw every event of the projection's types up to the head or the end of its range
   * ({@code span} positions), whichever comes first; never further, as positions past the head may still commit.
   */
  private Future<Step> applyRead(SqlConnection conn, Row cp, RowSet<Row> read, int limit, long span,
                                 boolean firstTry) {
    long from = cp.getLong("position");
    long head = cp.getLong("head");
    List<EventEnvelope> events = PgEventStore.envelopes(read);
    boolean full = EventPages.more(read, limit);
    long last = events.isEmpty() ? from : events.get(events.size() - 1).position();
    // a full batch may have more behind it; otherwise everything up to the head, or to the range's end, was seen
    long to = full ? last : Math.max(last, Math.min(head, from + span));
    // a range that ended before the head: the next is read at once, not after the poll interval
    boolean more = full || to < head;
    return applyAndAdvance(conn, from, cp.getOffsetDateTime("rebuild_started"), to, events, more, false, firstTry);
  }

  /** {@code rebuildStarted}: the locked checkpoint's, which says which rebuild (if any) {@code from} belongs to. */
  private Future<Step> applyAndAdvance(SqlConnection conn, long from, OffsetDateTime rebuildStarted, long to,
                                       List<EventEnvelope> events, boolean more, boolean shared, boolean firstTry) {
    if (to == from) {
      return conn.query("COMMIT").execute().map(new Step(from, 0, false, shared));
    }
    Future<Void> applied = events.isEmpty() ? Future.succeededFuture()
        : apply(projection, conn, events, firstTry)
            .recover(e -> Future.failedFuture(new ApplyFailedException(events, from, rebuildStarted, firstTry, e)));
    return applied
        .compose(v -> commitAt(conn, to))
        .map(new Step(to, events.size(), more, shared));
  }

  /**
   * {@code projection}'s apply of {@code events}, as a future also when it throws instead of failing one (data its
   * code does not expect, written by another writer, say): that is the events' failure like any other, and goes to
   * the dead letters, where a throw taken for a failure of the store would be retried forever.
   */
  static Future<Void> apply(Projection projection, SqlConnection conn, List<EventEnvelope> events, boolean firstTry) {
    try {
      return firstTry ? projection.applyFirstTry(conn, events) : projection.apply(conn, events);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * Records {@code event}, which failed when applied after checkpoint {@code from} (of the rebuild started at
   * {@code rebuildStarted}, null for none), as a dead letter and moves the checkpoint past it, if the checkpoint is
   * still that one; answers the checkpoint then. Any other checkpoint means another writer moved it meanwhile: on
   * (another process) or back (a rebuild, which must replay the events before this one, and this one too: a rebuild
   * of a projection whose failing event came first puts the checkpoint back at the same 0), and nothing is recorded.
   */
  Future<Long> deadLetter(SqlConnection conn, EventEnvelope event, long from, OffsetDateTime rebuildStarted,
                          String error, int attempts) {
    Future<RowSet<Row>> begin = conn.query("BEGIN").execute();
    Future<RowSet<Row>> checkpoint = lockCheckpoint(conn);
    return Future.all(begin, checkpoint)
        .compose(all -> {
          Row cp = checkpoint.result().iterator().next();
          long position = cp.getLong("position");
          if (position != from || !Objects.equals(cp.getOffsetDateTime("rebuild_started"), rebuildStarted)) {
            return conn.query("COMMIT").execute().map(position);
          }
          // dead letters become visible in id order (ProjectionSql.LOCK_DEAD_LETTER_IDS)
          Future<RowSet<Row>> inIdOrder = conn.query(ProjectionSql.LOCK_DEAD_LETTER_IDS).execute();
          Future<RowSet<Row>> recorded = conn.preparedQuery(ProjectionSql.DEAD_LETTER)
              .execute(Tuple.of(projection.name(), event.position(), event.id(), error, attempts));
          return Future.all(inIdOrder, recorded, commitAt(conn, event.position())).map(event.position());
        })
        .recover(failure -> rollback(conn, failure));
  }

  private Future<Void> commitAt(SqlConnection conn, long position) {
    Future<RowSet<Row>> advance = conn.preparedQuery(ProjectionSql.ADVANCE)
        .execute(Tuple.of(projection.name(), position));
    Future<RowSet<Row>> commit = conn.query("COMMIT").execute();
    return Future.all(advance, commit).mapEmpty();
  }

  private static <T> Future<T> rollback(SqlConnection conn, Throwable failure) {
    return conn.query("ROLLBACK").execute().transform(ignored -> Future.failedFuture(failure));
  }

  /**
   * The server cancelled the read of the events after checkpoint {@code from} (the statement timeout, or an
   * operator's pg_cancel_backend), which covered at most {@code positions} positions: read again over as many, it
   * would most likely be cancelled again ({@link BatchFailures}).
   */
  static final class ReadTimedOutException extends RuntimeException {

    private final long from;
    private final long positions;

    ReadTimedOutException(long from, long positions, Throwable cause) {
      super(cause.getMessage(), cause, false, false);
      this.from = from;
      this.positions = positions;
    }

    long from() {
      return from;
    }

    long positions() {
      return positions;
    }
  }

  /**
   * The projection's apply failed for this batch, read after checkpoint {@code from} (the rest of the step worked),
   * on a first try ({@link Projection#applyFirstTry}) or not.
   */
  static final class ApplyFailedException extends RuntimeException {

    private final transient List<EventEnvelope> events;
    private final long from;
    private final OffsetDateTime rebuildStarted;
    private final boolean firstTry;

    ApplyFailedException(List<EventEnvelope> events, long from, OffsetDateTime rebuildStarted, boolean firstTry,
                         Throwable cause) {
      super(cause.getMessage(), cause, false, false);
      this.events = events;
      this.from = from;
      this.rebuildStarted = rebuildStarted;
      this.firstTry = firstTry;
    }

    boolean firstTry() {
      return firstTry;
    }

    List<EventEnvelope> events() {
      return events;
    }

    long from() {
      return from;
    }

    /** When the rebuild the checkpoint {@link #from} belongs to started; null for none. */
    OffsetDateTime rebuildStarted() {
      return rebuildStarted;
    }
  }
}
