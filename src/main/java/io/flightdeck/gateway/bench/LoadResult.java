package io.flightdeck.gateway.bench;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one load phase measured.
 *
 * @param windowSeconds the measured window's length
 * @param okRequests 200 answers inside the window
 * @param okEvents their events
 * @param ackedEvents every event answered 200 in the whole phase (the store must hold at least these)
 * @param errors everything but a 200 in the whole phase, by kind
 * @param errorSamples the first message of each kind
 * @param latencyMicros ack latency of the requests due inside the window, from their due time
 * @param maxBacklog open loop: most requests due but waiting for a connection (sum of the lanes' maxima)
 * @param maxSendLagMicros open loop: the latest a request left the generator after it was due (while a
 *     connection was free, this is the generator's own stall, not the gateway's)
 * @param maxOwnLagMicros open loop: the longest a due request waited in the generator while a connection was free
 * @param cpu cores each party used inside the window
 */
record LoadResult(LoadSpec spec, double windowSeconds, long okRequests, long okEvents, long ackedEvents,
                  Map<String, Long> errors, Map<String, String> errorSamples, Histogram latencyMicros,
                  long maxBacklog, long maxSendLagMicros, long maxOwnLagMicros, CpuProbe.Usage cpu) {

  static LoadResult of(LoadSpec spec, double windowSeconds, LaneStats s, CpuProbe.Usage cpu) {
    return new LoadResult(spec, windowSeconds, s.okRequests, s.okEvents, s.ackedEvents, Map.copyOf(s.errors),
        Map.copyOf(s.errorSamples), s.latencyMicros, s.maxBacklog, s.maxSendLagMicros, s.maxOwnLagMicros, cpu);
  }

  /**
   * This phase with the ramp that ran before its warm-up (an open loop's, on the same gateway): the ramp's
   * acknowledged events and its errors belong to the phase (the store holds its events, and a failure is a
   * failure whenever it happens); its window, latencies and CPU do not. {@code ramp} null: this phase as it is.
   */
  LoadResult afterRamp(LoadResult ramp) {
    if (ramp == null) {
      return this;
    }
    Map<String, Long> allErrors = new TreeMap<>(ramp.errors);
    errors.forEach((kind, n) -> allErrors.merge(kind, n, Long::sum));
    Map<String, String> samples = new TreeMap<>(ramp.errorSamples);
    samples.putAll(errorSamples);
    return new LoadResult(spec, windowSeconds, okRequests, okEvents, ackedEvents + ramp.ackedEvents,
        Map.copyOf(allErrors), Map.copyOf(samples), latencyMicros, maxBacklog, maxSendLagMicros, maxOwnLagMicros,
        cpu);
  }

  double eventsPerSecond() {
    return okEvents / windowSeconds;
  }

  double requestsPerSecond() {
    return okRequests / windowSeconds;
  }

  long errorCount() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  /** A latency percentile in milliseconds; NaN when nothing was recorded. */
  double latencyMs(double percentile) {
    return BenchText.ms(latencyMicros, percentile);
  }

  double maxLatencyMs() {
    return BenchText.maxMs(latencyMicros);
  }
}
