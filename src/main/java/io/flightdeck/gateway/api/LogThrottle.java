package io.flightdeck.gateway.api;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * At most one log line per interval for a warning that a client can trigger per request or per connection (a
 * refused connection, a 5xx answer): a flood then costs the event loops one console write a second, not one
 * each, and the line that does get written says how many it stands for. Metrics count every occurrence.
 */
public final class LogThrottle {

  private final long intervalNanos;
  private final AtomicLong nextAt = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong suppressed = new AtomicLong();

  public LogThrottle(long interval, TimeUnit unit) {
    this.intervalNanos = unit.toNanos(interval);
  }

  /**
   * Runs {@code log} with the number of occurrences it stands for (this one and those suppressed since the last
   * line) when the interval has passed; otherwise only counts this one.
   */
  public void log(LongConsumer log) {
    long now = System.nanoTime();
    long next = nextAt.get();
    if ((next != Long.MIN_VALUE && now - next < 0) || !nextAt.compareAndSet(next, now + intervalNanos)) {
      suppressed.incrementAndGet();
      return;
    }
    log.accept(suppressed.getAndSet(0) + 1);
  }
}
