package io.flightdeck.gateway.config;

import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgConnectOptions;

/**
 * The event store's database.
 *
 * @param url {@code postgresql://user[:password]@host:port/database}
 * @param createDatabase create the database at start when it does not exist
 * @param readPoolSize connections for reads and health checks
 * @param maxWaitQueue requests that may wait for a read connection before failing fast
 * @param connectTimeoutMs TCP connect timeout
 * @param startupTimeoutSeconds how long start-up keeps trying to reach the server before giving up
 */
public record DbConfig(String url, boolean createDatabase, int readPoolSize, int maxWaitQueue, int connectTimeoutMs,
                       int startupTimeoutSeconds) {

  static DbConfig from(Section s) {
    String url = s.requiredString("url");
    try {
      PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) {
      throw new ConfigException(s.key("url"), "is not a postgresql:// URL (" + e.getMessage() + ")");
    }
    if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
      throw new ConfigException(s.key("url"), "must start with postgresql://");
    }
    return new DbConfig(
        url,
        s.bool("createDatabase", true),
        s.integer("readPoolSize", 8, 1, 200),
        s.integer("maxWaitQueue", 512, 1, 100_000),
        s.integer("connectTimeoutMs", 5000, 100, 120_000),
        s.integer("startupTimeoutSeconds", 30, 0, 3600));
  }

  /** TCP options for every pool: the connect timeout. */
  public NetClientOptions netOptions() {
    return new NetClientOptions().setConnectTimeout(connectTimeoutMs).setTcpNoDelay(true);
  }

  /** Connect options for the pool; SSL and other parameters come from the URL. */
  public PgConnectOptions connectOptions() {
    return PgConnectOptions.fromUri(url)
        .setCachePreparedStatements(true)
        .setPipeliningLimit(256);
  }
}
