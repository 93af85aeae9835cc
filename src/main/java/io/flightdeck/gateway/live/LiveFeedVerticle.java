package io.flightdeck.gateway.live;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.EventStore;
import io.flightdeck.gateway.store.PacedReads;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The process's one reader of new events for the live feed. Woken by the store listener (and a slow poll), it
 * reads everything after the last position it published, once, serializes each event once, and publishes the
 * batch to every event loop. Positions become visible in commit order, so reading after the last published
 * position never skips a late commit; a lost notification only delays, the next wake-up reads it.
 */
public final class LiveFeedVerticle extends VerticleBase {

  private static final int PAGE = 1000;

  private final EventStore store;
  private final LiveConfig config;
  private final AtomicLong published;
  private final LiveConnections connections;
  private PacedReads reads;
  /** When the first notification since the last read arrived: the start of the delivery latency. */
  private long wokenAt;

  /** {@code published} is shared with the SSE connections: where a new subscriber starts. */
  public LiveFeedVerticle(EventStore store, LiveConfig config, AtomicLong published, LiveConnections connections) {
    this.connections = connections;
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
   * and the head may hold events committed after it arrived, which a feed moved past them would never read.
   */
  private void notified(JsonObject hint) {
    if (connections.open() > 0 || reads.busy()) {
      if (wokenAt == 0) {
        wokenAt = hint.getLong("at", System.nanoTime());
      }
      reads.wake();
      return;
    }
    Long to = hint.getLong("to");
    if (to != null) {
      published.accumulateAndGet(to, Math::max);
    } else {
      store.headPosition().onSuccess(head -> {
        if (connections.open() == 0 && !reads.busy()) {
          published.accumulateAndGet(head, Math::max);
        }
      });
    }
  }

  private Future<Boolean> read() {
    long notified = wokenAt == 0 ? System.nanoTime() : wokenAt;
    wokenAt = 0;
    long after = published.get();
    return store.readAll(after, PAGE).map(page -> {
      if (!page.events().isEmpty()) {
        publish(after, page.events(), notified);
      }
      return page.more();
    });
  }

  private void publish(long after, List<EventEnvelope> events, long notified) {
    List<LiveEvent> live = new ArrayList<>(events.size());
    for (EventEnvelope e : events) {
      live.add(LiveEvent.of(e));
    }
    long to = events.get(events.size() - 1).position();
    published.set(to);
    vertx.eventBus().publish(EventBusAddresses.LIVE_BATCH, LiveBatch.of(after, to, live, notified));
  }
}
