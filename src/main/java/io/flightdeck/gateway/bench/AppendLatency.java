package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway's own account of its appends inside a window: the buckets of its
 * {@code flightdeck_append_latency_seconds} histogram (from a request's events entering the append queue to their
 * commit), scraped from {@code /metrics} at the window's edges; their difference is the window's appends. Set
 * against the ack latency the load generator saw, it tells the time an ack spent in the append (queueing for a
 * group, the transaction, the commit's WAL flush) from the time spent around it (HTTP, parsing, waiting for an
 * event loop or a core).
 *
 * @param appends requests whose append completed inside the window
 * @param p50Ms the upper bound of the bucket holding the median (a bucket's bound: the true value is at most
 *     this, and above the bucket below)
 * @param p99Ms the same for the 99th percentile
 * @param maxMs the same for the slowest append
 * @param unavailable why there are no figures (the scrape failed), else null
 */
record AppendLatency(long appends, double p50Ms, double p99Ms, double maxMs, String unavailable) {

  static final String FAMILY = "flightdeck_append_latency_seconds";
  static final String METRIC = FAMILY + "_bucket";
  // flightdeck_append_latency_seconds_bucket{le="0.001048576"} 12.0 (le among other labels, if any)
  private static final Pattern BUCKET = Pattern.compile("(?m)^" + METRIC
      + "\\{(?:[^}]*,)?le=\"([^\"]+)\"[^}]*\\} ([0-9.eE+-]+)$");
  private static final Duration SCRAPE_TIMEOUT = Duration.ofSeconds(5);

  static AppendLatency unavailable(String why) {
    return new AppendLatency(0, Double.NaN, Double.NaN, Double.NaN, why);
  }

  /**
   * The histogram's cumulative bucket counts by upper bound in seconds (+Inf as infinity), from a scrape of the
   * gateway on 127.0.0.1:{@code port}. Blocking: call it off the event loops.
   */
  static Map<Double, Long> scrape(HttpClient http, int port) throws IOException, InterruptedException {
    // only this histogram: the whole scrape renders every meter on an event loop, inside the measured window
    HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
            + "/metrics?name%5B%5D=" + FAMILY))
        .timeout(SCRAPE_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) {
      throw new IOException("GET /metrics answered " + resp.statusCode());
    }
    Map<Double, Long> buckets = buckets(resp.body());
    if (buckets.isEmpty()) {
      throw new IOException("the scrape has no " + METRIC);
    }
    return buckets;
  }

  static Map<Double, Long> buckets(String exposition) {
    Map<Double, Long> buckets = new TreeMap<>();
    Matcher m = BUCKET.matcher(exposition);
    while (m.find()) {
      double le = "+Inf".equals(m.group(1)) ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1));
      buckets.merge(le, (long) Double.parseDouble(m.group(2)), Long::sum);
    }
    return buckets;
  }

  /** The appends between two scrapes of the same gateway. */
  static AppendLatency between(Map<Double, Long> before, Map<Double, Long> after) {
    TreeMap<Double, Long> window = new TreeMap<>();
    after.forEach((le, count) -> window.put(le, count - before.getOrDefault(le, 0L)));
    long total = window.isEmpty() ? 0 : window.lastEntry().getValue();
    if (total <= 0) {
      return new AppendLatency(0, Double.NaN, Double.NaN, Double.NaN, null);
    }
    return new AppendLatency(total, boundMs(window, total * 0.5), boundMs(window, total * 0.99),
        boundMs(window, total), null);
  }

  /** The upper bound (ms) of the first bucket whose cumulative count reaches {@code rank}. */
  private static double boundMs(TreeMap<Double, Long> cumulative, double rank) {
    for (Map.Entry<Double, Long> e : cumulative.entrySet()) {
      if (e.getValue() >= rank) {
        return e.getKey() * 1000;
      }
    }
    return Double.POSITIVE_INFINITY;
  }
}
