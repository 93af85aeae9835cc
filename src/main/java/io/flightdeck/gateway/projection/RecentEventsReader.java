package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.EventStore;
import io.flightdeck.gateway.store.PacedReads;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/**
 * The process's one reader of new events for its projections. Woken by the store listener, it reads what was
 * appended after its {@link RecentEvents} window, adds it there, and tells the runners on
 * {@link EventBusAddresses#PROJECTION_EVENTS_READ}; each event is then read and decoded once, however many
 * projections use it. It reads only while a projection runs in this process, paced by {@code minIntervalMs}
 * like the runners.
 */
final class RecentEventsReader extends VerticleBase {

  private static final int PAGE = 1000;

  private final RecentEvents recent;
  private final EventStore store;
  private final ProjectionsConfig config;
  private PacedReads reads;

  RecentEventsReader(RecentEvents recent, EventStore store, ProjectionsConfig config) {
    this.recent = recent;
    this.store = store;
    this.config = config;
  }

  @Override
  public Future<?> start() {
    reads = new PacedReads(vertx, "projections", config.minIntervalMs(), this::read);
    vertx.eventBus().consumer(EventBusAddresses.STORE_APPENDED, m -> wake());
    // also notices that no projection runs here any more, and lets the window go
    vertx.setPeriodic(config.pollIntervalMs(), id -> wake());
    return Future.succeededFuture();
  }

  private void wake() {
    if (!recent.wanted() && !reads.busy()) {
      recent.clear();
      return;
    }
    reads.wake();
  }

  private Future<Boolean> read() {
    RecentEvents.Window w = recent.window();
    // the first read since the window was let go starts at the head: the runners read up to it themselves
    Future<Long> end = w == null ? store.headPosition().onSuccess(recent::startAt) : Future.succeededFuture(w.to());
    return end.compose(after -> store.readAll(after, PAGE)).map(this::added);
  }

  private boolean added(EventPages.Page page) {
    if (!page.events().isEmpty()) {
      recent.append(page.events(), page.bytes());
      vertx.eventBus().publish(EventBusAddresses.PROJECTION_EVENTS_READ, null);
    }
    return page.more();
  }
}
