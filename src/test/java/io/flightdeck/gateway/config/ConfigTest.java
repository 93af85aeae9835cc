package io.flightdeck.gateway.config;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/** The shipped conf/gateway.yaml with FLIGHTDECK_* variables on top, as ConfigLoader combines them. */
class ConfigTest {

  private static final String REAL_READ = "read-7f3a9c2e41b8d6";
  private static final String REAL_ADMIN = "admin-5e1d8b0a93c4f7";
  private static final String REAL_SITES =
      "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\",\"allowedOrigins\":[\"https://shop.example\"]}]";
  private static final Path LOGBACK = Path.of("src/main/resources/logback.xml");

  /** conf/gateway.yaml as JSON, parsed the way vertx-config's YAML store parses it. */
  private static JsonObject shipped() {
    try (Reader in = Files.newBufferedReader(Path.of(ConfigLoader.DEFAULT_PATH))) {
      Object yaml = new Yaml().load(in);
      return new JsonObject(Json.encode(yaml));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static GatewayConfig load(Map<String, String> env) {
    return ConfigLoader.fromJson(shipped(), env);
  }

  private static GatewayConfig load(String... keyValues) {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      env.put(keyValues[i], keyValues[i + 1]);
    }
    return load(env);
  }

  private static ConfigException refused(String... keyValues) {
    return assertThrows(ConfigException.class, () -> load(keyValues));
  }

  private static ConfigException refusedFile(JsonObject file) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.fromJson(file, Map.of()));
  }

  /** The exception names the key, and its message (the line printed at start-up) starts with it. */
  private static void assertNames(String key, ConfigException e) {
    assertEquals(key, e.key(), e.getMessage());
    assertTrue(e.getMessage().startsWith(key + ": "), e.getMessage());
  }

  private static JsonObject site(String id, String writeKey) {
    return new JsonObject().put("id", id).put("writeKey", writeKey).put("allowedOrigins", new JsonArray().add("*"));
  }

  // --- variable names and overrides ---

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
      "env, FLIGHTDECK_ENV",
      "db.url, FLIGHTDECK_DB_URL",
      "db.readPoolSize, FLIGHTDECK_DB_READ_POOL_SIZE",
      "http.idleTimeoutSeconds, FLIGHTDECK_HTTP_IDLE_TIMEOUT_SECONDS",
      "appender.maxConcurrentTransactions, FLIGHTDECK_APPENDER_MAX_CONCURRENT_TRANSACTIONS",
      "ingest.maxMetadataValueLength, FLIGHTDECK_INGEST_MAX_METADATA_VALUE_LENGTH",
      "read.token, FLIGHTDECK_READ_TOKEN",
      "http.trustedProxyHops, FLIGHTDECK_HTTP_TRUSTED_PROXY_HOPS"})
  @DisplayName("a key's variable is FLIGHTDECK_ and the dotted path with camelCase split by underscores")
  void variableNames(String key, String variable) {
    assertEquals(variable, EnvOverrides.variableName(key));
  }

  @Test
  @DisplayName("every key in the shipped file can be set by its environment variable")
  void everyShippedKeyHasAVariable() {
    List<String> keys = new ArrayList<>();
    collectKeys(shipped(), "", keys);
    assertTrue(keys.size() > 30, "the shipped file has its keys: " + keys);
    for (String key : keys) {
      JsonObject config = shipped();
      Map<String, String> env = Map.of(EnvOverrides.variableName(key), "1");
      List<String> unknown;
      try {
        unknown = EnvOverrides.apply(config, env);
      } catch (ConfigException e) {
        continue; // the variable was used (its value was just not valid for that key)
      }
      assertEquals(List.of(), unknown, key + " is reachable from the environment");
    }
  }

  private static void collectKeys(JsonObject json, String prefix, List<String> out) {
    for (String field : json.fieldNames()) {
      String key = prefix.isEmpty() ? field : prefix + "." + field;
      out.add(key);
      if (json.getValue(field) instanceof JsonObject nested) {
        collectKeys(nested, key, out);
      }
    }
  }

  @Test
  @DisplayName("the shipped configuration loads as documented: dev, port 8080, one demo site")
  void shippedDefaults() {
    GatewayConfig c = load(Map.of());
    assertEquals("dev", c.env());
    assertEquals(8080, c.http().port());
    assertEquals("postgresql://postgres@127.0.0.1:5432/flightdeck", c.db().url());
    assertEquals(1, c.sites().size());
    assertEquals("demo", c.sites().get(0).id());
    assertEquals("demo-write-key", c.sites().get(0).writeKey());
    assertEquals(List.of("*"), c.sites().get(0).allowedOrigins());
    assertEquals(List.of("read.token", "admin.token", "sites[0].writeKey"), c.demoSecrets());
  }

  @Test
  @DisplayName("db.url with sslmode=require, prefer or allow gives the pg client TLS options as libpq reads the mode "
      + "(encrypted, the server's certificate not checked), not none")
  void sslModeRequireHasTlsOptions() {
    for (String mode : List.of("require", "prefer", "allow")) {
      PgConnectOptions o = load("FLIGHTDECK_DB_URL", "postgresql://app:pw@db.internal:5432/flightdeck?sslmode=" + mode)
          .db().connectOptions();
      assertEquals(mode, o.getSslMode().value, mode);
      // without any, the pg client failed every connection the server agreed to encrypt with a NullPointerException
      // ('Cannot invoke "ClientSSLOptions.copy()"'), after the migrations had run over JDBC: exit 1 at start
      assertNotNull(o.getSslOptions(), mode);
      assertTrue(o.getSslOptions().isTrustAll(), mode + ": the JDBC driver of the migrations does not check it either");
    }
    assertEquals("disable", load().db().connectOptions().getSslMode().value, "no TLS unless the URL asks");
  }

  @Test
  @DisplayName("db.url's sslrootcert gives the pg client the CA to trust (verify-full also checks the host name, "
      + "require verifies as verify-ca, as libpq does) and is not sent to the server")
  void sslRootCertGivesTheCa(@TempDir Path dir) throws Exception {
    Path ca = caFile(dir);
    String base = "postgresql://app:pw@db.internal:5432/flightdeck?application_name=x&sslrootcert=" + ca + "&sslmode=";
    PgConnectOptions full = load("FLIGHTDECK_DB_URL", base + "verify-full").db().connectOptions();
    assertEquals("verify-full", full.getSslMode().value);
    assertEquals(List.of(ca.toString()), ((PemTrustOptions) full.getSslOptions().getTrustOptions()).getCertPaths());
    assertEquals("HTTPS", full.getSslOptions().getHostnameVerificationAlgorithm());
    assertFalse(full.getSslOptions().isTrustAll());
    assertFalse(full.getProperties().containsKey("sslrootcert"), full.getProperties().toString());
    for (String mode : List.of("verify-ca", "require")) {
      PgConnectOptions o = load("FLIGHTDECK_DB_URL", base + mode).db().connectOptions();
      assertEquals("verify-ca", o.getSslMode().value, mode);
      assertNotNull(o.getSslOptions().getTrustOptions(), mode);
      assertFalse(o.getSslOptions().isTrustAll(), mode);
      assertFalse(o.getProperties().containsKey("sslrootcert"), mode);
    }
    // %-escapes decoded as libpq decodes them; a '+' stays a '+'
    Path odd = Files.copy(ca, dir.resolve("ca +1.pem"));
    DbConfig db = load("FLIGHTDECK_DB_URL", "postgresql://app@h/d?sslmode=verify-full&sslrootcert="
        + dir + "/ca%20+1.pem").db();
    assertEquals(odd.toString(), db.sslRootCert());
  }

  @Test
  @DisplayName("db.url: verify-ca/verify-full without sslrootcert, a CA file that is missing or holds no certificate, "
      + "or sslrootcert with a mode that may skip the check are refused, naming db.url, without the password")
  void badTlsSettingsAreRefused(@TempDir Path dir) throws Exception {
    String pw = "postgresql://app:S3cretPassw0rd@db.internal:5432/flightdeck?sslmode=";
    Path notPem = Files.writeString(dir.resolve("not.pem"), "hello\n");
    Path ca = caFile(dir);
    Map<String, String> cases = Map.of(
        pw + "verify-full", "needs sslrootcert",
        pw + "verify-ca", "needs sslrootcert",
        pw + "verify-full&sslrootcert=" + dir.resolve("missing.pem"), "is not a readable file",
        pw + "verify-full&sslrootcert=" + dir, "is not a readable file",
        pw + "verify-ca&sslrootcert=" + notPem, "PEM",
        pw + "prefer&sslrootcert=" + ca, "sslmode=prefer",
        "postgresql://app:S3cretPassw0rd@db.internal/flightdeck?sslrootcert=" + ca, "sslmode=disable",
        pw + "verify-full&sslrootcert=system", "not supported");
    cases.forEach((url, problem) -> {
      ConfigException e = refused("FLIGHTDECK_DB_URL", url);
      assertNames("db.url", e);
      assertTrue(e.getMessage().contains(problem), url + ": " + e.getMessage());
      assertFalse(e.getMessage().contains("S3cretPassw0rd"), e.getMessage());
    });
  }

  @Test
  @DisplayName("db.url: sslcert without sslkey or sslkey without sslcert, sslcert with a mode that may connect without "
      + "TLS, or files that are not there are refused, naming db.url, without the password")
  void badClientCertificateSettingsAreRefused(@TempDir Path dir) throws Exception {
    String pw = "postgresql://app:S3cretPassw0rd@db.internal:5432/flightdeck?sslmode=";
    String cert = "&sslcert=" + dir.resolve("client.crt");
    String key = "&sslkey=" + dir.resolve("client.key");
    Map<String, String> cases = Map.of(
        pw + "require" + cert, "sslcert is given without sslkey",
        pw + "verify-full&sslrootcert=" + caFile(dir) + key, "sslkey is given without sslcert",
        pw + "prefer" + cert + key, "sslmode=prefer",
        pw + "allow" + cert + key, "sslmode=allow",
        "postgresql://app:S3cretPassw0rd@db.internal/flightdeck?" + cert.substring(1) + key, "sslmode=disable",
        pw + "require" + cert + key, "is not a readable file");
    cases.forEach((url, problem) -> {
      ConfigException e = refused("FLIGHTDECK_DB_URL", url);
      assertNames("db.url", e);
      assertTrue(e.getMessage().contains(problem), url + ": " + e.getMessage());
      assertFalse(e.getMessage().contains("S3cretPassw0rd"), e.getMessage());
    });
  }

  /** A throwaway self-signed CA certificate (PEM), made with the JDK's keytool. */
  static Path caFile(Path dir) throws Exception {
    Path store = dir.resolve("ca.p12");
    Path pem = dir.resolve("ca.pem");
    if (Files.exists(pem)) {
      return pem;
    }
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    for (List<String> args : List.of(
        List.of(keytool, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-dname", "CN=test CA", "-ext", "bc:c",
            "-keystore", store.toString(), "-storepass", "changeit"),
        List.of(keytool, "-exportcert", "-rfc", "-alias", "ca", "-keystore", store.toString(), "-storepass",
            "changeit", "-file", pem.toString()))) {
      Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      assertEquals(0, p.waitFor(), out);
    }
    return pem;
  }

  @Test
  @DisplayName("a URL that names no database means the database named like its user, as libpq reads it")
  void urlWithoutDatabaseUsesTheUserName() {
    for (String url : List.of("postgresql://alice@127.0.0.1:5432", "postgresql://alice:pw@127.0.0.1?sslmode=disable",
        "postgres://alice@127.0.0.1")) {
      // before, the pg client's own default: a database named db, created at start and migrated there
      assertEquals("alice", load("FLIGHTDECK_DB_URL", url).db().connectOptions().getDatabase(), url);
    }
    assertEquals("flightdeck", load("FLIGHTDECK_DB_URL", "postgresql://alice@127.0.0.1:5432/flightdeck?sslmode=allow")
        .db().connectOptions().getDatabase());
  }

  @Test
  @DisplayName("a configuration shown as text hides the database password and the read, admin and metrics tokens")
  void toStringHidesSecrets() {
    GatewayConfig c = load("FLIGHTDECK_DB_URL", "postgresql://app:s3cret-pw@db.internal:5432/flightdeck",
        "FLIGHTDECK_READ_TOKEN", "read-token-0123456789", "FLIGHTDECK_ADMIN_TOKEN", "admin-token-0123456789",
        "FLIGHTDECK_METRICS_TOKEN", "metrics-token-0123456789");
    String shown = c.toString();
    for (String secret : List.of("s3cret-pw", "read-token-0123456789", "admin-token-0123456789",
        "metrics-token-0123456789")) {
      assertFalse(shown.contains(secret), secret + " in " + shown);
    }
    // everything else still shows, the URL with its user, host and database
    assertTrue(shown.contains("url=postgresql://app:***@db.internal:5432/flightdeck"), shown);
    assertTrue(shown.contains("port=8080"), shown);
    assertTrue(shown.contains("sites=[SiteConfig[id=demo"), shown);
    assertEquals("postgresql://app:s3cret-pw@db.internal:5432/flightdeck", c.db().url(), "the value itself is kept");
  }

  @Test
  @DisplayName("numbers, booleans and strings from the environment replace nested camelCase keys")
  void scalarOverrides() {
    GatewayConfig c = load(
        "FLIGHTDECK_HTTP_PORT", " 9090 ",
        "FLIGHTDECK_DB_READ_POOL_SIZE", "3",
        "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS", "20000",
        "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "100",
        "FLIGHTDECK_HTTP_TRUST_PROXY_HEADERS", "TRUE",
        "FLIGHTDECK_DB_CREATE_DATABASE", "false",
        "FLIGHTDECK_DB_URL", "postgresql://app:secret@db.internal:6543/events",
        "FLIGHTDECK_HTTP_HOST", "127.0.0.1");
    assertEquals(9090, c.http().port());
    assertEquals(3, c.db().readPoolSize());
    assertEquals(20_000, c.appender().retryDeadlineMs());
    assertEquals(100, c.ingest().maxBatchEvents());
    assertTrue(c.http().trustProxyHeaders());
    assertFalse(c.db().createDatabase());
    assertEquals("postgresql://app:secret@db.internal:6543/events", c.db().url());
    assertEquals("127.0.0.1", c.http().host());
  }

  @Test
  @DisplayName("a JSON list in FLIGHTDECK_SITES replaces the sites of the file")
  void jsonListOverride() {
    GatewayConfig c = load("FLIGHTDECK_SITES", """
        [{"id":"shop","writeKey":"wk-shop-2b9e71c4","allowedOrigins":["https://shop.example","http://localhost:3000"],
          "rateLimit":{"eventsPerSecond":50,"burst":600}},
         {"id":"blog","writeKey":"wk-blog-88d1e0aa"}]""");
    assertEquals(2, c.sites().size());
    SiteConfig shop = c.sites().get(0);
    assertEquals("shop", shop.id());
    assertEquals("wk-shop-2b9e71c4", shop.writeKey());
    assertEquals(List.of("https://shop.example", "http://localhost:3000"), shop.allowedOrigins());
    assertEquals(50, shop.eventsPerSecond());
    assertEquals(600, shop.burst());
    assertTrue(shop.allowsOrigin("https://shop.example"));
    assertFalse(shop.allowsOrigin("https://evil.example"));
    assertEquals("blog", c.sites().get(1).id());
    assertEquals(List.of("read.token", "admin.token"), c.demoSecrets(), "the demo write key is gone");
  }

  @Test
  @DisplayName("allowed origins are kept as browsers send Origin: lower case, without the scheme's default port")
  void allowedOriginsAsBrowsersSendThem() {
    GatewayConfig c = load("FLIGHTDECK_SITES", """
        [{"id":"shop","writeKey":"wk-shop-2b9e71c4",
          "allowedOrigins":["HTTPS://Shop.Example:443","http://LocalHost:80","http://localhost:3000"]}]""");
    SiteConfig shop = c.sites().get(0);
    assertEquals(List.of("https://shop.example", "http://localhost", "http://localhost:3000"), shop.allowedOrigins());
    assertTrue(shop.allowsOrigin("https://shop.example"));
    assertTrue(shop.allowsOrigin("http://localhost"));
    assertFalse(shop.allowsOrigin("https://shop.example:8443"));
  }

  @Test
  @DisplayName("an allowed origin's port written with leading zeros is kept as the number browsers send")
  void allowedOriginPortWithLeadingZeros() {
    GatewayConfig c = load("FLIGHTDECK_SITES", """
        [{"id":"shop","writeKey":"wk-shop-2b9e71c4",
          "allowedOrigins":["https://shop.example:08443","https://www.shop.example:0443","http://[::1]:00080"]}]""");
    SiteConfig shop = c.sites().get(0);
    assertEquals(List.of("https://shop.example:8443", "https://www.shop.example", "http://[::1]"),
        shop.allowedOrigins());
    assertTrue(shop.allowsOrigin("https://shop.example:8443"));
    assertTrue(shop.allowsOrigin("https://www.shop.example"));
  }

  @Test
  @DisplayName("an allowed origin's IP address is kept as browsers serialize it: IPv6 compressed, IPv4 in decimal")
  void allowedOriginAddressesAsBrowsersSendThem() {
    GatewayConfig c = load("FLIGHTDECK_SITES", """
        [{"id":"shop","writeKey":"wk-shop-2b9e71c4",
          "allowedOrigins":["http://[0:0:0:0:0:0:0:1]:8080","https://[2001:DB8:0:0:1:0:0:1]",
            "http://[::FFFF:192.168.0.1]","http://[1:0:0:2:0:0:0:3]","http://[0001:0db8::]","http://127.000.000.001",
            "http://0x7f.1:3000","http://10.0.0.1."]}]""");
    SiteConfig shop = c.sites().get(0);
    // what the WHATWG URL parser, which every browser follows, writes as the Origin of such a page
    assertEquals(List.of("http://[::1]:8080", "https://[2001:db8::1:0:0:1]", "http://[::ffff:c0a8:1]",
        "http://[1:0:0:2::3]", "http://[1:db8::]", "http://127.0.0.1", "http://127.0.0.1:3000", "http://10.0.0.1"),
        shop.allowedOrigins());
    assertTrue(shop.allowsOrigin("http://[::1]:8080"));
  }

  @Test
  @DisplayName("a JSON section in a variable replaces that whole section")
  void jsonSectionOverride() {
    GatewayConfig c = load("FLIGHTDECK_READ", "{\"token\":\"" + REAL_READ + "\"}");
    assertEquals(REAL_READ, c.readToken());
  }

  @Test
  @DisplayName("a key's own variable applies on top of its section's JSON variable, and is not reported as unknown")
  void keyVariableOverJsonSection() {
    Map<String, String> env = Map.of("FLIGHTDECK_HTTP", "{\"port\":9000}",
        "FLIGHTDECK_HTTP_IDLE_TIMEOUT_SECONDS", "120");
    GatewayConfig c = load(env);
    assertEquals(9000, c.http().port(), "from the section's JSON");
    assertEquals(120, c.http().idleTimeoutSeconds(), "from the key's own variable");
    assertEquals(List.of(), EnvOverrides.apply(shipped(), env));
  }

  @Test
  @DisplayName("a variable that matches no key is ignored and reported, not fatal")
  void unknownVariablesDoNotFail() {
    GatewayConfig c = load(
        "FLIGHTDECK_HTTP_PROT", "9090",
        "FLIGHTDECK_NOT_A_KEY", "x",
        "FLIGHTDECK_CONFIG", "conf/gateway.yaml",
        "FLIGHTDECK_TEST_DB_URL", "postgresql://postgres@127.0.0.1:5432/postgres",
        "HOME", "/root");
    assertEquals(8080, c.http().port(), "the misspelt port variable changes nothing");
    List<String> unknown = EnvOverrides.apply(shipped(), Map.of(
        "FLIGHTDECK_HTTP_PROT", "9090", "FLIGHTDECK_CONFIG", "x", "FLIGHTDECK_HTTP_PORT", "1", "PATH", "/bin",
        "FLIGHTDECK_BENCH_DB_URL", "postgresql://127.0.0.1/x", "FLIGHTDECK_LOG_FORMAT", "json"));
    assertEquals(List.of("FLIGHTDECK_HTTP_PROT"), unknown);
  }

  @Test
  @DisplayName("a variable that matches no key is named in a warning also when another variable's value stops start-up")
  void unknownVariableNamedWhenAnotherIsRefused() {
    List<String> warnings = warningsOf(() -> refused("FLIGHTDECK_HTTP_PORT", "abc", "FLIGHTDECK_LIVE_RETRY_MSS", "5"));
    assertEquals(1, warnings.size(), String.valueOf(warnings));
    assertTrue(warnings.get(0).contains("FLIGHTDECK_LIVE_RETRY_MSS"), warnings.get(0));
  }

  /** The warnings ConfigLoader logs while {@code action} runs (logback-test.xml keeps them out of the test output). */
  private static List<String> warningsOf(Runnable action) {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ConfigLoader.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    Level quietInTests = logger.getLevel();
    logger.setLevel(Level.WARN);
    try {
      action.run();
    } finally {
      logger.setLevel(quietInTests);
      logger.detachAppender(logged);
    }
    return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Test
  @DisplayName("a live heartbeat no more frequent than the HTTP idle timeout is refused, naming live.heartbeatSeconds")
  void heartbeatWithinIdleTimeout() {
    ConfigException e = refused("FLIGHTDECK_HTTP_IDLE_TIMEOUT_SECONDS", "15", "FLIGHTDECK_LIVE_HEARTBEAT_SECONDS", "15");
    assertNames("live.heartbeatSeconds", e);
    assertTrue(e.getMessage().contains("http.idleTimeoutSeconds (15)"), e.getMessage());
    assertEquals(14, load("FLIGHTDECK_HTTP_IDLE_TIMEOUT_SECONDS", "15", "FLIGHTDECK_LIVE_HEARTBEAT_SECONDS", "14")
        .live().heartbeatSeconds());
  }

  @Test
  @DisplayName("every key of the shipped file is one the gateway reads")
  void shippedKeysAreAllRead() {
    Section root = new Section(shipped(), "");
    GatewayConfig.from(root);
    assertEquals(List.of(), root.unread());
  }

  @Test
  @DisplayName("keys the gateway does not read (misspelt, a whole section, a site's) are reported in the file's order, "
      + "not fatal")
  void unreadKeysAreReported() {
    JsonObject file = shipped();
    file.getJsonObject("http").put("prot", 9090);
    file.put("htpp", new JsonObject().put("port", 1));
    file.getJsonObject("db").put("url", "postgresql://postgres@127.0.0.1:5432/other");
    file.getJsonArray("sites").getJsonObject(0).put("allowedOrigin", new JsonArray().add("https://x.example"))
        .getJsonObject("rateLimit").put("brust", 5);
    Section root = new Section(file, "");
    GatewayConfig c = GatewayConfig.from(root);
    assertEquals(8080, c.http().port(), "the misspelt port changes nothing");
    assertEquals(List.of("http.prot", "sites[0].rateLimit.brust", "sites[0].allowedOrigin", "htpp"), root.unread());
    assertEquals(c, ConfigLoader.fromJson(file, Map.of()), "the loader reads the same configuration, and warns");
    assertEquals(root.unread(), Section.absentFrom(file, shipped()),
        "what a start-up stopped by a bad value names instead: the same keys");
  }

  @Test
  @DisplayName("a key written with dots on one line (http.port: 9090) does not nest: it is reported as unread, quoted")
  void dottedKeyIsReported() {
    JsonObject file = shipped();
    file.put("http.port", 9090);
    file.getJsonObject("live").put("heartbeat.seconds", 5);
    Section root = new Section(file, "");
    GatewayConfig c = GatewayConfig.from(root);
    assertEquals(8080, c.http().port(), "the dotted key changes nothing");
    assertEquals(List.of("live.\"heartbeat.seconds\"", "\"http.port\""), root.unread());
    assertEquals(List.of("live.\"heartbeat.seconds\"", "\"http.port\""), Section.absentFrom(file, shipped()));
  }

  @Test
  @DisplayName("the FLIGHTDECK_* variables logback.xml reads are not reported as matching no configuration key")
  void logbackVariablesAreNotUnknown() throws IOException {
    Matcher m = Pattern.compile("\\$\\{(FLIGHTDECK_[A-Z0-9_]+)").matcher(Files.readString(LOGBACK));
    Map<String, String> env = new HashMap<>();
    while (m.find()) {
      // each a value logback can use (checkLogVariables refuses the others)
      env.put(m.group(1), m.group(1).equals("FLIGHTDECK_LOG_FORMAT") ? "json" : "OFF");
    }
    assertTrue(env.containsKey("FLIGHTDECK_ACCESS_LOG_LEVEL"), "logback.xml reads it: " + env.keySet());
    assertEquals(List.of(), EnvOverrides.apply(shipped(), env));
  }

  @Test
  @DisplayName("the connection guards' defaults: h2c off, a 10 s head deadline, 64 MiB of bodies, 32 scrapers")
  void connectionGuardDefaults() {
    GatewayConfig c = load(Map.of());
    assertFalse(c.http().http2ClearText());
    assertEquals(10_000, c.http().headerReadTimeoutMs());
    assertEquals(64L << 20, c.http().maxBufferedBodyBytes());
    assertEquals(32, c.metrics().maxConnections());
    assertTrue(load("FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true").http().http2ClearText());
  }

  @Test
  @DisplayName("http.maxBufferedBodyBytes below ingest.maxBodyBytes is refused: the largest body could never be read")
  void bodyBudgetBelowOneBody() {
    ConfigException e = refused("FLIGHTDECK_INGEST_MAX_BODY_BYTES", "65536",
        "FLIGHTDECK_HTTP_MAX_BUFFERED_BODY_BYTES", "65535");
    assertNames("http.maxBufferedBodyBytes", e);
    assertTrue(e.getMessage().contains("ingest.maxBodyBytes (65536)"), e.getMessage());
    assertEquals(65536, load("FLIGHTDECK_INGEST_MAX_BODY_BYTES", "65536",
        "FLIGHTDECK_HTTP_MAX_BUFFERED_BODY_BYTES", "65536").http().maxBufferedBodyBytes());
  }

  @Test
  @DisplayName("metrics.port equal to http.port is refused, naming metrics.port: two servers would share the port")
  void metricsPortEqualToHttpPort() {
    ConfigException e = refused("FLIGHTDECK_HTTP_PORT", "9090", "FLIGHTDECK_METRICS_PORT", "9090");
    assertNames("metrics.port", e);
    assertTrue(e.getMessage().contains("must differ from http.port"), e.getMessage());
    assertNames("metrics.port", refused("FLIGHTDECK_METRICS_PORT", "8080"));
    assertEquals(9091, load("FLIGHTDECK_HTTP_PORT", "9090", "FLIGHTDECK_METRICS_PORT", "9091").metrics().port());
    assertEquals(0, load("FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_METRICS_PORT", "0").metrics().port(),
        "metrics.port 0 means the main port, whatever http.port is");
  }

  // --- every validation failure names its key ---

  @ParameterizedTest(name = "FLIGHTDECK_HTTP_PORT={0}")
  @CsvSource({"65536", "70000", "-1"})
  @DisplayName("a port outside 0-65535 is refused, naming http.port")
  void portOutOfRange(String port) {
    ConfigException e = refused("FLIGHTDECK_HTTP_PORT", port);
    assertNames("http.port", e);
    assertTrue(e.getMessage().contains("between 0 and 65535"), e.getMessage());
  }

  @Test
  @DisplayName("a whole number too large for 64 bits is refused as out of range, not read as its low 64 bits")
  void numberPastSixtyFourBits() {
    // 2^64 + 8080: in a file, or in the JSON of a list, it is a BigInteger, whose longValue() is 8080
    JsonObject file = shipped();
    file.getJsonObject("http").put("port", new BigInteger("18446744073709559696"));
    ConfigException e = refusedFile(file);
    assertNames("http.port", e);
    assertTrue(e.getMessage().contains("between 0 and 65535"), e.getMessage());
    String sites = "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\",\"allowedOrigins\":[\"*\"],"
        + "\"rateLimit\":{\"eventsPerSecond\":18446744073709553616}}]";
    assertNames("sites[0].rateLimit.eventsPerSecond", refused("FLIGHTDECK_SITES", sites));
  }

  @Test
  @DisplayName("ports 0 and 65535 are accepted")
  void portBounds() {
    assertEquals(0, load("FLIGHTDECK_HTTP_PORT", "0").http().port());
    assertEquals(65535, load("FLIGHTDECK_HTTP_PORT", "65535").http().port());
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({
      "FLIGHTDECK_HTTP_PORT, abc, http.port",
      "FLIGHTDECK_HTTP_PORT, 80.5, http.port",
      "FLIGHTDECK_DB_READ_POOL_SIZE, many, db.readPoolSize",
      "FLIGHTDECK_APPENDER_RETRY_DEADLINE_MS, 5s, appender.retryDeadlineMs"})
  @DisplayName("a value that is not a number is refused, naming the key and the variable")
  void nonNumeric(String variable, String value, String key) {
    ConfigException e = refused(variable, value);
    assertNames(key, e);
    assertTrue(e.getMessage().contains(variable) && e.getMessage().contains(value), e.getMessage());
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({"FLIGHTDECK_LIVE_RETRY_MS, 1.5", "FLIGHTDECK_HTTP_PORT, 8080.0", "FLIGHTDECK_DB_READ_POOL_SIZE, 1e3"})
  @DisplayName("a fraction from the environment is refused as not a whole number, not as not a number")
  void fractionFromEnvironment(String variable, String value) {
    ConfigException e = refused(variable, value);
    assertTrue(e.getMessage().contains("must be a whole number (from " + variable + ", got '" + value + "')"),
        e.getMessage());
  }

  @Test
  @DisplayName("a whole number from the environment too large for 64 bits is refused as out of range, as in the file")
  void overflowFromEnvironment() {
    ConfigException e = refused("FLIGHTDECK_HTTP_PORT", "99999999999999999999");
    assertNames("http.port", e);
    assertTrue(e.getMessage().contains("must be between 0 and 65535 (got 99999999999999999999)"), e.getMessage());
    assertTrue(refused("FLIGHTDECK_LIVE_RETRY_MS", "-99999999999999999999").getMessage()
        .contains("must be between 0 and 3600000"));
  }

  @Test
  @DisplayName("a list's variable holding a JSON object, or a section's holding a list, says which JSON it must be")
  void jsonOfTheWrongShape() {
    ConfigException sites = refused("FLIGHTDECK_SITES", REAL_SITES.substring(1, REAL_SITES.length() - 1));
    assertNames("sites", sites);
    assertTrue(sites.getMessage().contains("must be a JSON list ([...]), got an object"), sites.getMessage());
    assertFalse(sites.getMessage().contains("java.util"), sites.getMessage());
    ConfigException http = refused("FLIGHTDECK_HTTP", "[{\"port\":9090}]");
    assertNames("http", http);
    assertTrue(http.getMessage().contains("must be a JSON object ({...}), got a list"), http.getMessage());
  }

  @Test
  @DisplayName("a number written as text in the file is still checked, naming the key")
  void nonNumericInFile() {
    JsonObject file = shipped();
    file.getJsonObject("http").put("port", "eighty");
    assertNames("http.port", refusedFile(file));
  }

  @Test
  @DisplayName("a boolean that is not true or false is refused, naming the key")
  void badBoolean() {
    assertNames("http.trustProxyHeaders", refused("FLIGHTDECK_HTTP_TRUST_PROXY_HEADERS", "yes"));
  }

  @Test
  @DisplayName("behind a proxy the client is read from X-Forwarded-For, one hop from the right, unless set otherwise")
  void proxyHeaderAndHops() {
    GatewayConfig shipped = load(Map.of());
    assertEquals("X-Forwarded-For", shipped.http().proxyHeader());
    assertEquals(1, shipped.http().trustedProxyHops());
    GatewayConfig c = load("FLIGHTDECK_HTTP_PROXY_HEADER", "forwarded", "FLIGHTDECK_HTTP_TRUSTED_PROXY_HOPS", "10");
    assertEquals("Forwarded", c.http().proxyHeader());
    assertEquals(10, c.http().trustedProxyHops());
    JsonObject file = shipped();
    file.getJsonObject("http").remove("proxyHeader");
    file.getJsonObject("http").remove("trustedProxyHops");
    assertEquals(1, ConfigLoader.fromJson(file, Map.of()).http().trustedProxyHops(), "the default without the key");
  }

  @ParameterizedTest(name = "FLIGHTDECK_HTTP_TRUSTED_PROXY_HOPS={0}")
  @CsvSource({"0", "11", "-1", "two"})
  @DisplayName("a number of trusted proxy hops outside 1-10 is refused, naming http.trustedProxyHops")
  void badTrustedProxyHops(String hops) {
    assertNames("http.trustedProxyHops", refused("FLIGHTDECK_HTTP_TRUSTED_PROXY_HOPS", hops));
  }

  @Test
  @DisplayName("a proxy header other than X-Forwarded-For or Forwarded is refused, naming http.proxyHeader")
  void badProxyHeader() {
    ConfigException e = refused("FLIGHTDECK_HTTP_PROXY_HEADER", "X-Real-IP");
    assertNames("http.proxyHeader", e);
    assertTrue(e.getMessage().contains("X-Real-IP"), e.getMessage());
  }

  @Test
  @DisplayName("an env other than dev or production is refused, naming env")
  void badEnv() {
    ConfigException e = refused("FLIGHTDECK_ENV", "staging");
    assertNames("env", e);
    assertTrue(e.getMessage().contains("staging"), e.getMessage());
  }

  @Test
  @DisplayName("sites that are not JSON are refused, naming sites")
  void sitesNotJson() {
    assertNames("sites", refused("FLIGHTDECK_SITES", "shop=wk-shop-2b9e71c4"));
  }

  @Test
  @DisplayName("a section's variable that is not JSON is refused without quoting a secret it holds: the line goes to "
      + "stderr, and from there to every log store")
  void malformedSectionJsonHidesItsSecrets() {
    for (String[] bad : new String[][] {{"FLIGHTDECK_READ", "{\"token\": Zx9kQ2mPr7Lw44}"},
        {"FLIGHTDECK_ADMIN", "{\"token\": \"Ab3dEf6hIj9k\" Qr7sTu0vWx2y}"},
        {"FLIGHTDECK_SITES", "[{\"id\":\"shop\",\"writeKey\":Wk9shop2b9e71c4}]"}}) {
      ConfigException e = refused(bad[0], bad[1]);
      for (String secret : List.of("Zx9kQ2mPr7Lw44", "Ab3dEf6hIj9k", "Qr7sTu0vWx2y", "Wk9shop2b9e71c4")) {
        assertFalse(e.getMessage().contains(secret), e.getMessage());
      }
      assertTrue(e.getMessage().contains(bad[0]) && e.getMessage().contains("JSON"), e.getMessage());
    }
  }

  @Test
  @DisplayName("a log format or access log level logback cannot use is refused, naming its variable")
  void logbackVariablesAreChecked() {
    assertNames("FLIGHTDECK_LOG_FORMAT", refused("FLIGHTDECK_LOG_FORMAT", "jsonl"));
    assertNames("FLIGHTDECK_ACCESS_LOG_LEVEL", refused("FLIGHTDECK_ACCESS_LOG_LEVEL", "of"));
    assertDoesNotThrow(() -> load("FLIGHTDECK_LOG_FORMAT", "json", "FLIGHTDECK_ACCESS_LOG_LEVEL", "OFF"));
    assertDoesNotThrow(() -> load("FLIGHTDECK_LOG_FORMAT", "text", "FLIGHTDECK_ACCESS_LOG_LEVEL", "info"));
  }

  @Test
  @DisplayName("the shipped demo site allows custom event types of any name, each with at most 8 KiB of data")
  void shippedDemoAllowsAnyCustomType() {
    CustomEventsConfig custom = load(Map.of()).sites().get(0).customEvents();
    assertEquals(List.of("*"), custom.allowed());
    assertEquals(8192, custom.maxDataBytes());
    assertTrue(custom.allows("Order Completed"));
  }

  @Test
  @DisplayName("a key given twice in a variable's JSON is refused, naming the variable's key, as in the YAML file")
  void duplicateKeyInVariableJson() {
    ConfigException e = refused("FLIGHTDECK_SITES",
        "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\",\"writeKey\":\"wk-shop-other-91\"}]");
    assertNames("sites", e);
    assertTrue(e.getMessage().contains("writeKey") && e.getMessage().contains("FLIGHTDECK_SITES"), e.getMessage());
    assertNames("http", refused("FLIGHTDECK_HTTP", "{\"port\":1,\"port\":2}"));
  }

  @Test
  @DisplayName("a site's custom event types come from FLIGHTDECK_SITES; a site without them allows none")
  void customEventsFromTheEnvironment() {
    GatewayConfig c = load("FLIGHTDECK_SITES", """
        [{"id":"shop","writeKey":"wk-shop-2b9e71c4",
          "customEvents":{"allowed":["Order Completed","Signed Up"],"maxDataBytes":1024}},
         {"id":"blog","writeKey":"wk-blog-88d1e0aa"}]""");
    CustomEventsConfig shop = c.sites().get(0).customEvents();
    assertEquals(List.of("Order Completed", "Signed Up"), shop.allowed());
    assertEquals(1024, shop.maxDataBytes());
    assertTrue(shop.allows("Signed Up"));
    assertFalse(shop.allows("Signed Out"));
    CustomEventsConfig blog = c.sites().get(1).customEvents();
    assertEquals(List.of(), blog.allowed());
    assertFalse(blog.allows("Order Completed"));
    assertEquals(8192, blog.maxDataBytes());
  }

  @Test
  @DisplayName("a site's default custom data limit never exceeds ingest.maxDataBytes")
  void customDataLimitDefaultsWithinIngestLimit() {
    GatewayConfig c = load("FLIGHTDECK_INGEST_MAX_DATA_BYTES", "4096",
        "FLIGHTDECK_SITES", "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\",\"customEvents\":{\"allowed\":[\"*\"]}}]");
    assertEquals(4096, c.sites().get(0).customEvents().maxDataBytes());
  }

  @Test
  @DisplayName("lowering ingest.maxDataBytes below a site's custom data limit is refused with a line that names both")
  void customDataLimitAboveLoweredIngestLimit() {
    ConfigException e = refused("FLIGHTDECK_INGEST_MAX_DATA_BYTES", "4096");
    assertNames("sites[0].customEvents.maxDataBytes", e);
    assertTrue(e.getMessage().contains("at most ingest.maxDataBytes (4096)") && e.getMessage().contains("8192"),
        e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "\"customEvents\":[\"*\"] | sites[0].customEvents",
      "\"customEvents\":{\"allowed\":\"*\"} | sites[0].customEvents.allowed",
      "\"customEvents\":{\"allowed\":[\"\"]} | sites[0].customEvents.allowed",
      "\"customEvents\":{\"allowed\":[\"Order\\u0007Completed\"]} | sites[0].customEvents.allowed",
      "\"customEvents\":{\"allowed\":[7]} | sites[0].customEvents.allowed",
      "\"customEvents\":{\"maxDataBytes\":32769} | sites[0].customEvents.maxDataBytes",
      "\"customEvents\":{\"maxDataBytes\":10} | sites[0].customEvents.maxDataBytes",
      "\"customEvents\":{\"maxDataBytes\":\"lots\"} | sites[0].customEvents.maxDataBytes"})
  @DisplayName("bad custom event settings are refused, naming the key")
  void badCustomEvents(String setting, String key) {
    String sites = "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\"," + setting + "}]";
    assertNames(key, refused("FLIGHTDECK_SITES", sites));
  }

  @Test
  @DisplayName("a custom type named like a built-in type in another letter case, which ingest would refuse every "
      + "time as a typo, is refused at start; the built-in name itself is accepted")
  void customTypeNamedLikeBuiltInInAnotherCase() {
    String sites = "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\",\"customEvents\":{\"allowed\":[%s]}}]";
    for (String name : List.of("pageviewed", "PAGEVIEWED", "identified")) {
      ConfigException e = refused("FLIGHTDECK_SITES", sites.formatted("\"Order\",\"" + name + "\""));
      assertNames("sites[0].customEvents.allowed", e);
      assertTrue(e.getMessage().contains("'" + name + "'") && e.getMessage().contains("built-in"), e.getMessage());
    }
    GatewayConfig c = load("FLIGHTDECK_SITES", sites.formatted("\"PageViewed\",\"Order\""));
    assertEquals(List.of("PageViewed", "Order"), c.sites().get(0).customEvents().allowed());
  }

  @Test
  @DisplayName("a custom type name of 201 characters is refused, naming the site's customEvents.allowed")
  void customTypeNameTooLong() {
    JsonObject shop = site("shop", "wk-shop-2b9e71c4")
        .put("customEvents", new JsonObject().put("allowed", new JsonArray().add("e".repeat(201))));
    assertNames("sites[0].customEvents.allowed", refused("FLIGHTDECK_SITES", new JsonArray().add(shop).encode()));
    shop.getJsonObject("customEvents").put("allowed", new JsonArray().add("e".repeat(200)));
    assertEquals(List.of("e".repeat(200)),
        load("FLIGHTDECK_SITES", new JsonArray().add(shop).encode()).sites().get(0).customEvents().allowed());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"FLIGHTDECK_READ_TOKEN", "FLIGHTDECK_ADMIN_TOKEN", "FLIGHTDECK_METRICS_TOKEN"})
  @DisplayName("a write key equal to a token is refused, naming the site's writeKey: a write key never opens reads")
  void writeKeyEqualToAToken(String token) {
    String sites = new JsonArray().add(site("shop", "wk-shop-2b9e71c4")).add(site("blog", "same-as-a-token-77"))
        .encode();
    assertNames("sites[1].writeKey", refused("FLIGHTDECK_SITES", sites, token, "same-as-a-token-77"));
  }

  @Test
  @DisplayName("two sites with the same id are refused, naming the second one's id")
  void duplicateSiteIds() {
    ConfigException e = refused("FLIGHTDECK_SITES",
        new JsonArray().add(site("shop", "wk-shop-2b9e71c4")).add(site("shop", "wk-other-3c0f82d5")).encode());
    assertNames("sites[1].id", e);
    assertTrue(e.getMessage().contains("shop"), e.getMessage());
  }

  @Test
  @DisplayName("two sites with the same write key are refused, naming the second one's writeKey")
  void duplicateWriteKeys() {
    assertNames("sites[1].writeKey", refused("FLIGHTDECK_SITES",
        new JsonArray().add(site("shop", "wk-shop-2b9e71c4")).add(site("blog", "wk-shop-2b9e71c4")).encode()));
  }

  @Test
  @DisplayName("a write key shorter than 8 characters is refused, naming it")
  void shortWriteKey() {
    assertNames("sites[0].writeKey", refused("FLIGHTDECK_SITES", new JsonArray().add(site("shop", "short")).encode()));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"shop.example", "https://shop.example/path", "ftp://shop.example", "https://",
      // what no browser sends as Origin, so a site would refuse its own pages: a wildcard, a port out of range,
      // user info, a query or fragment, a host not in its ASCII (punycode) form
      "https://*.shop.example", "https://shop.example:99999", "https://shop.example:", "https://user@shop.example",
      "https://shop.example?x=1", "https://shop.example#top", "https://bücher.example", "https://shop..example",
      // addresses no browser can have: the URL parser refuses them, so such a page has no Origin to match
      "http://[:::1]", "http://[1:2:3:4:5:6:7:8:9]", "http://[1::2::3]", "http://[12345::]", "http://[::1.2.3.04]",
      "http://[.]", "http://256.0.0.1", "http://1.2.3.4.5", "http://shop.123", "http://08.0.0.1"})
  @DisplayName("an allowed origin that is not * or scheme://host[:port] is refused, naming allowedOrigins")
  void badOrigin(String origin) {
    JsonObject shop = site("shop", "wk-shop-2b9e71c4").put("allowedOrigins", new JsonArray().add(origin));
    ConfigException e = refused("FLIGHTDECK_SITES", new JsonArray().add(shop).encode());
    assertNames("sites[0].allowedOrigins", e);
    assertTrue(e.getMessage().contains(origin), e.getMessage());
  }

  @Test
  @DisplayName("a site with no allowed origin (none listed, or allowedOrigins left out) is taken, with a warning "
      + "naming it: every browser's post to it is refused with 403")
  void siteWithoutOriginsIsWarnedAbout() {
    JsonObject listed = site("shop", "wk-shop-2b9e71c4");
    JsonObject none = site("api", "wk-api-5c2d19e7").put("allowedOrigins", new JsonArray());
    JsonObject leftOut = new JsonObject().put("id", "backend").put("writeKey", "wk-backend-8a7f3e21");
    List<String> warnings = warningsOf(() -> {
      GatewayConfig c = load("FLIGHTDECK_SITES", new JsonArray().add(listed).add(none).add(leftOut).encode());
      assertEquals(List.of(), c.sites().get(2).allowedOrigins(), "taken: a site only servers post to");
    }).stream().filter(m -> m.contains("allowedOrigins")).toList();
    assertEquals(2, warnings.size(), String.valueOf(warnings));
    assertTrue(warnings.get(0).contains("sites[1].allowedOrigins") && warnings.get(0).contains("'api'"),
        warnings.get(0));
    assertTrue(warnings.get(0).contains("403"), warnings.get(0));
    assertTrue(warnings.get(1).contains("sites[2].allowedOrigins") && warnings.get(1).contains("'backend'"),
        warnings.get(1));
  }

  @Test
  @DisplayName("a site burst below ingest.maxBatchEvents is refused, naming the site's rateLimit.burst")
  void burstBelowBatch() {
    JsonObject shop = site("shop", "wk-shop-2b9e71c4")
        .put("rateLimit", new JsonObject().put("eventsPerSecond", 100).put("burst", 499));
    ConfigException e = refused("FLIGHTDECK_SITES", new JsonArray().add(shop).encode());
    assertNames("sites[0].rateLimit.burst", e);
    assertTrue(e.getMessage().contains("ingest.maxBatchEvents"), e.getMessage());
  }

  @Test
  @DisplayName("a site's burst is checked against the configured ingest.maxBatchEvents, not the default")
  void burstFollowsBatchSize() {
    assertEquals(40_000, load("FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "100").sites().get(0).burst());
    JsonObject file = shipped();
    file.getJsonObject("ingest").put("maxBatchEvents", 10_000);
    file.getJsonArray("sites").getJsonObject(0).getJsonObject("rateLimit").put("burst", 9_999);
    assertNames("sites[0].rateLimit.burst", refusedFile(file));
  }

  @Test
  @DisplayName("an admin token equal to the read token is refused, naming admin.token; a metrics token equal to "
      + "either, naming metrics.token (a scraper's token must open nothing else)")
  void adminEqualsRead() {
    assertNames("admin.token", refused("FLIGHTDECK_READ_TOKEN", REAL_READ, "FLIGHTDECK_ADMIN_TOKEN", REAL_READ));
    assertNames("metrics.token", refused("FLIGHTDECK_READ_TOKEN", REAL_READ, "FLIGHTDECK_METRICS_TOKEN", REAL_READ));
    assertNames("metrics.token", refused("FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN, "FLIGHTDECK_METRICS_TOKEN", REAL_ADMIN));
    assertEquals("metrics-0123456789", load("FLIGHTDECK_READ_TOKEN", REAL_READ, "FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN,
        "FLIGHTDECK_METRICS_TOKEN", "metrics-0123456789").metrics().token());
  }

  @Test
  @DisplayName("a token shorter than 12 characters is refused, naming it")
  void shortToken() {
    assertNames("read.token", refused("FLIGHTDECK_READ_TOKEN", "secret"));
    assertNames("admin.token", refused("FLIGHTDECK_ADMIN_TOKEN", "   "));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"FLIGHTDECK_READ_TOKEN, read.token", "FLIGHTDECK_ADMIN_TOKEN, admin.token",
      "FLIGHTDECK_METRICS_TOKEN, metrics.token"})
  @DisplayName("a token with a line break, surrounding spaces or a non-ASCII letter is refused, naming it: no client "
      + "could send it in a header, so every request would be refused")
  void unsendableToken(String variable, String key) {
    assertNames(key, refused(variable, "token-0123456789\n"));
    assertNames(key, refused(variable, " token-0123456789"));
    assertNames(key, refused(variable, "token-0123456789 "));
    assertNames(key, refused(variable, "t\u00f6ken-0123456789"));
    assertDoesNotThrow(() -> load(variable, "a token with inner spaces"), "inner spaces can be sent");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"FLIGHTDECK_READ_TOKEN, read.token", "FLIGHTDECK_ADMIN_TOKEN, admin.token",
      "FLIGHTDECK_METRICS_TOKEN, metrics.token"})
  @DisplayName("a token over 4096 characters is refused, naming it: with its header name it would not fit the 8 KiB "
      + "of request headers the server reads (431), so every request would be refused")
  void tokenTooLongToSend(String variable, String key) {
    assertNames(key, refused(variable, "t".repeat(4097)));
    assertDoesNotThrow(() -> load(variable, "t".repeat(4096)), "4096 characters fit a header");
  }

  @Test
  @DisplayName("a write key over 4096 characters is refused, naming it")
  void writeKeyTooLongToSend() {
    String sites = new JsonArray().add(site("shop", "w".repeat(4097))).encode();
    assertNames("sites[0].writeKey", refused("FLIGHTDECK_SITES", sites));
  }

  @Test
  @DisplayName("a write key with a line break, surrounding spaces or a non-ASCII letter is refused, naming it")
  void unsendableWriteKey() {
    for (String key : List.of("wk-shop-2b9e71c4\n", " wk-shop-2b9e71c4", "wk-sh\u00f6p-2b9e71c4")) {
      String sites = new JsonArray().add(site("shop", key)).encode();
      assertNames("sites[0].writeKey", refused("FLIGHTDECK_SITES", sites));
    }
  }

  @Test
  @DisplayName("a configuration error is one line even when the refused value holds a line break")
  void errorIsOneLine() {
    ConfigException e = refused("FLIGHTDECK_ENV", "production\n");
    assertNames("env", e);
    assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
    assertTrue(e.getMessage().contains("production\\n"), "the break is shown escaped: " + e.getMessage());
  }

  @Test
  @DisplayName("a site without rateLimit gets the limit gateway.yaml states: 2000 events/s, a burst of 2000")
  void siteWithoutRateLimit() {
    SiteConfig shop = load("FLIGHTDECK_SITES", REAL_SITES).sites().get(0);
    assertEquals(2000, shop.eventsPerSecond());
    assertEquals(2000, shop.burst());
    assertEquals(3000, load("FLIGHTDECK_SITES", REAL_SITES, "FLIGHTDECK_INGEST_MAX_BATCH_EVENTS", "1500").sites()
        .get(0).burst(), "2 x ingest.maxBatchEvents when that is larger");
  }

  @Test
  @DisplayName("a SIGTERM wait for in-flight requests that leaves the drain no time to stop the appender in the 10 s "
      + "the contract allows is refused, naming http.shutdownTimeoutMs")
  void shutdownWaitWithinTheStop() {
    ConfigException e = refused("FLIGHTDECK_HTTP_SHUTDOWN_TIMEOUT_MS", "7001");
    assertNames("http.shutdownTimeoutMs", e);
    assertTrue(e.getMessage().contains("7000"), e.getMessage());
    assertEquals(7000, load("FLIGHTDECK_HTTP_SHUTDOWN_TIMEOUT_MS", "7000").http().shutdownTimeoutMs());
    for (String tooLong : new String[] {"60000", "60001", "99999999999"}) {
      // one limit, stated once: "between 0 and 60000" for 60001 sent the operator to 60000, refused in turn
      ConfigException beyond = refused("FLIGHTDECK_HTTP_SHUTDOWN_TIMEOUT_MS", tooLong);
      assertTrue(beyond.getMessage().contains("must be between 0 and 7000 (got " + tooLong + "): the whole stop"),
          beyond.getMessage());
    }
    assertTrue(refused("FLIGHTDECK_HTTP_SHUTDOWN_TIMEOUT_MS", "-1").getMessage().contains("between 0 and 7000"));
  }

  @Test
  @DisplayName("an append back-off ceiling below its start is refused, naming appender.retryMaxDelayMs")
  void appenderBackoffCeiling() {
    assertNames("appender.retryMaxDelayMs", refused("FLIGHTDECK_APPENDER_RETRY_MAX_DELAY_MS", "10"));
    assertEquals(25, load("FLIGHTDECK_APPENDER_RETRY_MAX_DELAY_MS", "25").appender().retryMaxDelayMs());
  }

  @ParameterizedTest(name = "{0} = ''{1}''")
  @CsvSource(delimiter = '|', value = {"FLIGHTDECK_HTTP_HOST|''|http.host",
      "FLIGHTDECK_HTTP_HOST|' 127.0.0.1'|http.host", "FLIGHTDECK_HTTP_HOST|not a host|http.host",
      "FLIGHTDECK_HTTP_HOST|-bad.example|http.host",
      "FLIGHTDECK_METRICS_HOST|''|metrics.host", "FLIGHTDECK_METRICS_HOST|0.0.0.0:9100|metrics.host"})
  @DisplayName("an interface that is no IP address or host name is refused, naming http.host or metrics.host")
  void badHost(String variable, String value, String key) {
    assertNames(key, refused(variable, value));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"127.0.0.1", "::", "::1", "localhost", "gateway-1.internal", "0.0.0.0"})
  @DisplayName("an IP address (v4 or v6) or a host name is taken as the interface to bind")
  void goodHost(String host) {
    assertEquals(host, load("FLIGHTDECK_HTTP_HOST", host).http().host());
    assertEquals(host, load("FLIGHTDECK_METRICS_HOST", host).metrics().host());
  }

  @Test
  @DisplayName("an append queue smaller than one full batch is refused, naming appender.maxQueuedEvents")
  void queueBelowBatch() {
    ConfigException e = refused("FLIGHTDECK_APPENDER_MAX_QUEUED_EVENTS", "499");
    assertNames("appender.maxQueuedEvents", e);
    assertTrue(e.getMessage().contains("ingest.maxBatchEvents"), e.getMessage());
    assertEquals(500, load("FLIGHTDECK_APPENDER_MAX_QUEUED_EVENTS", "500").appender().maxQueuedEvents());
  }

  @Test
  @DisplayName("the projections section loads its documented defaults and refuses a back-off ceiling below its start")
  void projections() {
    ProjectionsConfig p = load().projections();
    assertEquals(new ProjectionsConfig(true, 5000, 5000, 1000, 60, 1, 2000, 5, 100, 5000, 100_000), p);
    assertEquals(100, p.backoffMs(1));
    assertEquals(200, p.backoffMs(2));
    assertEquals(5000, p.backoffMs(10), "capped");
    assertEquals(5000, p.backoffMs(500), "no overflow");
    assertFalse(load("FLIGHTDECK_PROJECTIONS_ENABLED", "false").projections().enabled());
    assertNames("projections.retryMaxDelayMs", refused("FLIGHTDECK_PROJECTIONS_RETRY_MAX_DELAY_MS", "50"));
    assertNames("projections.batchSize", refused("FLIGHTDECK_PROJECTIONS_BATCH_SIZE", "0"));
    assertNames("projections.scanPositions", refused("FLIGHTDECK_PROJECTIONS_SCAN_POSITIONS", "0"));
    assertEquals(20, load("FLIGHTDECK_PROJECTIONS_SCAN_POSITIONS", "20").projections().scanPositions());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"mysql://root@127.0.0.1:3306/flightdeck", "127.0.0.1:5432/flightdeck", "jdbc:postgresql://h/db",
      "postgresql://host:notaport/db"})
  @DisplayName("a database URL that is not postgresql:// is refused, naming db.url")
  void badDbUrl(String url) {
    assertNames("db.url", refused("FLIGHTDECK_DB_URL", url));
  }

  @Test
  @DisplayName("a read waits for a pooled connection db.connectionWaitMs, whatever the connect timeout, and never "
      + "less than the connect timeout")
  void readPoolWaitIsItsOwn() {
    assertEquals(5000, load("FLIGHTDECK_DB_CONNECT_TIMEOUT_MS", "100").db()
        .readPoolOptions(8, 512, "r").getConnectionTimeout());
    assertEquals(1500, load("FLIGHTDECK_DB_CONNECT_TIMEOUT_MS", "100", "FLIGHTDECK_DB_CONNECTION_WAIT_MS", "1500")
        .db().readPoolOptions(8, 512, "r").getConnectionTimeout());
    assertEquals(20_000, load("FLIGHTDECK_DB_CONNECT_TIMEOUT_MS", "20000").db()
        .readPoolOptions(8, 512, "r").getConnectionTimeout());
    assertNames("db.connectionWaitMs", refused("FLIGHTDECK_DB_CONNECTION_WAIT_MS", "100"));
  }

  @Test
  @DisplayName("a malformed database URL is refused, naming db.url, without its password")
  void badDbUrlHidesPassword() {
    ConfigException e = refused("FLIGHTDECK_DB_URL",
        "postgresql://postgres:S3cretPassw0rd@127.0.0.1:5432/x?sslmode=bogus");
    assertNames("db.url", e);
    assertFalse(e.getMessage().contains("S3cretPassw0rd"), e.getMessage());
    assertTrue(e.getMessage().contains("postgresql://postgres:***@127.0.0.1:5432/x?sslmode=bogus"), e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "postgresql://postgres@127.0.0.1:5432/flightdeck | postgresql://postgres@127.0.0.1:5432/flightdeck",
      "postgresql://127.0.0.1:5432/flightdeck?sslmode=require | postgresql://127.0.0.1:5432/flightdeck?sslmode=require",
      "postgresql://app:secret@db.internal:6543/events | postgresql://app:***@db.internal:6543/events",
      "postgres://app:p@ss:w/rd@db.internal/events | postgres://app:***@db.internal/events",
      "postgresql://app:@db.internal/events | postgresql://app:***@db.internal/events",
      "not a url | not a url"})
  @DisplayName("a database URL is shown with its password masked and the rest as given")
  void dbUrlRedacted(String url, String shown) {
    assertEquals(shown, DbConfig.redacted(url));
  }

  @Test
  @DisplayName("an empty database URL is refused, naming db.url")
  void emptyDbUrl() {
    assertNames("db.url", refused("FLIGHTDECK_DB_URL", ""));
  }

  @Test
  @DisplayName("a section written as a plain value is refused, naming it")
  void sectionNotAMap() {
    JsonObject file = shipped().put("db", "postgresql://postgres@127.0.0.1:5432/flightdeck");
    assertNames("db", refusedFile(file));
  }

  // --- production and demo secrets ---

  static Stream<Arguments> eachDemoSecret() {
    return Stream.of(
        Arguments.of("read.token", Map.of("FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN, "FLIGHTDECK_SITES", REAL_SITES)),
        Arguments.of("admin.token", Map.of("FLIGHTDECK_READ_TOKEN", REAL_READ, "FLIGHTDECK_SITES", REAL_SITES)),
        Arguments.of("sites[0].writeKey", Map.of("FLIGHTDECK_READ_TOKEN", REAL_READ, "FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("eachDemoSecret")
  @DisplayName("production refuses each demo secret on its own, naming it")
  void productionRefusesEachDemoSecret(String key, Map<String, String> realOthers) {
    Map<String, String> env = new HashMap<>(realOthers);
    env.put("FLIGHTDECK_ENV", "production");
    ConfigException e = assertThrows(ConfigException.class, () -> load(env));
    assertNames(key, e);
    assertTrue(e.getMessage().contains("production"), e.getMessage());
    env.remove("FLIGHTDECK_ENV");
    assertEquals(List.of(key), load(env).demoSecrets(), "dev accepts it and reports it for the warning");
  }

  @Test
  @DisplayName("a demo write key on a later site is refused in production too")
  void productionRefusesDemoWriteKeyOnAnySite() {
    ConfigException e = refused("FLIGHTDECK_ENV", "production", "FLIGHTDECK_READ_TOKEN", REAL_READ,
        "FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN, "FLIGHTDECK_SITES",
        new JsonArray().add(site("shop", "wk-shop-2b9e71c4")).add(site("demo", "demo-write-key")).encode());
    assertNames("sites[1].writeKey", e);
  }

  @Test
  @DisplayName("production with real secrets loads and reports no demo secret")
  void productionWithRealSecrets() {
    GatewayConfig c = load("FLIGHTDECK_ENV", "production", "FLIGHTDECK_READ_TOKEN", REAL_READ,
        "FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN, "FLIGHTDECK_SITES", REAL_SITES);
    assertTrue(c.production());
    assertEquals(List.of(), c.demoSecrets());
    assertEquals(REAL_READ, c.readToken());
    assertEquals(REAL_ADMIN, c.adminToken());
  }
}
