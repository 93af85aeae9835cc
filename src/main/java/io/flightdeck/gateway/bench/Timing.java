package io.flightdeck.gateway.bench;

import java.time.Duration;

/**
 * How long a phase warms up (thrown away) and then measures.
 *
 * @param warmup the warm-up every phase gets
 * @param settleMax how much longer the warm-up may run while the gateway's JIT compiler is still busy (see
 *     {@link PhaseClock}); zero for none
 */
record Timing(Duration warmup, Duration measure, Duration settleMax) {

  Timing(Duration warmup, Duration measure) {
    this(warmup, measure, Duration.ZERO);
  }

  /** Warm-up and window, without any settling: what a process that cannot settle (pgbench) runs for. */
  long totalSeconds() {
    return warmup.plus(measure).toSeconds();
  }
}
