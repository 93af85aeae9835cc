package io.flightdeck.gateway.config;

/**
 * Prometheus metrics, {@code GET /metrics}.
 *
 * @param port 0 serves /metrics on the main HTTP port; another port serves it there alone (a management port)
 * @param host interface of the management port
 * @param token when set, scrapes need {@code Authorization: Bearer <token>}; empty means open
 * @param sampleIntervalMs how often the per-projection gauges are refreshed from the database
 * @param maxConnections open connections to the management port; further connections are closed at once
 */
public record MetricsConfig(int port, String host, String token, long sampleIntervalMs, int maxConnections) {

  static MetricsConfig from(Section s) {
    MetricsConfig config = new MetricsConfig(
        s.integer("port", 0, 0, 65535),
        BindHost.from(s, "host"),
        s.string("token", ""),
        s.number("sampleIntervalMs", 5000, 100, 3_600_000),
        s.integer("maxConnections", 32, 1, 10_000));
    if (!config.token.isEmpty() && config.token.length() < 12) {
      throw new ConfigException(s.key("token"), "must be empty (no token) or at least 12 characters");
    }
    GatewayConfig.sendable(s.key("token"), config.token);
    return config;
  }

  public boolean protectedByToken() {
    return !token.isEmpty();
  }

  /** As a record shows itself, with the token hidden: a configuration may end up in a log or a message. */
  @Override
  public String toString() {
    return "MetricsConfig[port=" + port + ", host=" + host + ", token=" + (protectedByToken() ? "***" : "")
        + ", sampleIntervalMs=" + sampleIntervalMs + ", maxConnections=" + maxConnections + "]";
  }
}
