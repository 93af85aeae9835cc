package io.flightdeck.gateway.store;

import io.flightdeck.gateway.EventBusAddresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.PgNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one LISTEN connection. Turns the appender's NOTIFY ("from-to" position ranges) and the
 * projection admin's NOTIFY into event-bus messages, so every consumer in the process wakes without its own
 * connection. Notifications are only hints: after a reconnect it publishes a resync, since anything notified
 * while it was away is lost and consumers must catch up from their own position.
 *
 * <p>The connection comes from {@link PgSessions}, and sends {@code SELECT 1} every heartbeat interval: it sits idle
 * whenever nothing is appended, so without an answer to wait for a server gone silent would go unnoticed (no
 * notifications, no reconnect) until TCP gave up. {@code PgSubscriber} could not do that: it takes no TCP options, and
 * its reconnect to a silent server would wait forever.
 */
public final class PgStoreListener extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(PgStoreListener.class);
  private static final long MAX_RECONNECT_DELAY_MS = 5000;

  /** NOTIFY channel for projection admin changes (a rebuild); the payload is the projection's name. */
  public static final String PROJECTION_CHANNEL = "flightdeck_projections";

  private final PgConnectOptions connectOptions;
  private final PgSessions sessions;
  private PgConnection conn;
  private volatile boolean listening;
  private boolean stopped;
  private long heartbeat = -1;

  public PgStoreListener(PgConnectOptions connectOptions, PgSessions sessions) {
    this.connectOptions = new PgConnectOptions(connectOptions).addProperty("application_name", "flightdeck-listen");
    this.sessions = sessions;
  }

  @Override
  public Future<?> start() {
    heartbeat = sessions.heartbeat(() -> conn);
    // a database that is down at start is not fatal here: connect keeps trying
    connect(0);
    return Future.succeededFuture();
  }

  /** Whether the LISTEN connection is up, for readiness. */
  public boolean listening() {
    return listening;
  }

  /** Retries forever: 50 ms, doubling, at most 5 s apart. The count restarts at 0 after each success. */
  static long reconnectDelay(int retries) {
    return Math.min(50L << Math.min(retries, 10), MAX_RECONNECT_DELAY_MS);
  }

  private void connect(int retries) {
    if (stopped) {
      return;
    }
    sessions.connect(connectOptions).onComplete(ar -> {
      if (ar.failed()) {
        if (retries == 0) {
          LOG.warn("LISTEN connection failed, retrying: {}", ar.cause().getMessage());
        }
        vertx.setTimer(reconnectDelay(retries), id -> connect(retries + 1));
      } else {
        listen(ar.result(), retries);
      }
    });
  }

  private void listen(PgConnection c, int retries) {
    c.notificationHandler(this::notified);
    // a killed connection is expected here (the reconnect deals with it); unhandled, Vert.x prints it raw
    c.exceptionHandler(e -> LOG.debug("LISTEN connection error: {}", e.getMessage()));
    c.query("LISTEN " + StoreSql.NOTIFY_CHANNEL + "; LISTEN " + PROJECTION_CHANNEL).execute().onComplete(ar -> {
      if (ar.failed() || stopped) {
        c.close();
        vertx.setTimer(reconnectDelay(retries), id -> connect(retries + 1));
        return;
      }
      conn = c;
      c.closeHandler(v -> lost(c));
      subscribed();
    });
  }

  private void lost(PgConnection c) {
    if (conn != c) {
      return;
    }
    conn = null;
    listening = false;
    if (!stopped) {
      LOG.warn("LISTEN connection lost, reconnecting");
      vertx.setTimer(reconnectDelay(0), id -> connect(1));
    }
  }

  private void subscribed() {
    listening = true;
    LOG.info("listening for store notifications");
    vertx.eventBus().publish(EventBusAddresses.STORE_APPENDED, new JsonObject().put("resync", true));
  }

  private void notified(PgNotification n) {
    if (PROJECTION_CHANNEL.equals(n.getChannel())) {
      vertx.eventBus().publish(EventBusAddresses.PROJECTION_CHANGED,
          new JsonObject().put("projection", n.getPayload()));
    } else {
      appended(n.getPayload());
    }
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
    stopped = true;
    listening = false;
    vertx.cancelTimer(heartbeat);
    PgConnection c = conn;
    conn = null;
    return c == null ? Future.succeededFuture() : c.close();
  }
}
