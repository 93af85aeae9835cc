package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.EventStore;
import io.flightdeck.gateway.store.HistoryChangedException;
import io.flightdeck.gateway.store.PacedReads;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one reader of new events for its projections. Woken by the store listener, it reads what was
 * appended after its {@link RecentEvents} window, adds it there, and tells the runners on
 * {@link EventBusAddresses#PROJECTION_EVENTS_READ}; each event is then read and decoded once, however many
 * projections use it. It reads only while a projection runs in this process, paced by {@code minIntervalMs}
 * like the runners.
 *
 * <p>Each read first checks that the store still holds the window's last event. If not, the store's history changed
 * (a failover to a replica that had not received the last commits, a restored backup): the window holds events the
 * store lost, and new events take their positions. It lets the window go and starts again at the head; the runners
 * check the window they use too ({@link ProjectionTransactions}), so none applies a lost event meanwhile.
 */
final class RecentEventsReader extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(RecentEventsReader.class);

  private static final int PAGE = 1000;

  private final RecentEvents recent;
  private final EventStore store;
  private final ProjectionsConfig config;
  private final GatewayMetrics metrics;
  private PacedReads reads;

  RecentEventsReader(RecentEvents recent, EventStore store, ProjectionsConfig config, GatewayMetrics metrics) {
    this.metrics = metrics;
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
    UUID atEnd = w == null ? null : w.toId();
    return end.compose(after -> store.readAllFollowing(after, atEnd, PAGE))
        .map(this::added)
        .recover(failure -> {
          if (!(failure instanceof HistoryChangedException)) {
            return Future.failedFuture(failure);
          }
          LOG.warn("projections: {}: the store's history changed (a failover to a replica that had not received the "
              + "last commits, a restored backup); the shared window of recent events starts again at the head",
              failure.getMessage());
          metrics.historyChanged("projections");
          recent.clear();
          return Future.succeededFuture(true);
        });
  }

  private boolean added(EventPages.Page page) {
    if (!page.events().isEmpty()) {
      recent.append(page.events(), page.bytes());
      vertx.eventBus().publish(EventBusAddresses.PROJECTION_EVENTS_READ, null);
    }
    return page.more();
  }
}
