package io.flightdeck.gateway.config;

/**
 * The HTTP listener.
 *
 * @param host interface to bind
 * @param port port to bind; 0 picks a free one (logged at start)
 * @param instances HTTP verticle instances; 0 means one per event loop
 * @param idleTimeoutSeconds close connections idle this long
 * @param trustProxyHeaders take the client address from X-Forwarded-For / Forwarded (only behind a trusted proxy)
 * @param shutdownTimeoutMs how long SIGTERM waits for in-flight requests before closing connections
 * @param maxConnections open connections per process; further connections are closed at once
 * @param bodyReadTimeoutMs a request body must arrive completely within this time (408 otherwise)
 */
public record HttpConfig(String host, int port, int instances, int idleTimeoutSeconds, boolean trustProxyHeaders,
                         long shutdownTimeoutMs, int maxConnections, long bodyReadTimeoutMs) {

  static HttpConfig from(Section s) {
    return new HttpConfig(
        s.string("host", "0.0.0.0"),
        s.integer("port", 8080, 0, 65535),
        s.integer("instances", 0, 0, 256),
        s.integer("idleTimeoutSeconds", 60, 1, 3600),
        s.bool("trustProxyHeaders", false),
        s.number("shutdownTimeoutMs", 8000, 0, 60_000),
        s.integer("maxConnections", 10_000, 1, 1_000_000),
        s.number("bodyReadTimeoutMs", 10_000, 100, 600_000));
  }
}
