package io.flightdeck.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close();
  }

  private GatewayConfig load(Map<String, String> env) throws Exception {
    return ConfigLoader.load(vertx, env).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("a trimmed config file keeps every shipped default, and every key stays overridable from the environment")
  void trimmedFileKeepsDefaults(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("mine.yaml");
    Files.writeString(file, "db:\n  readPoolSize: 3\n");
    GatewayConfig config = load(Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_HTTP_PORT", "9090"));
    assertEquals(3, config.db().readPoolSize(), "the operator's value");
    assertEquals(9090, config.http().port(), "a key absent from the operator's file is still overridable");
    assertEquals(500, config.ingest().maxBatchEvents(), "a shipped default");
    assertEquals("demo", config.sites().get(0).id(), "the shipped demo site");
  }

  @Test
  @DisplayName("a section of the operator's file with every key commented out keeps the shipped defaults, and its "
      + "keys stay overridable from the environment")
  void emptySectionKeepsDefaultsAndVariables(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("commented.yaml");
    Files.writeString(file, """
        http:
          # port: 9090
        metrics:
        sites:
        """);
    GatewayConfig config = load(Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_HTTP_PORT", "9191",
        "FLIGHTDECK_METRICS_TOKEN", "metrics-token-0123456789"));
    assertEquals(9191, config.http().port(), "FLIGHTDECK_HTTP_PORT applies");
    assertEquals(60, config.http().idleTimeoutSeconds(), "a shipped default");
    assertEquals("metrics-token-0123456789", config.metrics().token(), "FLIGHTDECK_METRICS_TOKEN applies");
    assertEquals(List.of(), config.sites(), "a list given no value is empty, as before: not the demo site");
    GatewayConfig sites = load(Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_SITES",
        "[{\"id\":\"shop\",\"writeKey\":\"shop-write-key-123\",\"allowedOrigins\":[\"*\"]}]"));
    assertEquals("shop", sites.sites().get(0).id(), "FLIGHTDECK_SITES applies to a list given no value");
  }

  @Test
  @DisplayName("an operator's file with nothing but comments runs on the shipped defaults, like an empty one")
  void commentsOnlyFileIsEmpty(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("commented-out.yaml");
    Files.writeString(file, "# http:\n#   port: 9090\n");
    GatewayConfig config = load(Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_HTTP_PORT", "9191"));
    assertEquals(9191, config.http().port());
    assertEquals("demo", config.sites().get(0).id(), "the shipped demo site");
  }

  @Test
  @DisplayName("an operator's file replaces lists such as sites instead of merging into them")
  void listsAreReplaced(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("mine.yaml");
    Files.writeString(file, """
        sites:
          - id: shop
            writeKey: shop-write-key-123
            allowedOrigins: ["https://shop.example"]
        """);
    GatewayConfig config = load(Map.of("FLIGHTDECK_CONFIG", file.toString()));
    assertEquals(1, config.sites().size());
    assertEquals("shop", config.sites().get(0).id());
  }

  @Test
  @DisplayName("a config file that is not YAML stops start-up with a message naming the file")
  void brokenYamlIsNamed(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("broken.yaml");
    Files.writeString(file, "http: [unclosed\n");
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> load(Map.of("FLIGHTDECK_CONFIG", file.toString())));
    assertTrue(e.getCause() instanceof ConfigException, String.valueOf(e.getCause()));
    assertTrue(e.getCause().getMessage().startsWith(file.toString()), e.getCause().getMessage());
  }

  @Test
  @DisplayName("a config file the gateway may not read is named with 'permission denied', not as a file that is not "
      + "YAML")
  void unreadableFileSaysWhy() {
    String named = ConfigLoader.unreadable("conf/gateway.yaml", new AccessDeniedException("conf/gateway.yaml"))
        .getMessage();
    assertEquals("conf/gateway.yaml: cannot be read: permission denied (the gateway runs as "
        + System.getProperty("user.name") + ")", named);
  }

  @Test
  @DisplayName("a config file without read permission for the gateway's user stops start-up saying so")
  void unreadableFileStopsStartUp(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("secret.yaml");
    Files.writeString(file, "http:\n  port: 9090\n");
    Files.setPosixFilePermissions(file, Set.of());
    assumeFalse(Files.isReadable(file), "root reads any file: the rest needs another user");
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> load(Map.of("FLIGHTDECK_CONFIG", file.toString())));
    assertEquals(file + ": cannot be read: permission denied (the gateway runs as " + System.getProperty("user.name")
        + ")", e.getCause().getMessage());
  }

  @Test
  @DisplayName("a YAML syntax error is one line naming the file and the line and column of the problem")
  void yamlSyntaxErrorIsOneLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad1.yaml");
    Files.writeString(file, "http:\n  port: [1\n");
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> load(Map.of("FLIGHTDECK_CONFIG", file.toString())));
    String message = e.getCause().getMessage();
    assertTrue(e.getCause() instanceof ConfigException, String.valueOf(e.getCause()));
    assertTrue(message.startsWith(file + ": cannot be read as YAML: "), message);
    assertFalse(message.contains("\n") || message.contains("\r"), "one line: " + message);
    assertTrue(message.contains("line 2, column 9"), "where the flow sequence starts: " + message);
    assertTrue(message.contains("expected ',' or ']'"), "what is wrong: " + message);
  }

  @Test
  @DisplayName("an alias inside its own anchor (a list that holds itself) stops start-up with one line naming the file "
      + "and the key, not a StackOverflowError")
  void recursiveAliasIsNamed(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("loop.yaml");
    Files.writeString(file, "http:\n  port: 9090\nsites: &s\n  - *s\n");
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> load(Map.of("FLIGHTDECK_CONFIG", file.toString())));
    assertTrue(e.getCause() instanceof ConfigException, String.valueOf(e.getCause()));
    String message = e.getCause().getMessage();
    assertTrue(message.startsWith(file + ": cannot be read as YAML: "), message);
    assertTrue(message.contains("sites[0] refers to its own anchor &s"), message);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"live:\n  heartbeatSeconds: 010\n|live.heartbeatSeconds|octal number 8",
      "http:\n  idleTimeoutSeconds: -0100\n|http.idleTimeoutSeconds|octal number -64",
      "live:\n  retryMs: 1:30\n|live.retryMs|base-60 number 90",
      "sites:\n  - id: shop\n    writeKey: wk-shop-2b9e71c4\n    rateLimit: {eventsPerSecond: 0700}\n"
          + "|sites[0].rateLimit.eventsPerSecond|octal number 448"})
  @DisplayName("a number YAML 1.1 reads other than it looks (010 as octal 8, 1:30 as 90) stops start-up naming the key,"
      + " instead of running on a value nobody wrote")
  void numbersReadOtherThanWritten(String testCase, @TempDir Path dir) throws Exception {
    String[] parts = testCase.split("\\|");
    Path file = dir.resolve("numbers.yaml");
    Files.writeString(file, parts[0]);
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> load(Map.of("FLIGHTDECK_CONFIG", file.toString())));
    assertTrue(e.getCause() instanceof ConfigException, String.valueOf(e.getCause()));
    assertEquals(parts[1], ((ConfigException) e.getCause()).key(), e.getCause().getMessage());
    assertTrue(e.getCause().getMessage().contains(parts[2]), e.getCause().getMessage());
  }

  @Test
  @DisplayName("numbers YAML reads as written stay accepted: 0, 10.0, 0x10, 1_000, and a quoted '010' checked as text")
  void plainNumbersStayAccepted(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("plain.yaml");
    Files.writeString(file, "http:\n  instances: 0\n  idleTimeoutSeconds: 1_000\n  trustedProxyHops: 0x2\n"
        + "live:\n  heartbeatSeconds: 10.0\n  retryMs: '010'\n");
    GatewayConfig config = load(Map.of("FLIGHTDECK_CONFIG", file.toString()));
    assertEquals(1000, config.http().idleTimeoutSeconds());
    assertEquals(2, config.http().trustedProxyHops());
    assertEquals(10, config.live().heartbeatSeconds());
    assertEquals(10, config.live().retryMs(), "a quoted number is text, and text is read as decimal");
  }

  @Test
  @DisplayName("a misspelt key is still named in a warning when another value stops start-up, often the one the "
      + "misspelt key meant to set (heartbeatSecond: 5 leaves the 15 s default, above a 10 s idle timeout)")
  void misspeltKeyNamedWhenStartUpStops(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("typo.yaml");
    Files.writeString(file, "http:\n  idleTimeoutSeconds: 10\nlive:\n  heartbeatSecond: 5\n"
        + "sites:\n  - id: shop\n    writeKey: wk-shop-2b9e71c4\n    alowedOrigins: ['*']\n"
        + "    rateLimit: {eventsPerSecond: 10, brust: 20}\n");
    List<String> named = new ArrayList<>();
    ConfigException e = refusedNaming(named, Map.of("FLIGHTDECK_CONFIG", file.toString(),
        "FLIGHTDECK_HTTP", "{\"idleTimeoutSeconds\": 10, \"idleTimeoutMilis\": 1}"));
    assertEquals("live.heartbeatSeconds", e.key(), e.getMessage());
    assertEquals(List.of("http.idleTimeoutMilis", "live.heartbeatSecond", "sites[0].alowedOrigins",
        "sites[0].rateLimit.brust"), named);
    named.clear();
    e = refusedNaming(named, Map.of("FLIGHTDECK_CONFIG", file.toString(), "FLIGHTDECK_METRICS_PORT", "abc"));
    assertEquals("metrics.port", e.key(), "a variable's value stopped it: " + e.getMessage());
    assertEquals(List.of("live.heartbeatSecond", "sites[0].alowedOrigins", "sites[0].rateLimit.brust"), named);
  }

  /** The refusal of loading with {@code env}; the keys its warnings name as not read are added to {@code named}. */
  private ConfigException refusedNaming(List<String> named, Map<String, String> env) {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ConfigLoader.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    Level quietInTests = logger.getLevel(); // logback-test.xml keeps ConfigLoader's warnings out of the test output
    logger.setLevel(Level.WARN);
    try {
      ExecutionException e = assertThrows(ExecutionException.class, () -> load(env));
      logged.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.startsWith("configuration key "))
          .map(m -> m.split(" ")[2]).forEach(named::add);
      return (ConfigException) e.getCause();
    } finally {
      logger.setLevel(quietInTests);
      logger.detachAppender(logged);
    }
  }

  @Test
  @DisplayName("the operator's file is read once: what start-up checked (no key given twice) is what it runs on, "
      + "even when the file changes right after that read")
  void operatorFileIsReadOnce(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("changing.yaml");
    Files.writeString(file, "http:\n  port: 9090\n");
    // One worker thread and one internal blocking thread (where Vert.x reads files), each held by a task of this
    // test, so the order is fixed without timing: the loader's first blocking task (its read of the file) runs once
    // the worker is let go; the task queued behind it changes the file, a key given twice, and only then lets the
    // file system go. A loader that read the file again would see the change; the shipped defaults are read then.
    Vertx pools = Vertx.vertx(new VertxOptions().setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
    try {
      CountDownLatch worker = new CountDownLatch(1);
      CountDownLatch fileSystem = new CountDownLatch(1);
      ((VertxInternal) pools).getOrCreateContext().executeBlockingInternal(() -> awaited(fileSystem));
      pools.executeBlocking(() -> awaited(worker));
      Future<GatewayConfig> loaded = ConfigLoader.load(pools, Map.of("FLIGHTDECK_CONFIG", file.toString()));
      pools.executeBlocking(() -> {
        Files.writeString(file, "http:\n  port: 9191\n  port: 9292\n");
        fileSystem.countDown();
        return null;
      });
      worker.countDown();

      GatewayConfig config = loaded.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(9090, config.http().port(), "the file as it was read, and checked");
    } finally {
      pools.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** Holds a pool's thread until {@code latch} opens (at most 10 s, so a broken order fails instead of hanging). */
  private static Void awaited(CountDownLatch latch) throws InterruptedException {
    assertTrue(latch.await(10, TimeUnit.SECONDS), "the pool was let go");
    return null;
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"conf/gateway.yaml", "db:\n  readPoolSize: 3\nhttp: {port: 9191, host: 127.0.0.1}\n",
      "base: &base\n  eventsPerSecond: 50\n  burst: 800\nsites:\n  - id: shop\n    writeKey: shop-write-key-123\n"
          + "    allowedOrigins: ['*']\n    rateLimit:\n      <<: *base\n      burst: 900\n",
      "http:\n  port: 9292\nlater: 2026-12-07T10:00:00Z\nmetrics:\n  token: ~\n", "{}\n", ""})
  @DisplayName("the operator's file over the bundled defaults gives the configuration vertx-config's merge of the two "
      + "files gave")
  void sameAsVertxConfigsMerge(String content, @TempDir Path dir) throws Exception {
    Path file = dir.resolve("operator.yaml");
    Files.writeString(file, content.equals(ConfigLoader.DEFAULT_PATH)
        ? Files.readString(Path.of(ConfigLoader.DEFAULT_PATH)) : content);
    Map<String, String> env = Map.of("FLIGHTDECK_CONFIG", file.toString());
    ConfigRetriever retriever = ConfigRetriever.create(vertx, new ConfigRetrieverOptions().setIncludeDefaultStores(false)
        .addStore(yaml(ConfigLoader.DEFAULTS_RESOURCE)).addStore(yaml(file.toString())));
    JsonObject merged = retriever.getConfig().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    retriever.close();

    assertEquals(ConfigLoader.fromJson(merged, env), load(env));
  }

  private static ConfigStoreOptions yaml(String path) {
    return new ConfigStoreOptions().setType("file").setFormat("yaml").setConfig(new JsonObject().put("path", path));
  }
}
