package io.flightdeck.gateway.bench;

import java.util.Locale;

/** Number and text formatting shared by the console and the report. */
final class BenchText {

  private BenchText() {
  }

  /** {@code String.format} in the root locale with "n/a" for NaN, so a report reads the same everywhere. */
  static String num(String format, double value) {
    return Double.isNaN(value) || Double.isInfinite(value) ? "n/a" : String.format(Locale.ROOT, format, value);
  }

  /** The last {@code chars} characters, for error messages that quote a log. */
  static String tail(String text, int chars) {
    String t = text.strip();
    return t.length() <= chars ? t : "..." + t.substring(t.length() - chars);
  }
}
