package io.flightdeck.gateway.config;

import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import io.vertx.sqlclient.PoolOptions;
import java.util.concurrent.TimeUnit;

/**
 * The event store's database.
 *
 * @param url {@code postgresql://user[:password]@host:port/database}
 * @param createDatabase create the database at start when it does not exist
 * @param readPoolSize connections for reads (readiness has one of its own)
 * @param maxWaitQueue requests that may wait for a read connection before failing fast
 * @param connectTimeoutMs TCP connect timeout
 * @param startupTimeoutSeconds how long start-up keeps trying to reach the server before giving up
 * @param statementTimeoutMs the server cancels a read's or a projection's statement after this long; a read,
 *     projection or LISTEN connection on which nothing came back for {@link #silenceTimeoutMs()} is closed
 * @param connectionWaitMs how long a read (or the readiness check) waits for a connection of its pool, queued
 *     behind busy ones or while one is opened, before it fails (503; at start-up, exit 1); never less than
 *     connectTimeoutMs, as opening one may take that long. Apart from connectTimeoutMs: that bounds one TCP connect,
 *     and a small value there (to notice an unreachable host soon) must not make a read that merely queues behind a
 *     busy connection fail, nor a start whose first connections take a little longer to open (backend fork,
 *     authentication, TLS, a cold JVM)
 */
