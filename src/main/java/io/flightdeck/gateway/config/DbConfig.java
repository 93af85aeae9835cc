package io.flightdeck.gateway.config;

import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import io.vertx.sqlclient.PoolOptions;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The event store's database.
 *
 * @param url {@code postgresql://user[:password]@host:port/database}, with libpq's {@code sslmode},
 *     {@code sslrootcert} (the CA file that verifies the server's certificate), {@code sslcert} and {@code sslkey} (the
 *     PEM files of the client certificate and its unencrypted private key, for pg_hba.conf's cert) among its parameters
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

  /** libpq's URL parameter naming the CA file that verifies the server's certificate. */
  private static final String SSL_ROOT_CERT = "sslrootcert";
  /** libpq's URL parameters naming the PEM files of the client certificate and of its private key. */
  private static final String SSL_CERT = "sslcert";
  private static final String SSL_KEY = "sslkey";

  /** With the default statement timeout and connection wait, for tools that only prepare a database. */
  public DbConfig(String url, boolean createDatabase, int readPoolSize, int maxWaitQueue, int connectTimeoutMs,
                  int startupTimeoutSeconds) {
    this(url, createDatabase, readPoolSize, maxWaitQueue, connectTimeoutMs, startupTimeoutSeconds, 30_000,
        DEFAULT_CONNECTION_WAIT_MS);
  }

  static DbConfig from(Section s) {
    String url = s.requiredString("url");
    PgConnectOptions parsed;
    try {
      parsed = PgConnectOptions.fromUri(pgClientUrl(url));
    } catch (RuntimeException e) {
      throw new ConfigException(s.key("url"), "is not a postgresql:// URL (" + parseProblem(e.getMessage(), url) + ")");
    }
    if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
      throw new ConfigException(s.key("url"), "must start with postgresql://");
    }
    checkTls(s.key("url"), parsed.getSslMode(), parameter(url, SSL_ROOT_CERT));
    checkClientCertificate(s.key("url"), parsed.getSslMode(), parameter(url, SSL_CERT), parameter(url, SSL_KEY));
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
   * Refuses TLS settings that could not verify the server as asked: verify-ca and verify-full without a CA file (the
   * pg client would refuse every connection, the JDBC driver look for ~/.postgresql/root.crt), a CA file that is
   * missing, unreadable or holds no certificate, and a CA file with a mode that may connect without TLS or without
   * checking (disable, allow, prefer, or no sslmode, which the pg client reads as disable): libpq would verify the
   * server only when TLS happens to be used, and fall back to a plain connection when it fails.
   */
  private static void checkTls(String key, SslMode mode, String rootCert) {
    boolean verifying = mode == SslMode.VERIFY_CA || mode == SslMode.VERIFY_FULL;
    if (rootCert == null) {
      if (verifying) {
        throw new ConfigException(key, "sslmode=" + mode.value + " needs sslrootcert=<file> in the URL: the PEM file "
            + "of the CA that signed the server's certificate");
      }
      return;
    }
    if (!alwaysTls(mode)) {
      throw new ConfigException(key, "sslrootcert is given with sslmode=" + mode.value + ": use sslmode=verify-full "
          + "(or verify-ca, or require, which with a CA file verifies as verify-ca does)");
    }
    if ("system".equals(rootCert)) {
      throw new ConfigException(key, "sslrootcert=system is not supported: give the CA's PEM file");
    }
    // read as the pg client and the JDBC start-up connections read it (PemTls), not by a parser of its own
    int certificates;
    try {
      certificates = PemTls.trustStore(rootCert).size();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage()); // not a readable file
    } catch (Exception e) {
      throw new ConfigException(key, "sslrootcert " + rootCert + " is not a PEM certificate file ("
          + e.getMessage() + ")");
    }
    if (certificates == 0) {
      throw new ConfigException(key, "sslrootcert " + rootCert + " holds no certificate");
    }
  }

  /** Whether {@code mode} always encrypts: require, verify-ca, verify-full (the others may connect in plain text). */
  private static boolean alwaysTls(SslMode mode) {
    return mode == SslMode.REQUIRE || mode == SslMode.VERIFY_CA || mode == SslMode.VERIFY_FULL;
  }

  /**
   * Refuses a client certificate that would not be used as given, at load rather than at the first connection: sslcert
   * without sslkey or the other way round (libpq would look for ~/.postgresql/postgresql.key or .crt), with a mode that
   * may connect without TLS, and files the pg client and the JDBC driver could not use (see
   * {@link PemTls#clientKeyStore}): missing, not PEM, an encrypted key, or a key of another certificate.
   */
  private static void checkClientCertificate(String key, SslMode mode, String cert, String privateKey) {
    if (cert == null && privateKey == null) {
      return;
    }
    if (cert == null || privateKey == null) {
      throw new ConfigException(key, (cert == null ? "sslkey is given without sslcert" : "sslcert is given without "
          + "sslkey") + ": give both, the PEM files of the client certificate and of its private key, or neither");
    }
    if (!alwaysTls(mode)) {
      throw new ConfigException(key, "sslcert is given with sslmode=" + mode.value + ", which may connect without TLS "
          + "and so without the certificate: use sslmode=verify-full (or verify-ca, or require)");
    }
    try {
      PemTls.clientKeyStore(cert, privateKey);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  /** The CA file that verifies the server's certificate (libpq's sslrootcert in the URL), or null for none. */
  public String sslRootCert() {
    return parameter(url, SSL_ROOT_CERT);
  }

  /** The PEM file of the client certificate (libpq's sslcert in the URL), or null for none; then sslKey too. */
  public String sslCert() {
    return parameter(url, SSL_CERT);
  }

  /** The PEM file of the client certificate's private key (libpq's sslkey in the URL), or null for none. */
  public String sslKey() {
    return parameter(url, SSL_KEY);
  }

  /**
   * {@code url} without the parameters of libpq that the pg client does not know (the files of sslrootcert, sslcert
   * and sslkey, which it takes as TLS options instead): it would send them to the server as run-time settings.
   */
  static String pgClientUrl(String url) {
    return withoutParameter(withoutParameter(withoutParameter(url, SSL_ROOT_CERT), SSL_CERT), SSL_KEY);
  }

  /**
   * The last value of the query parameter {@code name} of {@code url}, %-decoded as libpq decodes a URI (a '+' stays
   * a '+'), or null when it is absent. Names are matched ignoring case, as the pg client matches its own.
   */
  static String parameter(String url, String name) {
    return taken(url, name).value();
  }

  /**
   * {@code url} without the query parameter {@code name}: the pg client sends every parameter it does not know to
   * the server as a run-time setting, and the server refuses to start a session with one it does not know either.
   */
  static String withoutParameter(String url, String name) {
    return taken(url, name).rest();
  }

  /** {@code url} with the query parameter {@code name} taken out ({@code rest}), and its last value (decoded). */
  private static Taken taken(String url, String name) {
    int query = url.indexOf('?');
    if (query < 0) {
      return new Taken(url, null);
    }
    StringBuilder kept = new StringBuilder();
    String value = null;
    for (String pair : url.substring(query + 1).split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equalsIgnoreCase(name)) {
        value = URLDecoder.decode(pair.substring(eq + 1).replace("+", "%2B"), StandardCharsets.UTF_8);
      } else {
        kept.append(kept.length() == 0 ? "" : "&").append(pair);
      }
    }
    return new Taken(url.substring(0, query) + (kept.length() == 0 ? "" : "?" + kept), value);
  }

  private record Taken(String rest, String value) {
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
   * Connect options of every connection the gateway makes (the JDBC ones at start-up take the same mode and files,
   * read by the same PEM parsing, see DatabaseBootstrap and PemTls); SSL and other parameters come from the URL.
   *
   * <p>With {@code sslrootcert} (the URL's parameter is taken out first: the pg client does not know it and would
   * send it to the server), the server's certificate chain must lead to a certificate of that PEM file; verify-full
   * also checks that the certificate names the host of the URL (its DNS or IP subject alternative names, as HTTPS
   * checks them; the pg client refuses verify-full without such a check). require with a CA file verifies as
   * verify-ca, as libpq does: the mode is raised to verify-ca here, so that the JDBC driver, which would not check
   * the chain under require, checks it too.
   *
   * <p>Without a CA file, an sslmode of require, prefer or allow gets TLS options that trust the server's
   * certificate, as libpq and the JDBC driver read those modes: the pg client parses the mode but leaves the
   * options unset, and then failed every connection the server agreed to encrypt (a NullPointerException), after
   * the migrations had run. {@link #from} refuses verify-ca and verify-full without a CA file.
   *
   * <p>With {@code sslcert} and {@code sslkey} (taken out of the URL too), every connection presents that client
   * certificate; {@link #from} allows them with require, verify-ca and verify-full only, so TLS options are set then.
   */
  public PgConnectOptions connectOptions() {
    PgConnectOptions options = PgConnectOptions.fromUri(pgClientUrl(url));
    if (namesNoDatabase(url)) {
      // as libpq reads such a URL: the database named like the user (the pg client's own default is "db")
      options.setDatabase(options.getUser());
    }
    options.setCachePreparedStatements(true)
        .setPipeliningLimit(256);
    SslMode mode = options.getSslMode();
    String rootCert = sslRootCert();
    if (rootCert != null && alwaysTls(mode)) {
      if (mode == SslMode.REQUIRE) {
        options.setSslMode(SslMode.VERIFY_CA);
      }
      ClientSSLOptions tls = new ClientSSLOptions().setTrustOptions(new PemTrustOptions().addCertPath(rootCert));
      if (mode == SslMode.VERIFY_FULL) {
        tls.setHostnameVerificationAlgorithm("HTTPS");
      }
      options.setSslOptions(tls);
    } else if (options.getSslOptions() == null
        && (mode == SslMode.REQUIRE || mode == SslMode.PREFER || mode == SslMode.ALLOW)) {
      options.setSslOptions(new ClientSSLOptions().setTrustAll(true));
    }
    if (sslCert() != null && options.getSslOptions() != null) {
      options.getSslOptions().setKeyCertOptions(new PemKeyCertOptions().setCertPath(sslCert()).setKeyPath(sslKey()));
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
