package io.flightdeck.gateway.store;

import io.flightdeck.gateway.event.NewEvent;
import io.vertx.core.Future;
import java.util.List;

/**
 * The event store: the single source of truth. Appends are atomic per call and idempotent by event id; reads
 * follow the global position order, which is also commit order, so a reader that continues after the last
 * position it saw never misses an event.
 */
public interface EventStore {

  /**
   * Appends the events atomically: all are stored, or none. The future completes only after the commit. An id
   * already stored is answered as a duplicate with its original position, and nothing new is stored for it.
   * Fails with {@link StoreUnavailableException} when the store cannot take it now.
   */
  Future<List<AppendResult>> append(List<NewEvent> events);

  /**
   * Events with a position greater than {@code after}, in position order, at most {@code limit} and about
   * {@link EventPages#MAX_PAGE_BYTES} of them (at least one).
   */
  Future<EventPages.Page> readAll(long after, int limit);

  /** One stream's events from {@code fromVersion}, in version order, bounded as {@link #readAll} is. */
  Future<EventPages.Page> readStream(String streamId, long fromVersion, int limit);

  /** The highest position stored, 0 for an empty store. */
  Future<Long> headPosition();
}
