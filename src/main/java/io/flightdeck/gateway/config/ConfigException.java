package io.flightdeck.gateway.config;

/**
 * A configuration value that cannot be used. The message always starts with the key it is about, so the one
 * line printed at start-up tells an operator exactly what to fix.
 */
public final class ConfigException extends RuntimeException {

  private final String key;

  public ConfigException(String key, String problem) {
    super(oneLine(key + ": " + problem));
    this.key = key;
  }

  /** The first line of {@code message} ("null" for none): what a multi-line report (Flyway's, Jackson's) leads with. */
  public static String firstLine(String message) {
    int nl = message == null ? -1 : message.indexOf('\n');
    return nl < 0 ? String.valueOf(message) : message.substring(0, nl);
  }

  /**
   * {@code text} with its line breaks and other control characters written as Java escapes (backslash n, backslash u):
   * a refused value is quoted in the message, and a value from the environment may hold a line break (a secret file
   * that ends in one), which would otherwise split the one line the contract promises.
   */
  public static String oneLine(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.toString();
  }

  /** The dotted key, as written in {@code conf/gateway.yaml}. */
  public String key() {
    return key;
  }
}
