package io.flightdeck.gateway.config;

/**
 * A configuration value that cannot be used. The message always starts with the key it is about, so the one
 * line printed at start-up tells an operator exactly what to fix.
 */
public final class ConfigException extends RuntimeException {

  private final String key;

  public ConfigException(String key, String problem) {
    super(key + ": " + problem);
    this.key = key;
  }

  /** The dotted key, as written in {@code conf/gateway.yaml}. */
  public String key() {
    return key;
  }
}
