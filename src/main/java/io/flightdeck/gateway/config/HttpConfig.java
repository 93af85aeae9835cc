package io.flightdeck.gateway.config;

/**
 * The HTTP listener.
 *
 * @param host interface to bind
 * @param port port to bind; 0 picks a free one (logged at start)
 * @param instances HTTP verticle instances; 0 means one per event loop
 * @param idleTimeoutSeconds close connections idle this long
 * @param trustProxyHeaders take the client address from {@code proxyHeader} (only behind a trusted proxy)
 * @param proxyHeader {@code X-Forwarded-For} or {@code Forwarded}: the one header the trusted proxy adds the client
 *     address to; the other is never read, since a client could send it
 * @param trustedProxyHops how many trusted proxies add an entry to {@code proxyHeader}: the client is the entry this
 *     many from the right (the leftmost when there are fewer), as entries left of them are written by the client
 * @param shutdownTimeoutMs how long SIGTERM waits for in-flight requests before closing connections
 * @param maxConnections open connections per process; further connections are closed at once
 * @param bodyReadTimeoutMs a request body must arrive completely within this time (408 otherwise)
 * @param headerReadTimeoutMs an HTTP/1.x request head must arrive completely within this time of its first byte
 *     (408 and a closed connection otherwise)
 * @param maxBufferedBodyBytes tracking request bodies being read or held, all connections together; a request
 *     that would take the process past it is answered 503 before its body is read
 * @param maxUnsentResponseBytes answers to reads built and not yet written to their clients, all connections
 *     together; a read that would take the process past it is answered 503 (one answer alone always goes out)
 * @param http2ClearText accept HTTP/2 without TLS (h2c: prior knowledge or an HTTP/1.1 upgrade); off, a
 *     connection is counted and its request heads timed from its first byte
 */
public record HttpConfig(String host, int port, int instances, int idleTimeoutSeconds, boolean trustProxyHeaders,
                         long shutdownTimeoutMs, int maxConnections, long bodyReadTimeoutMs, long headerReadTimeoutMs,
                         long maxBufferedBodyBytes, long maxUnsentResponseBytes, boolean http2ClearText,
                         String proxyHeader, int trustedProxyHops) {

  public static final String X_FORWARDED_FOR = "X-Forwarded-For";
  public static final String FORWARDED = "Forwarded";
  static final long MAX_SHUTDOWN_TIMEOUT_MS = 7000;

  static HttpConfig from(Section s, IngestConfig ingest) {
    HttpConfig config = new HttpConfig(
        BindHost.from(s, "host"),
        s.integer("port", 8080, 0, 65535),
        s.integer("instances", 0, 0, 256),
        s.integer("idleTimeoutSeconds", 60, 1, 3600),
        s.bool("trustProxyHeaders", false),
        shutdownTimeoutMs(s),
        s.integer("maxConnections", 10_000, 1, 1_000_000),
        s.number("bodyReadTimeoutMs", 10_000, 100, 600_000),
        s.number("headerReadTimeoutMs", 10_000, 100, 600_000),
        s.number("maxBufferedBodyBytes", 64L << 20, 1024, 64L << 30),
        s.number("maxUnsentResponseBytes", 64L << 20, 1024, 64L << 30),
        s.bool("http2ClearText", false),
        proxyHeader(s),
        s.integer("trustedProxyHops", 1, 1, 10));
    if (config.maxBufferedBodyBytes < ingest.maxBodyBytes()) {
      throw new ConfigException(s.key("maxBufferedBodyBytes"), "must be at least ingest.maxBodyBytes ("
          + ingest.maxBodyBytes() + ") or a body of the largest allowed size could never be read");
    }
    return config;
  }

  /**
   * At most {@link #MAX_SHUTDOWN_TIMEOUT_MS}: Main gives the whole drain 7.5 s so that the process exits within the
   * contract's 10 s, and the appender, projections and live feed stop after this wait. A longer one was taken and
   * then cut short by that budget, a stalled client leaving in-flight appends unfinished. One range, said once: a
   * first check of 0-60000 told an operator who wrote 60001 that 60000 would do, and 60000 was refused in turn.
   */
  private static long shutdownTimeoutMs(Section s) {
    return s.number("shutdownTimeoutMs", 6000, 0, MAX_SHUTDOWN_TIMEOUT_MS,
        ": the whole stop must end within 10 s, and the appender and projections stop after it");
  }

  /** A copy on another port. */
  HttpConfig withPort(int otherPort) {
    return new HttpConfig(host, otherPort, instances, idleTimeoutSeconds, trustProxyHeaders, shutdownTimeoutMs,
        maxConnections, bodyReadTimeoutMs, headerReadTimeoutMs, maxBufferedBodyBytes, maxUnsentResponseBytes,
        http2ClearText, proxyHeader, trustedProxyHops);
  }

  private static String proxyHeader(Section s) {
    String header = s.string("proxyHeader", X_FORWARDED_FOR).trim();
    for (String known : new String[] {X_FORWARDED_FOR, FORWARDED}) {
      if (known.equalsIgnoreCase(header)) {
        return known;
      }
    }
    throw new ConfigException(s.key("proxyHeader"),
        "must be " + X_FORWARDED_FOR + " or " + FORWARDED + " (got '" + header + "')");
  }
}
