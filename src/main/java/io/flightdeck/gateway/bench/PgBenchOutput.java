package io.flightdeck.gateway.bench;

import java.time.Duration;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads pgbench's progress lines ({@code -P 1}, on stderr) and its summary (stdout). */
final class PgBenchOutput {

  // "progress: 7.0 s, 1234.5 tps, lat 1.617 ms stddev 0.301, 0 failed": the second that ends at 7.0 s
  private static final Pattern PROGRESS = Pattern.compile("(?m)^progress: ([0-9.]+) s, ([0-9.]+) tps");
  private static final Pattern SUMMARY_TPS = Pattern.compile("(?m)^tps = ([0-9.]+)");
  private static final Pattern FAILED = Pattern.compile("(?m)^number of failed transactions: ([0-9]+)");

  private PgBenchOutput() {
  }

  /** Mean tps of the progress seconds inside the measured window; empty when pgbench printed none there. */
  static OptionalDouble windowTps(String stderr, Duration warmup, Duration measure) {
    double from = warmup.toMillis() / 1000.0;
    double to = from + measure.toMillis() / 1000.0;
    Matcher m = PROGRESS.matcher(stderr);
    double sum = 0;
    int seconds = 0;
    while (m.find()) {
      double end = Double.parseDouble(m.group(1));
      // the seconds ending at from+1 .. to; the half second only keeps rounding of "7.0 s" out of the way
      if (end > from + 0.5 && end <= to + 0.5) {
        sum += Double.parseDouble(m.group(2));
        seconds++;
      }
    }
    return seconds == 0 ? OptionalDouble.empty() : OptionalDouble.of(sum / seconds);
  }

  /** The whole run's tps, warm-up included: only when there are no progress lines. */
  static double summaryTps(String stdout) {
    Matcher m = SUMMARY_TPS.matcher(stdout);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** Failed transactions (PostgreSQL 15+ prints them; older versions abort the client instead). */
  static long failed(String stdout) {
    Matcher m = FAILED.matcher(stdout);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }
}
