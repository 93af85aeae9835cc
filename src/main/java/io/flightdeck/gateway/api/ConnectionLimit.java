package io.flightdeck.gateway.api;

import io.vertx.core.http.HttpConnection;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Caps open HTTP connections across all server instances of the process. A connection over the cap is closed
 * at once, before any request on it is read, so a flood of idle sockets cannot exhaust memory or descriptors.
 */
public final class ConnectionLimit {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimit.class);

  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  public ConnectionLimit(int max) {
    this.max = max;
  }

  public int open() {
    return open.get();
  }

  void accept(HttpConnection connection) {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      LOG.warn("refusing a connection: {} connections are open (http.maxConnections)", max);
      connection.close();
      return;
    }
    connection.closeHandler(v -> open.decrementAndGet());
  }
}
