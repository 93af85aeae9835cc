package io.flightdeck.gateway.store;

import io.flightdeck.gateway.EventBusAddresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one LISTEN connection. Turns the appender's NOTIFY ("from-to" position ranges) and the
 * projection admin's NOTIFY into event-bus messages, so every consumer in the process wakes without its own
 * connection. Notifications are only hints: after a reconnect it publishes a resync, since anything notified
 * while it was away is lost and consumers must catch up from their own position.
 */
public final class PgStoreListener extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(PgStoreListener.class);
  private static final long MAX_RECONNECT_DELAY_MS = 5000;

  /** NOTIFY channel for projection admin changes (a rebuild); the payload is the projection's name. */
  public static final String PROJECTION_CHANNEL = "flightdeck_projections";

  private final PgConnectOptions connectOptions;
  private PgSubscriber subscriber;
  private volatile boolean listening;

  public PgStoreListener(PgConnectOptions connectOptions) {
    this.connectOptions = new PgConnectOptions(connectOptions).addProperty("application_name", "flightdeck-listen");
  }

  @Override
  public Future<?> start() {
    subscriber = PgSubscriber.subscriber(vertx, connectOptions)
        .reconnectPolicy(PgStoreListener::reconnectDelay);
    subscriber.channel(StoreSql.NOTIFY_CHANNEL)
        .subscribeHandler(v -> subscribed())
        .handler(this::appended);
    subscriber.channel(PROJECTION_CHANNEL)
        .handler(name -> vertx.eventBus().publish(EventBusAddresses.PROJECTION_CHANGED,
            new JsonObject().put("projection", name)));
    subscriber.closeHandler(v -> listening = false);
    // a database that is down at start is not fatal here: the reconnect policy keeps trying
    subscriber.connect().onFailure(e -> LOG.warn("LISTEN connection failed, retrying: {}", e.getMessage()));
    return Future.succeededFuture();
  }

  /** Whether the LISTEN connection is up, for readiness. */
  public boolean listening() {
    return listening && subscriber.actualConnection() != null;
  }

  /** Retries forever: 50 ms, doubling, at most 5 s apart. The count restarts at 0 after each success. */
  static long reconnectDelay(int retries) {
    return Math.min(50L << Math.min(retries, 10), MAX_RECONNECT_DELAY_MS);
  }

  private void subscribed() {
    listening = true;
    if (subscriber.actualConnection() != null) {
      // a killed connection is expected here (the reconnect policy deals with it); unhandled, Vert.x prints it raw
      subscriber.actualConnection().exceptionHandler(e -> LOG.debug("LISTEN connection error: {}", e.getMessage()));
    }
    LOG.info("listening for store notifications");
    vertx.eventBus().publish(EventBusAddresses.STORE_APPENDED, new JsonObject().put("resync", true));
  }

  private void appended(String payload) {
    int dash = payload.indexOf('-');
    try {
      JsonObject range = new JsonObject()
          .put("at", System.nanoTime())
          .put("from", Long.parseLong(payload.substring(0, dash)))
          .put("to", Long.parseLong(payload.substring(dash + 1)));
      vertx.eventBus().publish(EventBusAddresses.STORE_APPENDED, range);
    } catch (RuntimeException e) {
      // someone else's NOTIFY on our channel: still a hint that something may have changed
      vertx.eventBus().publish(EventBusAddresses.STORE_APPENDED, new JsonObject().put("resync", true));
    }
  }

  @Override
  public Future<?> stop() {
    listening = false;
    return subscriber.close();
  }
}
