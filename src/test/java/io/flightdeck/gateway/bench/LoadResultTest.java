package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A load phase's figures as the report and the checks read them. */
class LoadResultTest {

  private static final CpuProbe.Usage CPU = new CpuProbe.Usage(0.1, 0.5, 0.6, 1.3, 0.01, 12);

  private static LoadResult result(LoadSpec spec, double seconds, long okRequests, long acked,
                                   Map<String, Long> errors, Map<String, String> samples, Histogram latency) {
    return new LoadResult(spec, seconds, okRequests, okRequests * spec.eventsPerRequest(), acked, errors, samples,
        latency, 7, 900, 40, CPU);
  }

  @Test
  @DisplayName("an open loop's ramp adds its acknowledged events and its errors to the phase, nothing to its window")
  void rampCountsWithThePhase() {
    LoadSpec spec = LoadSpec.openLoop("open-half", 64, 1, 1000);
    Histogram latency = new Histogram(LaneStats.MAX_LATENCY_MICROS, 3);
    latency.recordValue(2500);
    LoadResult phase = result(spec, 15.0, 15_000, 40_000, Map.of("HTTP 503", 2L),
        Map.of("HTTP 503", "busy"), latency);
    // the ramp before the warm-up: 5,000 acknowledged, 3 errors of which one kind the phase also had
    LoadResult ramp = result(LoadSpec.openLoop("open-half-ramp", 64, 1, 500), 10.0, 5_000, 5_000,
        Map.of("HTTP 503", 1L, "IllegalStateException", 2L),
        Map.of("HTTP 503", "overloaded", "IllegalStateException", "closed"), new Histogram(3));

    LoadResult all = phase.afterRamp(ramp);
    // the store must hold the ramp's events too, and a failure during the ramp is a failure of the phase
    assertEquals(45_000, all.ackedEvents());
    assertEquals(Map.of("HTTP 503", 3L, "IllegalStateException", 2L), all.errors());
    assertEquals(5, all.errorCount());
    assertEquals(Map.of("HTTP 503", "busy", "IllegalStateException", "closed"), all.errorSamples());
    // the window's figures are the phase's alone
    assertEquals(1000, all.eventsPerSecond(), 1e-9);
    assertEquals(15_000, all.okRequests());
    assertSame(latency, all.latencyMicros());
    assertEquals(7, all.maxBacklog());
    assertSame(CPU, all.cpu());
    assertSame(phase, phase.afterRamp(null), "a closed loop has no ramp");
  }
}
