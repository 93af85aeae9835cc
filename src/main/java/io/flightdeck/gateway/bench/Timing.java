package io.flightdeck.gateway.bench;

import java.time.Duration;

/** How long a phase warms up (thrown away) and then measures. */
record Timing(Duration warmup, Duration measure) {

  long totalSeconds() {
    return warmup.plus(measure).toSeconds();
  }
}