public record DbConfig(String url, boolean createDatabase, int readPoolSize, int maxWaitQueue, int connectTimeoutMs,
                       int startupTimeoutSeconds, int statementTimeoutMs, int connectionWaitMs) {

  /** The server would have answered by then: a statement ends, cancelled if need be, at statementTimeoutMs. */
  private static final int SILENCE_MARGIN_MS = 5000;

  private static final int DEFAULT_CONNECTION_WAIT_MS = 5000;

  /** With the default statement timeout and connection wait, for tools that only prepare a database. */
  public DbConfig(String url, boolean createDatabase, int readPoolSize, int maxWaitQueue, int connectTimeoutMs,
                  int startupTimeoutSeconds) {
    this(url, createDatabase, readPoolSize, maxWaitQueue, connectTimeoutMs, startupTimeoutSeconds, 30_000,
        DEFAULT_CONNECTION_WAIT_MS);
  }

  static DbConfig from(Section s) {
    String url = s.requiredString("url");
    try {
      PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) {
      throw new ConfigException(s.key("url"), "is not a postgresql:// URL (" + parseProblem(e.getMessage(), url) + ")");
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
        s.integer("startupTimeoutSeconds", 30, 0, 3600),
        s.integer("statementTimeoutMs", 30_000, 100, 3_600_000),
        s.integer("connectionWaitMs", DEFAULT_CONNECTION_WAIT_MS, 1000, 120_000));
  }

  /**
   * A read, projection or LISTEN connection on which nothing has come back for this long is closed (the server went
   * silent: a network partition, a frozen host, a proxy that stopped forwarding): statementTimeoutMs, by when the
   * server would have answered any statement, cancelling it if need be, plus a margin.
   */
  public int silenceTimeoutMs() {
    return statementTimeoutMs + SILENCE_MARGIN_MS;
  }

  /**
   * How often a long-lived connection that may sit idle (LISTEN, a projection's lease) sends {@code SELECT 1}: four
   * times per {@link #silenceTimeoutMs()}, so that a healthy idle connection is never that silent, while a lost
   * answer or two (a slow server) does not close it either.
   */
  public int heartbeatIntervalMs() {
    return silenceTimeoutMs() / 4;
  }

  /**
   * The URL as it may be shown in a message or a log: the password of its user-info replaced by {@code ***},
   * everything else as given, so an operator still sees which URL was meant. The user-info runs to the last
   * {@code @}, as the pg client's parser reads it: a password may hold an unescaped {@code @}, and hiding too much
   * is the safe mistake.
   */
  public static String redacted(String url) {
    int scheme = url.indexOf("://");
    if (scheme < 0) {
      return url;
    }
    int colon = url.indexOf(':', scheme + 3);
    int firstAt = url.indexOf('@', scheme + 3);
    if (colon < 0 || firstAt < 0 || colon > firstAt) {
      return url; // no user-info, or a user without a password
    }
    return url.substring(0, colon + 1) + "***" + url.substring(url.lastIndexOf('@'));
  }

  /**
   * The parser's reason for refusing {@code url}, without the password: the URL it quotes is shown
   * {@link #redacted}. A reason that does not quote the URL whole might quote a piece of the password (a bad
   * %-escape in it, say), so with a password in the URL such a reason is replaced by the redacted URL.
   */
  public static String parseProblem(String reason, String url) {
    String shown = redacted(url);
    if (shown.equals(url)) {
      return String.valueOf(reason);
    }
    return reason != null && reason.contains(url) ? reason.replace(url, shown) : "got " + shown;
  }

  /** As a record shows itself, with the URL {@link #redacted}: a configuration may end up in a log or a message. */
  @Override
  public String toString() {
    return "DbConfig[url=" + redacted(url) + ", createDatabase=" + createDatabase + ", readPoolSize=" + readPoolSize
        + ", maxWaitQueue=" + maxWaitQueue + ", connectTimeoutMs=" + connectTimeoutMs + ", startupTimeoutSeconds="
        + startupTimeoutSeconds + ", statementTimeoutMs=" + statementTimeoutMs + ", connectionWaitMs="
        + connectionWaitMs + "]";
  }

  /**
   * Options of a pool of reads ({@code maxSize} connections): a request waits for one at most connectionWaitMs, or
   * connectTimeoutMs when that is longer (the pool's wait includes opening a connection).
   */
  public PoolOptions readPoolOptions(int maxSize, int maxWaitQueue, String name) {
    return new PoolOptions().setMaxSize(maxSize).setMaxWaitQueueSize(maxWaitQueue)
        .setConnectionTimeout(connectionBoundMs())
        .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS).setName(name);
  }

  /** The longest a wait for a connection may take: connectionWaitMs, or connectTimeoutMs when that is longer. */
  public int connectionBoundMs() {
    return Math.max(connectionWaitMs, connectTimeoutMs);
  }

  /** TCP options for every pool: the connect timeout. */
  public NetClientOptions netOptions() {
    return new NetClientOptions().setConnectTimeout(connectTimeoutMs).setTcpNoDelay(true);
  }

  /**
   * TCP options for read, projection and LISTEN connections: {@link #netOptions()}, and closed once nothing has come
   * back for {@link #silenceTimeoutMs()}, the start-up handshake included. TCP keepalive would not do: the kernel of a
   * frozen server, or a proxy that stopped forwarding, still acknowledges its probes.
   */
  public NetClientOptions silenceBoundedNetOptions() {
    return silenceBoundedNetOptions(statementTimeoutMs);
  }

  /** The same for connections whose statements end on the server after {@code statementTimeoutMs} (appends). */
  public NetClientOptions silenceBoundedNetOptions(long statementTimeoutMs) {
    return netOptions().setReadIdleTimeout(Math.toIntExact(statementTimeoutMs + SILENCE_MARGIN_MS))
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
  }

  /**
   * Connect options for the pool; SSL and other parameters come from the URL. An sslmode of require, prefer or allow
   * gets TLS options that trust the server's certificate, as libpq and the JDBC driver that runs the migrations read
   * those modes: the pg client parses the mode but leaves the options unset, and then failed every connection the
   * server agreed to encrypt (a NullPointerException), after the migrations had run. verify-ca and verify-full need
   * a CA, which the gateway has no setting for: the pg client refuses them with its own message.
   */
  public PgConnectOptions connectOptions() {
    PgConnectOptions options = PgConnectOptions.fromUri(url);
    if (namesNoDatabase(url)) {
      // as libpq reads such a URL: the database named like the user (the pg client's own default is "db")
      options.setDatabase(options.getUser());
    }
    options.setCachePreparedStatements(true)
        .setPipeliningLimit(256);
    SslMode mode = options.getSslMode();
    if (options.getSslOptions() == null
        && (mode == SslMode.REQUIRE || mode == SslMode.PREFER || mode == SslMode.ALLOW)) {
      options.setSslOptions(new ClientSSLOptions().setTrustAll(true));
    }
    return options;
  }

  /** Whether {@code url} has no database path (the pg client refuses an empty one after a "/"). */
  static boolean namesNoDatabase(String url) {
    String rest = url.substring(url.indexOf("://") + 3);
    int query = rest.indexOf('?');
    return (query < 0 ? rest : rest.substring(0, query)).indexOf('/') < 0;
  }
}
