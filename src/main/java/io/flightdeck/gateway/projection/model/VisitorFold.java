package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.PgEventStore;
import io.flightdeck.gateway.store.StoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * {@code GET /v1/visitors/{id}?at=}: a visitor as the store knew it at a time, folded from the stream's events with
 * the projection's own {@link VisitorActivity}. It reads the store, not the projection's table, so its work grows
 * with the stream: it is bounded in events, in time, and by its client's presence.
 */
public final class VisitorFold {

  /** Events read per round trip while folding a stream for a temporal query. */
  private static final int PAGE = 1000;

  /**
   * The most events a fold at a time reads: a stream may hold millions, and each page of them costs the store a read
   * of up to {@link EventPages#MAX_PAGE_BYTES} and a read connection. A visitor's stream is rarely a thousandth of it.
   */
  public static final int MAX_EVENTS = 100_000;

  private final Pool pool;
  private final Vertx vertx;
  private final long deadlineMs;

  /** {@code deadlineMs}: how long a fold may take in all, as one read's statement may (db.statementTimeoutMs). */
  VisitorFold(Pool pool, Vertx vertx, long deadlineMs) {
    this.pool = pool;
    this.vertx = vertx;
    this.deadlineMs = deadlineMs;
  }

  /**
   * A visitor's activity as the store knew it at {@code at}: a fold of the stream's events recorded up to then,
   * read page by page (each bounded by events and by bytes, see {@link EventPages}), so memory stays bounded however
   * long the stream and however large its events. Empty when it had no events yet. Bounded in work too: a fold stops
   * before its next page once {@code clientGone} says nobody waits for it any more (failing with
   * {@link Abandoned}); one of more than {@link #MAX_EVENTS} events fails with {@link TooLong}; one not
   * done within the fold deadline (db.statementTimeoutMs, what one read may take) fails then, as a store too slow to
   * answer does (503).
   */
  public Future<Optional<JsonObject>> at(String streamId, Instant at, BooleanSupplier clientGone) {
    // the store holds microseconds: an event recorded within the microsecond after a finer at is after it
    Fold fold = new Fold(new VisitorActivity(streamId), Utc.micros(at), clientGone, Promise.promise());
    long deadline = vertx.setTimer(deadlineMs, id -> fold.done().tryFail(new StoreUnavailableException(
        StoreUnavailableException.Reason.STORE_DOWN, "the fold of a stream at a time did not end within "
        + deadlineMs + " ms (db.statementTimeoutMs)", 1, null)));
    fold.done().future().onComplete(ar -> vertx.cancelTimer(deadline));
    foldFrom(fold, 0, 0);
    return fold.done().future()
        .map(v -> fold.activity().empty() ? Optional.<JsonObject>empty() : Optional.of(fold.activity().toJson()))
        .recover(PgEventStore::unavailable);
  }

  /** A fold in progress: what it folds into, up to when, whether its client still waits, and its outcome. */
  private record Fold(VisitorActivity activity, Instant at, BooleanSupplier clientGone, Promise<Void> done) {
  }

  /**
   * One page, then the next from its callback. One promise for the whole fold, not a future composed per page: a
   * chain of those completes through every page's frame at once, and a stream may have millions of events. A page
   * asks for one event more than the bound leaves, so a stream of exactly the bound folds.
   */
  private void foldFrom(Fold fold, long afterVersion, long folded) {
    if (fold.done().future().isComplete()) {
      return; // the deadline passed
    }
    if (fold.clientGone().getAsBoolean()) {
      fold.done().tryFail(new Abandoned());
      return;
    }
    int limit = (int) Math.min(PAGE, MAX_EVENTS + 1L - folded);
    pool.preparedQuery(ReadModelSql.STREAM_UNTIL)
        .execute(Tuple.of(fold.activity().streamId(), afterVersion, Utc.of(fold.at()), limit))
        .onFailure(fold.done()::tryFail)
        .onSuccess(rows -> {
          if (fold.done().future().isComplete()) {
            return;
          }
          List<EventEnvelope> events;
          try {
            events = PgEventStore.envelopes(rows);
            events.forEach(fold.activity()::add);
          } catch (RuntimeException e) {
            fold.done().tryFail(e);
            return;
          }
          long now = folded + events.size();
          if (now > MAX_EVENTS) {
            fold.done().tryFail(new TooLong(fold.activity().streamId()));
          } else if (!EventPages.more(rows, limit)) {
            fold.done().tryComplete();
          } else {
            foldFrom(fold, events.get(events.size() - 1).streamVersion(), now);
          }
        });
  }

  /** A fold given up because its client went away: nobody is left to answer. */
  public static final class Abandoned extends RuntimeException {
    Abandoned() {
      super("the client went away", null, false, false);
    }
  }

  /** A fold of more events than {@link #MAX_EVENTS}: the stream had more by then. */
  public static final class TooLong extends RuntimeException {
    TooLong(String streamId) {
      super("stream " + streamId + " had more than " + MAX_EVENTS + " events by then", null, false, false);
    }
  }
}
