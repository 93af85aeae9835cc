package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.function.LongConsumer;

/**
 * Times one phase whose load is already running: waits out the warm-up, opens the measured window, closes it
 * after the measure time, and answers the CPU each party used inside the window.
 */
final class PhaseClock {

  private PhaseClock() {
  }

  /**
   * @param onOpen told the window's start ({@link System#nanoTime()}), right before the CPU is read
   * @param onClose told the window's end, right before the CPU is read
   */
  static Future<CpuProbe.Usage> run(Vertx vertx, Timing timing, CpuProbe probe, LongConsumer onOpen,
                                    LongConsumer onClose) {
    return vertx.timer(Math.max(1, timing.warmup().toMillis()))
        .compose(v -> sample(vertx, probe, onOpen))
        .compose(start -> vertx.timer(timing.measure().toMillis())
            .compose(v -> sample(vertx, probe, onClose))
            .map(end -> CpuProbe.between(start, end)));
  }

  private static Future<CpuProbe.Sample> sample(Vertx vertx, CpuProbe probe, LongConsumer edge) {
    // reading /proc for every PostgreSQL process takes a few milliseconds: not on an event loop
    return vertx.executeBlocking(() -> {
      // the edge is published before the /proc reads, which take milliseconds: whatever the lanes (and the live
      // phases' subscribers) judge in between is judged against the new edge, not the old one
      long t = System.nanoTime();
      edge.accept(t);
      return probe.sample(t);
    }, false);
  }
}
