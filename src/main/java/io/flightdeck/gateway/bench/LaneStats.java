package io.flightdeck.gateway.bench;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one lane saw. A lane runs on one event loop, so this needs no locking; the lanes' stats are merged once
 * they are stopped.
 */
final class LaneStats {

  /** Latencies above a minute are recorded as a minute: the requests time out well before. */
  static final long MAX_LATENCY_MICROS = 60_000_000L;
  private static final int MAX_SAMPLE_CHARS = 200;

  final Histogram latencyMicros = new Histogram(MAX_LATENCY_MICROS, 3);
  /** 200 answers and their events that arrived inside the window. */
  long okRequests;
  long okEvents;
  /** Every event acknowledged with 200, warm-up and drain included: the store must hold at least these. */
  long ackedEvents;
  /** Open loop: the most requests that were due but waiting for a free connection, inside the window. */
  long maxBacklog;
  /** Open loop: the latest any request was sent after it was due, in microseconds (the generator's own lag). */
  long maxSendLagMicros;
  /** Open loop: the longest a due request waited in the generator while a connection was free. */
  long maxOwnLagMicros;
  /** Everything but a 200, over the whole phase, by kind; the first message of each kind. */
  final Map<String, Long> errors = new TreeMap<>();
  final Map<String, String> errorSamples = new TreeMap<>();

  void recordLatency(long nanos) {
    latencyMicros.recordValue(Math.min(MAX_LATENCY_MICROS, Math.max(0, nanos / 1000)));
  }

  void recordError(String kind, String sample, long count) {
    errors.merge(kind, count, Long::sum);
    errorSamples.putIfAbsent(kind, sample.length() > MAX_SAMPLE_CHARS ? sample.substring(0, MAX_SAMPLE_CHARS) : sample);
  }

  void add(LaneStats other) {
    latencyMicros.add(other.latencyMicros);
    okRequests += other.okRequests;
    okEvents += other.okEvents;
    ackedEvents += other.ackedEvents;
    maxBacklog += other.maxBacklog;
    maxSendLagMicros = Math.max(maxSendLagMicros, other.maxSendLagMicros);
    maxOwnLagMicros = Math.max(maxOwnLagMicros, other.maxOwnLagMicros);
    other.errors.forEach((kind, n) -> recordError(kind, other.errorSamples.getOrDefault(kind, ""), n));
  }
}
