package io.flightdeck.gateway.live;

import io.flightdeck.gateway.metrics.GatewayMetrics;
import java.util.concurrent.atomic.AtomicInteger;

/** Open SSE connections, shared by every event loop and bounded; slow clients cut off go to the metrics. */
public final class LiveConnections {

  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  private final GatewayMetrics metrics;

  public LiveConnections(int max, GatewayMetrics metrics) {
    this.max = max;
    this.metrics = metrics;
    metrics.gauge(GatewayMetrics.SSE_CONNECTIONS, "Open live-feed (SSE) connections", open, AtomicInteger::get);
  }

  GatewayMetrics metrics() {
    return metrics;
  }

  boolean tryOpen() {
    while (true) {
      int n = open.get();
      if (n >= max) {
        return false;
      }
      if (open.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  void closed() {
    open.decrementAndGet();
  }

  void slowClientDropped() {
    metrics.sseSlowDropped().increment();
  }

  public int open() {
    return open.get();
  }
}
