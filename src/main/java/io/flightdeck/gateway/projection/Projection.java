package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import java.util.List;
import java.util.Set;

/**
 * A read model built from the event store. The engine feeds it the events of its types in global order, in
 * batches, and commits what {@link #apply} wrote together with the projection's new checkpoint: a batch is
 * applied exactly once, whatever crashes or replays happen around it.
 */
public interface Projection {

  /** A stable name: the key of its checkpoint, its dead letters and its admin endpoints. */
  String name();

  /** The event types it reads (as upcast), or an empty set for every type. */
  Set<String> eventTypes();

  /** The tables it owns; a rebuild empties them (in one TRUNCATE) before replaying the store. */
  List<String> tables();

  /**
   * Applies {@code events} (non-empty, ascending positions, already upcast) by writing to its tables through
   * {@code tx}, which is inside the engine's transaction: never commit or roll back here. A failed future rolls
   * the whole batch back; the engine then retries event by event and dead-letters the one that keeps failing.
   */
  Future<Void> apply(SqlConnection tx, List<EventEnvelope> events);

  /**
   * Like {@link #apply}, for a runner's first try at the events straight after its checkpoint: nothing at or after
   * the first of them has been applied yet. A stream's events get their positions in version order, so a stream
   * whose first event (version 1) is among {@code events} has left no trace in the projection's tables, and its rows
   * can be inserted without looking for a conflict. A retry after a failure, the replay of a failed batch event by
   * event and a dead-letter retry call {@link #apply} instead: a table that breaks the rule anyway (changed by
   * hand, say) costs one failed try, never a dead letter. The default is {@link #apply}.
   */
  default Future<Void> applyFirstTry(SqlConnection tx, List<EventEnvelope> events) {
    return apply(tx, events);
  }
}
