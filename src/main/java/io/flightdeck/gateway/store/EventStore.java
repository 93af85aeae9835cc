package io.flightdeck.gateway.store;

import io.flightdeck.gateway.event.NewEvent;
import io.vertx.core.Future;
import java.util.List;
import java.util.Map;
import java.util.UUID;

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

  /**
   * Like {@link #readAll}, for a reader that keeps what it read (the live feed, the projections' shared window), and
   * first checks that the store still holds it: the event {@code idAtAfter} at position {@code after} (with null,
   * for a position known only as a head: some event at or beyond it). Fails with {@link HistoryChangedException}
   * when it does not. Positions only grow, so that happens only when the store's history changed under the reader:
   * a failover promoted a replica that had not received the last commits (new events then take positions the lost
   * ones had), or a backup was restored. The check and the read run on one connection, so both see the same server.
   */
  Future<EventPages.Page> readAllFollowing(long after, UUID idAtAfter, int limit);

  /** The ids of the events at positions {@code from} to {@code to}, both included, at most {@code limit}. */
  Future<Map<Long, UUID>> idsBetween(long from, long to, int limit);

  /** One stream's events from {@code fromVersion}, in version order, bounded as {@link #readAll} is. */
  Future<EventPages.Page> readStream(String streamId, long fromVersion, int limit);

  /** The highest position stored, 0 for an empty store. */
  Future<Long> headPosition();

  /**
   * The position and id of the last event stored, as one entry; none for an empty store. A reader that later finds
   * another event there, or none, knows the store's history changed since (see {@link #readAllFollowing}).
   */
  Future<Map<Long, UUID>> lastEvent();
}
