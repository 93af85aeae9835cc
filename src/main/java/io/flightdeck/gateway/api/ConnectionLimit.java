package io.flightdeck.gateway.api;

import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the HTTP connections of the process, across all server instances: caps how many are open (one over
 * the cap is closed at once, before any request on it is read, so a flood of idle sockets cannot exhaust memory
 * or descriptors) and gives every accepted HTTP/1.x connection its {@link HeaderDeadline}, its
 * {@link StrictFramingDecoder} and its {@link BadChunkAnswer}.
 */
public final class ConnectionLimit {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimit.class);

  private final int max;
  private final HeaderDeadline headerDeadline;
  private final GatewayMetrics metrics;
  private final AtomicInteger open = new AtomicInteger();
  private final LogThrottle refusals = new LogThrottle(1, TimeUnit.SECONDS);

  public ConnectionLimit(int max, long headerReadTimeoutMs, GatewayMetrics metrics) {
    this.max = max;
    this.metrics = metrics;
    this.headerDeadline = new HeaderDeadline(headerReadTimeoutMs, () -> metrics.connectionClosed("head_timeout"));
  }

  public int open() {
    return open.get();
  }

  /** The server's connection handler; {@code options} are that server's. */
  public void accept(HttpConnection connection, HttpServerOptions options) {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      metrics.connectionClosed("max_connections");
      refusals.log(n -> LOG.warn("refused {} connection(s): {} connections are open (http.maxConnections)", n, max));
      connection.close();
      return;
    }
    connection.closeHandler(v -> open.decrementAndGet());
    headerDeadline.watch(connection);
    StrictFramingDecoder.install(connection, options);
    BadChunkAnswer.watch(connection);
  }
}
