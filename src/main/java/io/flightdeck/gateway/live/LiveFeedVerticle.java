package io.flightdeck.gateway.live;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.EventStore;
import io.flightdeck.gateway.store.HistoryChangedException;
import io.flightdeck.gateway.store.PacedReads;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one reader of new events for the live feed. Woken by the store listener (and a slow poll), it
 * reads everything after the last position it published, once, serializes each event once, and publishes the
 * batch to every event loop. Positions become visible in commit order, so reading after the last published
 * position never skips a late commit; a lost notification only delays, the next wake-up reads it.
 *
 * <p>Each read first checks that the store still holds the last event published. If not, the store's history changed
 * under the feed (a failover to a replica that had not received the last commits, a restored backup): new events
 * take the positions of lost ones, and a feed reading after its old position would never send them. It goes back to
 * the last event it published that the store still holds, and every stream past that point goes back with it.
 */
public final class LiveFeedVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(LiveFeedVerticle.class);
  private static final int PAGE = 1000;
  /** How many published events the feed can check when the store's history changed: far more than a replica lags. */
  private static final int REMEMBERED = 4096;

  private final EventStore store;
  private final LiveConfig config;
  private final AtomicLong published;
  private final LiveConnections connections;
  private final HistoryChanges changes;
  private final PublishedIds sent = new PublishedIds(REMEMBERED);
  private PacedReads reads;
  /** When the first notification since the last read arrived: the start of the delivery latency. */
  private long wokenAt;

  /**
   * {@code published} is shared with the SSE connections: where a new subscriber starts; {@code changes} too: where a
   * resume with an id of an old history starts.
   */
  public LiveFeedVerticle(EventStore store, LiveConfig config, AtomicLong published, LiveConnections connections,
                          HistoryChanges changes) {
    this.connections = connections;
    this.changes = changes;
    this.store = store;
    this.config = config;
    this.published = published;
  }

  @Override
  public Future<?> start() {
    // the cost of a fan-out grows with the subscribers, not with the events it carries: fewer, fuller batches
    // (one read at most every minIntervalMs) keep delivery fast under load
    reads = new PacedReads(vertx, "live feed", config.minIntervalMs(), this::read);
    return store.headPosition().onSuccess(head -> {
      published.set(head);
      vertx.eventBus().<JsonObject>consumer(EventBusAddresses.STORE_APPENDED, m -> notified(m.body()));
      vertx.setPeriodic(config.pollIntervalMs(), id -> notified(new JsonObject()));
    });
  }

  /**
   * With nobody subscribed in this process there is nothing to read or serialize: only the position moves on, so
   * a subscriber arriving later starts at the head, as it would have anyway. A head asked for is applied only if
   * still nobody is subscribed when it comes back: a subscriber that arrived meanwhile started at the old position,
   * and the head may hold events committed after it arrived, which a feed moved past them would never read. A head
   * below the feed's position is a history change nobody here was streaming through: it is remembered all the same
   * ({@link HistoryChanges}), for a client that left earlier with an id of the lost events.
   */
  private void notified(JsonObject hint) {
    if (connections.open() > 0 || reads.busy()) {
      if (wokenAt == 0) {
        wokenAt = hint.getLong("at", System.nanoTime());
      }
      reads.wake();
      return;
    }
    // published by nobody: the ids published before are no longer the feed's position
    sent.clear();
    Long to = hint.getLong("to");
    if (to != null) {
      published.accumulateAndGet(to, Math::max);
    } else {
      long before = published.get();
      store.headPosition().onSuccess(head -> {
        if (connections.open() == 0 && !reads.busy()) {
          // every position known before the head was asked for had committed: a lower head lost them (the store's
          // history changed, or a forged notification moved the feed); with nobody subscribed, nobody went there
          if (head < before && published.compareAndSet(before, head)) {
            LOG.warn("live feed: the event store's last position is {}, below {}, which it had reached: the store's "
                + "history changed (a failover, a restored backup); the feed goes on from {}", head, before, head);
            // a client that left with an id of the lost events may come back with it: it is told, as after a rewind
            historyChanged(head, before);
          } else {
            published.accumulateAndGet(head, Math::max);
          }
        }
      });
    }
  }

  private Future<Boolean> read() {
    long notified = wokenAt == 0 ? System.nanoTime() : wokenAt;
    wokenAt = 0;
    long after = published.get();
    return store.readAllFollowing(after, sent.idAt(after), PAGE)
        .map(page -> {
          if (!page.events().isEmpty()) {
            publish(after, page.events(), notified);
          }
          return page.more();
        })
        .recover(failure -> failure instanceof HistoryChangedException changed
            ? rewind(after, changed)
            : Future.failedFuture(failure));
  }

  /**
   * The store no longer holds what the feed published up to {@code after}. It goes back to the last event it
   * published that the store still holds; knowing only a position there (the feed moved on while nobody was
   * subscribed), or when even its oldest remembered event is gone, to the store's head (events committed on the new
   * history below it are in the store, but not sent live). Then it reads on from there at once. The change is
   * remembered ({@link HistoryChanges}): a client cut off past it resumes with an id of the old history.
   */
  private Future<Boolean> rewind(long after, HistoryChangedException changed) {
    Future<Long> back = sent.idAt(after) == null ? store.headPosition()
        : store.idsBetween(sent.oldest(), sent.newest(), 2 * REMEMBERED).compose(ids -> {
          long common = sent.lastCommon(ids);
          return common >= 0 ? Future.succeededFuture(common)
              : store.headPosition().map(head -> Math.min(head, sent.oldest() - 1));
        });
    return back.map(position -> {
      LOG.warn("live feed: {}: the store's history changed (a failover to a replica that had not received the last "
          + "commits, a restored backup); the feed goes back to position {}, and every stream past it too",
          changed.getMessage(), position);
      // before the rewind goes out: a client it cuts off (see SseConnection#rewound) resumes with an id up to there
      historyChanged(position, after);
      published.set(position);
      sent.dropAfter(position);
      vertx.eventBus().publish(EventBusAddresses.LIVE_BATCH, LiveBatch.rewind(position));
      return true;
    });
  }

  /** The store's history changed: it keeps the events up to {@code common}, the feed had reached {@code reached}. */
  private void historyChanged(long common, long reached) {
    connections.metrics().historyChanged("live");
    changes.feedWentBack(common, reached);
  }

  private void publish(long after, List<EventEnvelope> events, long notified) {
    List<LiveEvent> live = new ArrayList<>(events.size());
    for (EventEnvelope e : events) {
      live.add(LiveEvent.of(e));
      sent.add(e.position(), e.id());
    }
    long to = events.get(events.size() - 1).position();
    published.set(to);
    vertx.eventBus().publish(EventBusAddresses.LIVE_BATCH, LiveBatch.of(after, to, live, notified));
  }
}
