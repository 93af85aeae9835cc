package io.flightdeck.gateway.bench;

/**
 * The measured part of a phase, in {@link System#nanoTime()}. Set by the phase clock, read by every lane, so
 * the edges are volatile; before it opens and after it closes nothing is counted towards throughput.
 */
final class MeasureWindow {

  private volatile long start = Long.MAX_VALUE;
  private volatile long end = Long.MAX_VALUE;

  void open(long nanoTime) {
    start = nanoTime;
  }

  void close(long nanoTime) {
    end = nanoTime;
  }

  boolean contains(long nanoTime) {
    return nanoTime >= start && nanoTime < end;
  }

  boolean closedBy(long nanoTime) {
    return nanoTime >= end;
  }

  long end() {
    return end;
  }

  double seconds() {
    return end == Long.MAX_VALUE || start == Long.MAX_VALUE ? Double.NaN : (end - start) / 1e9;
  }
}
