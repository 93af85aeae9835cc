package io.flightdeck.gateway.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the configuration with vertx-config in three layers: the shipped {@code conf/gateway.yaml} (bundled in
 * the jar, so every key has a default and therefore an environment variable), the operator's file
 * ({@code conf/gateway.yaml} or {@code FLIGHTDECK_CONFIG}) merged over it, then {@code FLIGHTDECK_*} variables.
 */
public final class ConfigLoader {

  private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);
  public static final String DEFAULT_PATH = "conf/gateway.yaml";
  /** The shipped file inside the jar; vert.x resolves a relative path missing on disk from the classpath. */
  static final String DEFAULTS_RESOURCE = "flightdeck/gateway.yaml";

  private ConfigLoader() {
  }

  /** The file to read: {@code FLIGHTDECK_CONFIG} when set, else {@code conf/gateway.yaml}. */
  public static Path configPath(Map<String, String> env) {
    return Path.of(env.getOrDefault("FLIGHTDECK_CONFIG", DEFAULT_PATH));
  }

  public static Future<GatewayConfig> load(Vertx vertx, Map<String, String> env) {
    Path path = configPath(env);
    if (!Files.isRegularFile(path)) {
      return Future.failedFuture(new ConfigException("FLIGHTDECK_CONFIG", "no config file at " + path.toAbsolutePath()));
    }
    ConfigRetrieverOptions options = new ConfigRetrieverOptions()
        .addStore(yamlFile(DEFAULTS_RESOURCE))
        .addStore(yamlFile(path.toString()))
        .setIncludeDefaultStores(false)
        .setScanPeriod(-1);
    ConfigRetriever retriever = ConfigRetriever.create(vertx, options);
    return retriever.getConfig()
        .recover(e -> Future.failedFuture(new ConfigException(path.toString(), "cannot be read as YAML: " + e.getMessage())))
        .eventually(retriever::close)
        .map(json -> fromJson(json, env));
  }

  private static ConfigStoreOptions yamlFile(String path) {
    return new ConfigStoreOptions().setType("file").setFormat("yaml").setConfig(new JsonObject().put("path", path));
  }

  /** Applies the environment to an already loaded file and validates the result. */
  public static GatewayConfig fromJson(JsonObject fileConfig, Map<String, String> env) {
    JsonObject merged = fileConfig.copy();
    List<String> unknown = EnvOverrides.apply(merged, env);
    for (String variable : unknown) {
      LOG.warn("environment variable {} matches no configuration key; it is ignored", variable);
    }
    return GatewayConfig.from(merged);
  }
}
