package io.flightdeck.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** What an operator sees when starting the real program with a good or a bad configuration. */
@ExtendWith(PostgresExtension.class)
class ConfigProcessIT {

  /** Words of the warning for a production gateway serving /metrics on its public port to anyone. */
  static final String OPEN_METRICS = "/metrics is served on the main port without a token";

  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);
  private static final String CONFIG_ERROR = "flightdeck: configuration error: ";
  private static final String REAL_READ_TOKEN = "read-7f3a9c2e41b8d6";
  private static final String REAL_ADMIN_TOKEN = "admin-5e1d8b0a93c4f7";
  private static final String REAL_SITES =
      "[{\"id\":\"shop\",\"writeKey\":\"wk-shop-2b9e71c4\",\"allowedOrigins\":[\"https://shop.example\"]}]";

  /** Runs the gateway with a configuration it must refuse; answers the single stderr line after checking exit 2. */
  private static String refusedWith(Map<String, String> env) {
    try (GatewayProcess gateway = GatewayProcess.start(env)) {
      assertEquals(2, gateway.waitFor(EXIT_TIMEOUT), gateway.describe());
      List<String> lines = gateway.stderrLines();
      assertEquals(1, lines.size(), "exactly one line on stderr\n" + gateway.describe());
      assertTrue(lines.get(0).startsWith(CONFIG_ERROR), lines.get(0));
      assertFalse(gateway.stdout().contains("gateway listening"), gateway.describe());
      return lines.get(0).substring(CONFIG_ERROR.length());
    }
  }

  private static void assertNamesKey(String key, String line) {
    assertTrue(line.startsWith(key + ": "), "the line starts with the key " + key + ": " + line);
    assertTrue(line.length() > key.length() + 2, "the line says what is wrong: " + line);
  }

  @Test
  @DisplayName("a port that is not a number stops start-up with exit code 2 and one line naming http.port")
  void nonNumericPort() {
    String line = refusedWith(Map.of("FLIGHTDECK_HTTP_PORT", "abc"));
    assertNamesKey("http.port", line);
    assertTrue(line.contains("FLIGHTDECK_HTTP_PORT") && line.contains("abc"), line);
  }

  @Test
  @DisplayName("production with the shipped demo secrets refuses to start, naming read.token")
  void productionRefusesDemoSecrets() {
    String line = refusedWith(Map.of("FLIGHTDECK_ENV", "production"));
    assertNamesKey("read.token", line);
  }

  @Test
  @DisplayName("production with real tokens but the demo write key refuses to start, naming sites[0].writeKey")
  void productionRefusesDemoWriteKey() {
    String line = refusedWith(Map.of(
        "FLIGHTDECK_ENV", "production",
        "FLIGHTDECK_READ_TOKEN", REAL_READ_TOKEN,
        "FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN_TOKEN));
    assertNamesKey("sites[0].writeKey", line);
  }

  @Test
  @DisplayName("production with real secrets starts, serves, logs no demo warning and stops with exit code 0")
  void productionWithRealSecretsStarts(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(productionEnv(db))) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      assertTrue(port > 0);
      assertFalse(gateway.stdout().contains("DEMO SECRETS"), gateway.describe());
      assertTrue(gateway.stdout().lines().anyMatch(l -> l.contains("WARN") && l.contains(OPEN_METRICS)),
          "production serving /metrics on the public port without a token is warned of\n" + gateway.describe());
      assertEquals(List.of(), gateway.stderrLines(), "nothing on stderr");
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(EXIT_TIMEOUT), gateway.describe());
    }
  }

  /** Production with real secrets against {@code db}, on a free port: a gateway that starts. */
  private static Map<String, String> productionEnv(TestDatabase db) {
    Map<String, String> env = new HashMap<>();
    env.put("FLIGHTDECK_ENV", "production");
    env.put("FLIGHTDECK_READ_TOKEN", REAL_READ_TOKEN);
    env.put("FLIGHTDECK_ADMIN_TOKEN", REAL_ADMIN_TOKEN);
    env.put("FLIGHTDECK_SITES", REAL_SITES);
    env.put("FLIGHTDECK_DB_URL", db.url());
    env.put("FLIGHTDECK_HTTP_PORT", "0");
    return env;
  }

  @Test
  @DisplayName("production with a metrics token (or a management port) gives no open-metrics warning")
  void productionWithMetricsTokenIsQuiet(TestDatabase db) {
    Map<String, String> env = productionEnv(db);
    env.put("FLIGHTDECK_METRICS_TOKEN", "scrape-token-8c1f4e2a");
    try (GatewayProcess gateway = GatewayProcess.start(env)) {
      gateway.awaitPort(Duration.ofSeconds(60));
      assertFalse(gateway.stdout().contains(OPEN_METRICS), gateway.describe());
    }
  }

  @Test
  @DisplayName("the shipped dev configuration starts but warns loudly that demo secrets are in use")
  void devWarnsAboutDemoSecrets(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(Map.of(
        "FLIGHTDECK_DB_URL", db.url(), "FLIGHTDECK_HTTP_PORT", "0"))) {
      gateway.awaitPort(Duration.ofSeconds(60));
      String warning = gateway.stdout().lines().filter(l -> l.contains("DEMO SECRETS IN USE")).findFirst()
          .orElseThrow(() -> new AssertionError("no demo secrets warning\n" + gateway.describe()));
      assertTrue(warning.contains("WARN"), warning);
      assertTrue(warning.contains("read.token") && warning.contains("admin.token")
          && warning.contains("sites[0].writeKey"), warning);
    }
  }

  @Test
  @DisplayName("a write key with a colon starts without a warning about it: the Segment API takes it as Segment "
      + "libraries send it, base64(writeKey + \":\") as the Basic credentials (SegmentApiIT.writeKeyWithColons)")
  void writeKeyWithColonStartsQuietly(TestDatabase db) {
    String sites = "[{\"id\":\"shop\",\"writeKey\":\"wk:shop-2b9e71c4\"}]";
    try (GatewayProcess gateway = GatewayProcess.start(Map.of(
        "FLIGHTDECK_DB_URL", db.url(), "FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_SITES", sites))) {
      gateway.awaitPort(Duration.ofSeconds(60));
      assertEquals(List.of(), gateway.stdout().lines().filter(l -> l.contains("sites[0].writeKey")).toList(),
          gateway.describe());
    }
  }

  @Test
  @DisplayName("with no sites the gateway starts and serves reads, warns that it takes no events, and refuses them")
  void noSitesWarnsAndRefusesEvents(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(Map.of(
        "FLIGHTDECK_DB_URL", db.url(), "FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_SITES", "[]"))) {
      HttpTestClient http = gateway.client();
      String warning = gateway.stdout().lines().filter(l -> l.contains("no sites are configured")).findFirst()
          .orElseThrow(() -> new AssertionError("no warning about the missing sites\n" + gateway.describe()));
      assertTrue(warning.contains("WARN"), warning);
      assertEquals(401, http.postEvents(HttpTestClient.pageView("v1", "/anywhere")).status());
      assertEquals(200, http.send(http.request("/v1/events?after=0").header("Authorization",
          "Bearer demo-read-token").GET()).status(), "reads are served");
    }
  }

  @Test
  @DisplayName("started in a directory without conf/, the gateway runs on the bundled defaults, says so and is ready")
  void runsWithoutConfDirectory(@TempDir Path dir, TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.startIn(dir, Map.of(
        "FLIGHTDECK_DB_URL", db.url(), "FLIGHTDECK_HTTP_PORT", "0"))) {
      HttpTestClient http = gateway.client();
      Awaitility.await("ready").atMost(Duration.ofSeconds(30))
          .until(() -> http.send(http.request("/health/ready").GET()).status() == 200);
      String line = gateway.stdout().lines().filter(l -> l.contains("configuration: ")).findFirst()
          .orElseThrow(() -> new AssertionError("no line saying which configuration\n" + gateway.describe()));
      assertTrue(line.contains("INFO") && line.contains("the bundled defaults"), line);
      assertEquals(200, http.postEvents(HttpTestClient.pageView("v1", "/anywhere")).status(),
          "the bundled demo site takes events");
      assertEquals(List.of(), gateway.stderrLines(), "nothing on stderr");
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(EXIT_TIMEOUT), gateway.describe());
    }
  }

  @Test
  @DisplayName("FLIGHTDECK_CONFIG naming a missing file stops start-up with exit code 2 and names the file")
  void missingConfigFile(@TempDir Path dir) {
    Path missing = dir.resolve("nowhere.yaml");
    String line = refusedWith(Map.of("FLIGHTDECK_CONFIG", missing.toString()));
    assertNamesKey("FLIGHTDECK_CONFIG", line);
    assertTrue(line.contains(missing.toString()), line);
  }

  @Test
  @DisplayName("FLIGHTDECK_CONFIG makes the gateway read that file instead of conf/gateway.yaml")
  void otherConfigFileIsRead(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("other.yaml"), """
        http:
          port: 70000
        db:
          url: postgresql://postgres@127.0.0.1:5432/flightdeck
        read:
          token: other-read-token
        admin:
          token: other-admin-token
        """);
    String line = refusedWith(Map.of("FLIGHTDECK_CONFIG", file.toString()));
    assertNamesKey("http.port", line);
    assertTrue(line.contains("70000"), line);
  }

  @Test
  @DisplayName("a key in the operator's file that the gateway does not read is named in a warning, and start-up goes on")
  void unreadKeyIsWarnedAbout(@TempDir Path dir, TestDatabase db) throws IOException {
    Path file = Files.writeString(dir.resolve("typo.yaml"), """
        http:
          prot: 9090
        """);
    try (GatewayProcess gateway = GatewayProcess.start(Map.of("FLIGHTDECK_CONFIG", file.toString(),
        "FLIGHTDECK_DB_URL", db.url(), "FLIGHTDECK_HTTP_PORT", "0"))) {
      gateway.awaitPort(Duration.ofSeconds(60));
      String warning = gateway.stdout().lines().filter(l -> l.contains("http.prot")).findFirst()
          .orElseThrow(() -> new AssertionError("no warning naming http.prot\n" + gateway.describe()));
      assertTrue(warning.contains("WARN") && warning.contains("ignored"), warning);
    }
  }

  @Test
  @DisplayName("a log format other than text or json stops start-up with exit code 2 and one line naming "
      + "FLIGHTDECK_LOG_FORMAT, instead of a gateway that runs without writing a single log line")
  void unknownLogFormat(TestDatabase db) {
    String line = refusedWith(Map.of("FLIGHTDECK_LOG_FORMAT", "JSON", "FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0"));
    assertNamesKey("FLIGHTDECK_LOG_FORMAT", line);
    assertTrue(line.contains("'JSON'") && line.contains("json"), line);
  }

  @Test
  @DisplayName("a value ending in a line break (a secret file's last line) is refused on one line, not split in two")
  void lineBreakInValueIsOneLine() {
    String line = refusedWith(Map.of("FLIGHTDECK_ENV", "production\n"));
    assertNamesKey("env", line);
    assertTrue(line.contains("production\\n"), line);
  }

  @Test
  @DisplayName("an http.host that does not resolve stops start-up with exit code 2 naming http.host, before the store")
  void unresolvableHost(TestDatabase db) {
    String line = refusedWith(Map.of("FLIGHTDECK_HTTP_HOST", "no-such-host.invalid", "FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0"));
    assertNamesKey("http.host", line);
    assertTrue(line.contains("no-such-host.invalid"), line);
  }

  @Test
  @DisplayName("a metrics.host that is not an address of this machine (a documentation address here) stops start-up "
      + "with exit code 2 naming it")
  void foreignMetricsHost(TestDatabase db) {
    String line = refusedWith(Map.of("FLIGHTDECK_METRICS_HOST", "192.0.2.1", "FLIGHTDECK_METRICS_PORT", "19417",
        "FLIGHTDECK_DB_URL", db.url(), "FLIGHTDECK_HTTP_PORT", "0"));
    assertNamesKey("metrics.host", line);
  }

  @Test
  @DisplayName("metrics.port equal to http.port stops start-up with exit code 2 and one line naming metrics.port")
  void metricsPortOnHttpPort() {
    String line = refusedWith(Map.of("FLIGHTDECK_HTTP_PORT", "18080", "FLIGHTDECK_METRICS_PORT", "18080"));
    assertNamesKey("metrics.port", line);
    assertTrue(line.contains("must differ from http.port"), line);
  }

  @Test
  @DisplayName("a malformed database URL stops start-up with exit code 2 and one line naming db.url, not its password")
  void malformedDbUrlHidesPassword() {
    String line = refusedWith(Map.of(
        "FLIGHTDECK_DB_URL", "postgresql://postgres:S3cretPassw0rd@127.0.0.1:5432/x?sslmode=bogus"));
    assertNamesKey("db.url", line);
    assertFalse(line.contains("S3cretPassw0rd"), line);
  }

  @Test
  @DisplayName("db.url with sslmode=verify-full and a CA file that is not there stops start-up with exit code 2 and "
      + "one line naming db.url and the file, not the password")
  void missingCaFileIsAConfigError(@TempDir Path dir) {
    Path missing = dir.resolve("no-such-ca.pem");
    String line = refusedWith(Map.of("FLIGHTDECK_DB_URL",
        "postgresql://postgres:S3cretPassw0rd@127.0.0.1:5432/x?sslmode=verify-full&sslrootcert=" + missing));
    assertNamesKey("db.url", line);
    assertTrue(line.contains(missing.toString()), line);
    assertFalse(line.contains("S3cretPassw0rd"), line);
  }

  @Test
  @DisplayName("a YAML syntax error stops start-up with exit code 2 and one line naming the file, line and column")
  void yamlSyntaxErrorIsOneLine(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("bad1.yaml"), "http:\n  port: [1\n");
    String line = refusedWith(Map.of("FLIGHTDECK_CONFIG", file.toString()));
    assertNamesKey(file.toString(), line);
    assertTrue(line.contains("line 2, column 9"), line);
  }

  @Test
  @DisplayName("a key given twice in the YAML file stops start-up with exit code 2 and one line naming the key, "
      + "instead of the last one silently winning")
  void duplicateYamlKeyIsRefused(@TempDir Path dir, TestDatabase db) throws IOException {
    Path file = Files.writeString(dir.resolve("twice.yaml"), """
        http:
          port: 0
          port: 0
        """);
    String line = refusedWith(Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_DB_URL", db.url()));
    assertNamesKey(file.toString(), line);
    assertTrue(line.contains("duplicate key port") && line.contains("line 3, column 3"), line);
  }

  @Test
  @DisplayName("a YAML file that is a list, not a map of sections, stops start-up with one line saying so, not "
      + "'Failed to decode YAML'")
  void yamlListIsRefusedClearly(@TempDir Path dir, TestDatabase db) throws IOException {
    Path file = Files.writeString(dir.resolve("list.yaml"), "- http:\n    port: 0\n");
    String line = refusedWith(Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_DB_URL", db.url()));
    assertNamesKey(file.toString(), line);
    assertTrue(line.contains("must be a map of sections") && line.contains("a list"), line);
  }

  @Test
  @DisplayName("an http.port or metrics.port another process holds stops start-up with exit code 1 and a line naming "
      + "the key and the port, not only 'Address already in use'")
  void portInUseIsNamed(TestDatabase db) throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"))) {
      String port = String.valueOf(taken.getLocalPort());
      for (Map<String, String> env : List.of(Map.of("FLIGHTDECK_HTTP_PORT", port),
          Map.of("FLIGHTDECK_HTTP_PORT", "0", "FLIGHTDECK_METRICS_PORT", port))) {
        Map<String, String> all = new HashMap<>(env);
        all.put("FLIGHTDECK_DB_URL", db.url());
        String key = env.containsKey("FLIGHTDECK_METRICS_PORT") ? "metrics.port" : "http.port";
        try (GatewayProcess gateway = GatewayProcess.start(all)) {
          assertEquals(1, gateway.waitFor(EXIT_TIMEOUT), gateway.describe());
          List<String> lines = gateway.stderrLines();
          assertEquals(1, lines.size(), "one line on stderr\n" + gateway.describe());
          assertTrue(lines.get(0).contains(key + " " + port), lines.get(0));
        }
      }
    }
  }

  @Test
  @DisplayName("db.createDatabase false with a database that does not exist stops start-up with exit code 1 and one "
      + "line naming the database, not Flyway's whole report")
  void missingDatabaseWithoutCreate(TestDatabase db) {
    String database = db.name() + "_absent";
    String url = db.urlFor(database);
    try (GatewayProcess gateway = GatewayProcess.start(Map.of("FLIGHTDECK_DB_URL", url,
        "FLIGHTDECK_DB_CREATE_DATABASE", "false", "FLIGHTDECK_HTTP_PORT", "0"))) {
      assertEquals(1, gateway.waitFor(EXIT_TIMEOUT), gateway.describe());
      List<String> lines = gateway.stderrLines();
      assertEquals(1, lines.size(), "one line on stderr\n" + gateway.describe());
      assertTrue(lines.get(0).contains("database \"" + database + "\" does not exist"), lines.get(0));
      assertTrue(lines.get(0).contains("db.createDatabase is false"), "says what to change: " + lines.get(0));
      assertFalse(lines.get(0).contains("\\n") || lines.get(0).contains("SQL State"),
          "the first line only: " + lines.get(0));
    }
  }

  @Test
  @DisplayName("an unreachable database stops start-up with exit code 1 and a message saying so")
  void unreachableDatabase() {
    try (GatewayProcess gateway = GatewayProcess.start(Map.of(
        "FLIGHTDECK_DB_URL", "postgresql://postgres@127.0.0.1:1/x",
        "FLIGHTDECK_DB_STARTUP_TIMEOUT_SECONDS", "1",
        "FLIGHTDECK_HTTP_PORT", "0"))) {
      assertEquals(1, gateway.waitFor(EXIT_TIMEOUT), gateway.describe());
      List<String> lines = gateway.stderrLines();
      assertEquals(1, lines.size(), "one line on stderr\n" + gateway.describe());
      assertTrue(lines.get(0).startsWith("flightdeck: failed to start: "), lines.get(0));
      assertTrue(lines.get(0).contains("127.0.0.1:1"), "the message names the server: " + lines.get(0));
      assertFalse(gateway.stdout().contains("gateway listening"), gateway.describe());
    }
  }
}
