package io.flightdeck.gateway.bench;

import io.vertx.core.buffer.Buffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The live phases' events: for each position a 200 answer returned, when its request was due (sent). The load
 * generator writes it when the answer arrives; the subscribers read it on their own event loops, often before
 * (an SSE message can overtake its POST's answer), which is why they keep what they cannot match yet and try
 * again later. Positions index a paged array, so a lookup is one volatile read and allocates nothing.
 */
final class PositionLog {

  static final long UNKNOWN = Long.MIN_VALUE;
  private static final int PAGE_BITS = 16;
  private static final int PAGE = 1 << PAGE_BITS;
  /** 2^28 positions: far more than any phase posts. */
  private static final int MAX_PAGES = 1 << 12;
  private static final byte[] POSITION = "\"position\":".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final MeasureWindow window;
  private final AtomicReferenceArray<AtomicLongArray> pages = new AtomicReferenceArray<>(MAX_PAGES);
  /** Stored values are {@code nanoTime - base}, always > 0, so 0 means "not answered yet". */
  private final long base = System.nanoTime() - 1_000_000_000L;
  // written on the load generator's event loop(s), under this object's lock
  private long acked;
  private long maxPosition;
  private long outOfRange;

  /** @param window the measured window: the events due inside it are the ones every subscriber must receive */
  PositionLog(MeasureWindow window) {
    this.window = window;
  }

  MeasureWindow window() {
    return window;
  }

  /** A 200 answer to a request due at {@code intendedNanos}: every {@code "position":} in its body. */
  synchronized void answered(long intendedNanos, Buffer body) {
    int n = body.length();
    for (int i = 0; i + POSITION.length < n; i++) {
      if (!matches(body, i)) {
        continue;
      }
      int j = i + POSITION.length;
      long position = 0;
      for (byte c; j < n && (c = body.getByte(j)) >= '0' && c <= '9'; j++) {
        position = position * 10 + (c - '0');
      }
      record(position, intendedNanos);
      i = j;
    }
  }

  /** The same for a request sent outside the load generator. */
  synchronized void record(long position, long intendedNanos) {
    int page = (int) (position >>> PAGE_BITS);
    if (position <= 0 || page >= MAX_PAGES) {
      outOfRange++;
      return;
    }
    AtomicLongArray p = pages.get(page);
    if (p == null) {
      p = new AtomicLongArray(PAGE);
      pages.set(page, p);
    }
    p.set((int) (position & (PAGE - 1)), intendedNanos - base);
    acked++;
    maxPosition = Math.max(maxPosition, position);
  }

  private static boolean matches(Buffer body, int at) {
    for (int k = 0; k < POSITION.length; k++) {
      if (body.getByte(at + k) != POSITION[k]) {
        return false;
      }
    }
    return true;
  }

  /** When the event at {@code position} was due, or {@link #UNKNOWN} while its answer has not arrived. */
  long sentAt(long position) {
    int page = (int) (position >>> PAGE_BITS);
    if (position <= 0 || page >= MAX_PAGES) {
      return UNKNOWN;
    }
    AtomicLongArray p = pages.get(page);
    long v = p == null ? 0 : p.get((int) (position & (PAGE - 1)));
    return v == 0 ? UNKNOWN : v + base;
  }

  synchronized long acked() {
    return acked;
  }

  synchronized long maxPosition() {
    return maxPosition;
  }

  synchronized long outOfRange() {
    return outOfRange;
  }

  /**
   * The positions of the events due inside the window, ascending. Judged now, on the window's final edges (an
   * answer can arrive before the window's start is published, while its request was due after it).
   */
  synchronized long[] windowPositions() {
    long[] in = new long[1024];
    int n = 0;
    for (long p = 1; p <= maxPosition; p++) {
      long sent = sentAt(p);
      if (sent != UNKNOWN && window.contains(sent)) {
        if (n == in.length) {
          in = Arrays.copyOf(in, n * 2);
        }
        in[n++] = p;
      }
    }
    return Arrays.copyOf(in, n);
  }
}
