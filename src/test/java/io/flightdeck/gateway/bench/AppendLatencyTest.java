package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The append latency inside a window, from two scrapes of the gateway's histogram. */
class AppendLatencyTest {

  private static String scrape(long upTo1ms, long upTo4ms, long upTo100ms, long total) {
    return """
        # HELP flightdeck_append_latency_seconds Time from a request's events being queued to their commit
        # TYPE flightdeck_append_latency_seconds histogram
        flightdeck_append_latency_seconds_bucket{le="0.001"} %d.0
        flightdeck_append_latency_seconds_bucket{le="0.004194304"} %d.0
        flightdeck_append_latency_seconds_bucket{le="0.111848106"} %d.0
        flightdeck_append_latency_seconds_bucket{le="+Inf"} %d.0
        flightdeck_append_latency_seconds_count %d.0
        flightdeck_append_batch_size_bucket{le="1.0"} 99.0
        """.formatted(upTo1ms, upTo4ms, upTo100ms, total, total);
  }

  @Test
  @DisplayName("reads the cumulative buckets by their bound in seconds, +Inf included, and nothing else")
  void parsesBuckets() {
    Map<Double, Long> b = AppendLatency.buckets(scrape(1, 2, 3, 4));
    assertEquals(Map.of(0.001, 1L, 0.004194304, 2L, 0.111848106, 3L, Double.POSITIVE_INFINITY, 4L), b);
  }

  @Test
  @DisplayName("counts only the window's appends and gives each quantile's bucket bound in milliseconds")
  void window() {
    // before the window: 500 appends, all under 1 ms (warm-up); inside: 1000 more, 900 of them under 4.19 ms,
    // 99 up to 111.8 ms and one slower still
    Map<Double, Long> before = AppendLatency.buckets(scrape(500, 500, 500, 500));
    Map<Double, Long> after = AppendLatency.buckets(scrape(600, 1400, 1499, 1500));

    AppendLatency a = AppendLatency.between(before, after);
    assertNull(a.unavailable());
    assertEquals(1000, a.appends());
    assertEquals(4.194304, a.p50Ms(), 1e-9); // 100 under 1 ms, the 500th in (1, 4.19]
    assertEquals(111.848106, a.p99Ms(), 1e-9); // 990th of 1000: in (4.19, 111.8]
    assertEquals(Double.POSITIVE_INFINITY, a.maxMs());
  }

  @Test
  @DisplayName("a window without appends has no quantiles")
  void empty() {
    Map<Double, Long> same = AppendLatency.buckets(scrape(5, 6, 7, 8));
    AppendLatency a = AppendLatency.between(same, same);
    assertEquals(0, a.appends());
    assertEquals(Double.NaN, a.p99Ms());
  }
}
