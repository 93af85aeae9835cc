package io.flightdeck.gateway.config;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The whole configuration, parsed and validated once at start-up. Every constructor path throws
 * {@link ConfigException} naming the offending key, so a bad file never reaches a running gateway.
 *
 * @param env {@code dev} or {@code production}; production refuses the shipped demo secrets
 * @param readToken bearer token for reads and the live feed
 * @param adminToken bearer token for {@code /v1/admin/*}
 */
public record GatewayConfig(String env, HttpConfig http, DbConfig db, String readToken, String adminToken,
                            IngestConfig ingest, AppenderConfig appender, ProjectionsConfig projections,
                            LiveConfig live, MetricsConfig metrics, List<SiteConfig> sites) {

  public static final String DEMO_READ_TOKEN = "demo-read-token";
  public static final String DEMO_ADMIN_TOKEN = "demo-admin-token";

  public static GatewayConfig from(JsonObject json) {
    return from(new Section(json, ""));
  }

  /** Reads the configuration from its root section, which then knows which keys were never read. */
  static GatewayConfig from(Section root) {
    String env = root.string("env", "dev");
    if (!env.equals("dev") && !env.equals("production")) {
      throw new ConfigException("env", "must be dev or production (got '" + env + "')");
    }
    IngestConfig ingest = IngestConfig.from(root.section("ingest"));
    GatewayConfig config = new GatewayConfig(
        env,
        HttpConfig.from(root.section("http"), ingest),
        DbConfig.from(root.section("db")),
        token(root.section("read")),
        token(root.section("admin")),
        ingest,
        AppenderConfig.from(root.section("appender"), ingest),
        ProjectionsConfig.from(root.section("projections")),
        LiveConfig.from(root.section("live")),
        MetricsConfig.from(root.section("metrics")),
        sites(root, ingest));
    if (config.readToken.equals(config.adminToken)) {
      throw new ConfigException("admin.token", "must differ from read.token");
    }
    String metricsToken = config.metrics.token();
    if (metricsToken.equals(config.readToken) || metricsToken.equals(config.adminToken)) {
      // it sits in every scraper's configuration: it must not also open the events or the admin API
      throw new ConfigException("metrics.token", "must differ from read.token and admin.token");
    }
    if (config.metrics.port() != 0 && config.metrics.port() == config.http.port()) {
      // Vert.x would share the port between the two servers and hand each connection to either router in turn:
      // the metrics-only one answers 404 to everything else, the main one 404 to /metrics when it is moved
      throw new ConfigException("metrics.port", "must differ from http.port (" + config.http.port()
          + "); 0 serves /metrics on the main port");
    }
    if (config.live.heartbeatSeconds() >= config.http.idleTimeoutSeconds()) {
      // the heartbeat is what keeps a quiet stream from looking idle: without one in time, every quiet stream is
      // closed and reopened, and resumes with a read of the store, once per idle timeout
      throw new ConfigException("live.heartbeatSeconds", "must be less than http.idleTimeoutSeconds ("
          + config.http.idleTimeoutSeconds() + "), or quiet live streams are closed as idle");
    }
    for (int i = 0; i < config.sites.size(); i++) {
      // a write key is public (it is in every page's snippet): it must never open reads, admin or metrics
      String writeKey = config.sites.get(i).writeKey();
      if (writeKey.equals(config.readToken) || writeKey.equals(config.adminToken)
          || writeKey.equals(config.metrics.token())) {
        throw new ConfigException("sites[" + i + "].writeKey", "must differ from read.token, admin.token and "
            + "metrics.token");
      }
    }
    if (config.production() && !config.demoSecrets().isEmpty()) {
      throw new ConfigException(config.demoSecrets().get(0), "is a demo secret, refused with env=production");
    }
    return config;
  }

  private static String token(Section section) {
    String token = section.requiredString("token");
    if (token.length() < 12) {
      throw new ConfigException(section.key("token"), "must be at least 12 characters");
    }
    return sendable(section.key("token"), token);
  }

  /** The longest token or write key: see {@link #sendable}. */
  static final int MAX_SECRET_LENGTH = 4096;

  /**
   * {@code secret} when a client can send it in an HTTP header (Authorization, X-Write-Key): printable ASCII
   * without spaces at either end. A header drops those spaces, cannot carry a line break, and is read as ISO-8859-1,
   * so such a token or key would be taken at start and then refuse every request that sends it (401); a trailing
   * line break is what a secret mounted from a file often brings along. At most {@link #MAX_SECRET_LENGTH}
   * characters: with its header's name it must fit the 8 KiB of headers the server reads (431 beyond).
   */
  static String sendable(String key, String secret) {
    if (secret.length() > MAX_SECRET_LENGTH) {
      throw new ConfigException(key, "must be at most " + MAX_SECRET_LENGTH + " characters (got " + secret.length()
          + "): a longer one does not fit the request headers the server reads");
    }
    for (int i = 0; i < secret.length(); i++) {
      char c = secret.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new ConfigException(key, "must be printable ASCII: character " + (i + 1) + " is "
            + String.format("U+%04X", (int) c) + (c == '\n' ? " (a line break)" : ""));
      }
    }
    if (secret.startsWith(" ") || secret.endsWith(" ")) {
      throw new ConfigException(key, "must not start or end with a space (HTTP headers drop them)");
    }
    return secret;
  }

  private static List<SiteConfig> sites(Section root, IngestConfig ingest) {
    List<SiteConfig> sites = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    Set<String> keys = new HashSet<>();
    List<Section> sections = root.sections("sites");
    for (int i = 0; i < sections.size(); i++) {
      SiteConfig site = SiteConfig.from(sections.get(i), ingest);
      if (!ids.add(site.id())) {
        throw new ConfigException("sites[" + i + "].id", "'" + site.id() + "' is used by another site");
      }
      if (!keys.add(site.writeKey())) {
        throw new ConfigException("sites[" + i + "].writeKey", "is used by another site");
      }
      sites.add(site);
    }
    return List.copyOf(sites);
  }

  public boolean production() {
    return env.equals("production");
  }

  /** Keys still holding a shipped demo secret, for the start-up warning and the production refusal. */
  public List<String> demoSecrets() {
    List<String> keys = new ArrayList<>();
    if (readToken.equals(DEMO_READ_TOKEN)) {
      keys.add("read.token");
    }
    if (adminToken.equals(DEMO_ADMIN_TOKEN)) {
      keys.add("admin.token");
    }
    for (int i = 0; i < sites.size(); i++) {
      if (sites.get(i).writeKey().equals(SiteConfig.DEMO_WRITE_KEY)) {
        keys.add("sites[" + i + "].writeKey");
      }
    }
    return keys;
  }

  /** A copy with another HTTP port and database, for tests and the benchmark. */
  public GatewayConfig withPortAndDb(int port, String dbUrl) {
    HttpConfig h = http.withPort(port);
    DbConfig d = new DbConfig(dbUrl, db.createDatabase(), db.readPoolSize(), db.maxWaitQueue(), db.connectTimeoutMs(),
        db.startupTimeoutSeconds(), db.statementTimeoutMs(), db.connectionWaitMs());
    return new GatewayConfig(env, h, d, readToken, adminToken, ingest, appender, projections, live, metrics, sites);
  }

  /**
   * As a record shows itself, with the read and admin tokens hidden (the database URL's password and the metrics
   * token are hidden by their own records): a configuration may end up in a log or a message.
   */
  @Override
  public String toString() {
    return "GatewayConfig[env=" + env + ", http=" + http + ", db=" + db + ", readToken=***, adminToken=***, ingest="
        + ingest + ", appender=" + appender + ", projections=" + projections + ", live=" + live + ", metrics="
        + metrics + ", sites=" + sites + "]";
  }
}
