package io.flightdeck.gateway.bench;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/** Number and text formatting shared by the console and the report. */
final class BenchText {

  private BenchText() {
  }

  /** A percentile of a histogram of microseconds, in milliseconds; NaN when it recorded nothing. */
  static double ms(Histogram micros, double percentile) {
    return micros.getTotalCount() == 0 ? Double.NaN : micros.getValueAtPercentile(percentile) / 1000.0;
  }

  /** The largest value of a histogram of microseconds, in milliseconds; NaN when it recorded nothing. */
  static double maxMs(Histogram micros) {
    return micros.getTotalCount() == 0 ? Double.NaN : micros.getMaxValue() / 1000.0;
  }

  /** {@code String.format} in the root locale with "n/a" for NaN, so a report reads the same everywhere. */
  static String num(String format, double value) {
    return Double.isNaN(value) || Double.isInfinite(value) ? "n/a" : String.format(Locale.ROOT, format, value);
  }

  /** "8", "8 and 16", "8, 16 and 32". */
  static String listing(List<?> items) {
    int last = items.size() - 1;
    String head = items.subList(0, last).stream().map(String::valueOf).collect(Collectors.joining(", "));
    return last == 0 ? String.valueOf(items.get(0)) : head + " and " + items.get(last);
  }

  /** The last {@code chars} characters, for error messages that quote a log. */
  static String tail(String text, int chars) {
    String t = text.strip();
    return t.length() <= chars ? t : "..." + t.substring(t.length() - chars);
  }
}
