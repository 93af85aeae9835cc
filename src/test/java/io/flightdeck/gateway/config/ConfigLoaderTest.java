package io.flightdeck.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}
