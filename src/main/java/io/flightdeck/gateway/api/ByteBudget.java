package io.flightdeck.gateway.api;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes the whole process holds against a limit, taken and given back from any thread. A taker finding nothing
 * held may always take what it needs, so a single holder larger than the limit is never refused for ever.
 */
final class ByteBudget {

  private final long max;
  private final AtomicLong held = new AtomicLong();

  ByteBudget(long max) {
    this.max = max;
  }

  long held() {
    return held.get();
  }

  /** Takes {@code need} bytes unless that would pass the limit while something is held; whether it did. */
  boolean take(long need) {
    while (true) {
      long now = held.get();
      if (now > 0 && now + need > max) {
        return false;
      }
      if (held.compareAndSet(now, now + need)) {
        return true;
      }
    }
  }

  void release(long bytes) {
    held.addAndGet(-bytes);
  }
}
