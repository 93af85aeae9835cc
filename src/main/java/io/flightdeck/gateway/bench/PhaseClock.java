package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.function.LongConsumer;

/**
 * Times one phase whose load is already running: waits out the warm-up, opens the measured window, closes it
 * after the measure time, and answers the CPU each party used inside the window.
 *
 * <p>A fresh gateway is still compiling its hot paths after the fixed warm-up on a slow machine: on a 2-core
 * Xeon its JIT compiler still took 0.38 cores 20 to 25 s after start (0.03 after 45 s), and that window measured
 * 7.5k single events/s against 10.9k once compiled. So, when the probe watches a gateway and the timing allows
 * it, the warm-up goes on (at most {@link Timing#settleMax()} longer) until the gateway's JIT compiler used less
 * than {@link #SETTLED_JIT_CORES} over the last {@link #SETTLE_STEP_MS} ms: the window measures the steady state
 * a long-running gateway is in, and the report says how long each phase warmed up and what the JIT still took.
 */
final class PhaseClock {

  static final double SETTLED_JIT_CORES = 0.10;
  static final long SETTLE_STEP_MS = 3000;

  private PhaseClock() {
  }

  /**
   * @param onOpen told the window's start ({@link System#nanoTime()}), right after the CPU is read
   * @param onClose told the window's end, right after the CPU is read
   */
  static Future<CpuProbe.Usage> run(Vertx vertx, Timing timing, CpuProbe probe, LongConsumer onOpen,
                                    LongConsumer onClose) {
    return run(vertx, timing, probe, null, onOpen, onClose);
  }

  /**
   * @param window opened and closed at the edges, right before the CPU is read (so whatever is judged meanwhile
   *     is judged against the new edge); null for none
   * @param onOpen told the window's start ({@link System#nanoTime()}), right after the CPU is read: work that
   *     takes time (a query, waiting for a thread) must not fall between the edge and the CPU's reading, or the
   *     CPU counted would run past the window it is divided by
   * @param onClose told the window's end, right after the CPU is read
   */
  static Future<CpuProbe.Usage> run(Vertx vertx, Timing timing, CpuProbe probe, MeasureWindow window,
                                    LongConsumer onOpen, LongConsumer onClose) {
    long started = System.nanoTime();
    LongConsumer open = window == null ? t -> { } : window::open;
    LongConsumer close = window == null ? t -> { } : window::close;
    return vertx.timer(Math.max(1, timing.warmup().toMillis()))
        .compose(v -> settle(vertx, probe, started + timing.warmup().plus(timing.settleMax()).toNanos()))
        .compose(v -> sample(vertx, probe, open, onOpen))
        .compose(start -> vertx.timer(timing.measure().toMillis())
            .compose(v -> sample(vertx, probe, close, onClose))
            .map(end -> CpuProbe.between(start, end).afterWarmup((start.nanoTime() - started) / 1e9)));
  }

  /** Completes once the gateway's JIT compiler is quiet, or at {@code until}; at once without a gateway. */
  private static Future<Void> settle(Vertx vertx, CpuProbe probe, long until) {
    if (probe.gatewayPid() == 0) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(probe::gatewayJit, false).compose(jit -> settleFrom(vertx, probe, until, jit));
  }

  /** One step of {@link #settle}: {@code before} is the compiler's CPU at the step's start (-1 if unknown). */
  private static Future<Void> settleFrom(Vertx vertx, CpuProbe probe, long until, long before) {
    if (before < 0 || System.nanoTime() + SETTLE_STEP_MS * 1_000_000 > until) {
      return Future.succeededFuture();
    }
    return vertx.timer(SETTLE_STEP_MS)
        .compose(v -> vertx.executeBlocking(probe::gatewayJit, false))
        .compose(after -> after >= 0 && after - before >= SETTLED_JIT_CORES * SETTLE_STEP_MS * 1_000_000
            ? settleFrom(vertx, probe, until, after)
            : Future.succeededFuture());
  }

  private static Future<CpuProbe.Sample> sample(Vertx vertx, CpuProbe probe, LongConsumer edge,
                                                LongConsumer after) {
    // reading /proc for every PostgreSQL process takes a few milliseconds: not on an event loop
    return vertx.executeBlocking(() -> {
      // the edge is published before the /proc reads, which take milliseconds: whatever the lanes (and the live
      // phases' subscribers) judge in between is judged against the new edge, not the old one. The CPU is read
      // right after, at t; the phase's own edge work (a reset of pg_stat_statements, stopping the fsync probe,
      // which waits for its flush) comes after the reading, not between the edge and it
      long t = System.nanoTime();
      edge.accept(t);
      CpuProbe.Sample sample = probe.sample(t);
      after.accept(t);
      return sample;
    }, false);
  }
}
