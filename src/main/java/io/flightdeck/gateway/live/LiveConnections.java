package io.flightdeck.gateway.live;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Counts shared by every event loop: open SSE connections (bounded) and slow clients cut off. */
public final class LiveConnections {

  private final int max;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong slowDropped = new AtomicLong();

  public LiveConnections(int max) {
    this.max = max;
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
    slowDropped.incrementAndGet();
  }

  public int open() {
    return open.get();
  }

  public long slowClientsDropped() {
    return slowDropped.get();
  }
}
