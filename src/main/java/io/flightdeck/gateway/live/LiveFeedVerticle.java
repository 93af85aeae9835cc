package io.flightdeck.gateway.live;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.EventStore;
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
 */
public final class LiveFeedVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(LiveFeedVerticle.class);
  private static final int PAGE = 1000;
  private static final long MAX_RETRY_DELAY_MS = 2000;

  private final EventStore store;
  private final LiveConfig config;
  private final AtomicLong published;
  private final LiveConnections connections;
  private boolean busy;
  private boolean again;
  private int failures;
  /** When the first notification since the last read arrived: the start of the delivery latency. */
  private long wokenAt;
  private long lastRead = System.nanoTime() - 1_000_000_000L;

  /** {@code published} is shared with the SSE connections: where a new subscriber starts. */
  public LiveFeedVerticle(EventStore store, LiveConfig config, AtomicLong published, LiveConnections connections) {
    this.connections = connections;
    this.store = store;
    this.config = config;
    this.published = published;
  }

  @Override
  public Future<?> start() {
    return store.headPosition().onSuccess(head -> {
      published.set(head);
      vertx.eventBus().<JsonObject>consumer(EventBusAddresses.STORE_APPENDED, m -> notified(m.body()));
      vertx.setPeriodic(config.pollIntervalMs(), id -> notified(new JsonObject()));
    });
  }

  /**
   * With nobody subscribed in this process there is nothing to read or serialize: only the position moves on, so
   * a subscriber arriving later starts at the head, as it would have anyway.
   */
  private void notified(JsonObject hint) {
    if (connections.open() > 0 || busy) {
      wake(hint.getLong("at", System.nanoTime()));
      return;
    }
    Long to = hint.getLong("to");
    if (to != null) {
      published.accumulateAndGet(to, Math::max);
    } else {
      store.headPosition().onSuccess(head -> published.accumulateAndGet(head, Math::max));
    }
  }

  private void wake(long at) {
    if (wokenAt == 0) {
      wokenAt = at;
    }
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    readWithinRate();
  }

  /**
   * While events trickle in (a notification per append transaction), reads at most every {@code minIntervalMs}:
   * each fan-out then carries everything that arrived meanwhile. The cost of a fan-out grows with the number of
   * subscribers, not with the events it carries, so fewer, fuller batches keep delivery fast under load.
   */
  private void readWithinRate() {
    long waitMs = config.minIntervalMs() - (System.nanoTime() - lastRead) / 1_000_000;
    if (waitMs <= 0) {
      vertx.runOnContext(v -> read());
    } else {
      vertx.setTimer(waitMs, id -> read());
    }
  }

  private void read() {
    again = false;
    lastRead = System.nanoTime();
    long notified = wokenAt == 0 ? System.nanoTime() : wokenAt;
    wokenAt = 0;
    long after = published.get();
    store.readAll(after, PAGE).onComplete(ar -> {
      if (ar.failed()) {
        failures++;
        long delay = Math.min(50L << Math.min(failures, 10), MAX_RETRY_DELAY_MS);
        LOG.warn("live feed: reading after position {} failed, retrying in {} ms: {}", after, delay,
            ar.cause().getMessage());
        vertx.setTimer(delay, id -> read());
        return;
      }
      failures = 0;
      List<EventEnvelope> events = ar.result();
      if (!events.isEmpty()) {
        publish(after, events, notified);
      }
      if (events.size() == PAGE) {
        vertx.runOnContext(v -> read());
      } else if (again) {
        readWithinRate();
      } else {
        busy = false;
      }
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
