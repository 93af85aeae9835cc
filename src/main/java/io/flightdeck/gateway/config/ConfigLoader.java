package io.flightdeck.gateway.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.config.yaml.YamlProcessor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Loads the configuration in three layers: the shipped {@code conf/gateway.yaml} (bundled in the jar, so every key
 * has a default and therefore an environment variable; read with vertx-config), the operator's file
 * ({@code FLIGHTDECK_CONFIG}, else {@code conf/gateway.yaml} when the working directory has one) merged over it,
 * then {@code FLIGHTDECK_*} variables. Without either file the bundled defaults are the whole file layer, so the
 * jar runs from any directory. Each file is read once: the operator's is checked and taken from the same bytes.
 */
public final class ConfigLoader {

  private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);
  public static final String DEFAULT_PATH = "conf/gateway.yaml";
  /** Names the operator's file; when set, the file must exist. */
  public static final String CONFIG_VARIABLE = "FLIGHTDECK_CONFIG";
  /** The shipped file inside the jar; vert.x resolves a relative path missing on disk from the classpath. */
  static final String DEFAULTS_RESOURCE = "flightdeck/gateway.yaml";

  private ConfigLoader() {
  }

  /**
   * The operator's file: {@code FLIGHTDECK_CONFIG} when set, else {@code conf/gateway.yaml} when it exists; empty
   * when neither is there, and the bundled defaults are all there is.
   *
   * @throws ConfigException when {@code FLIGHTDECK_CONFIG} names no file: an operator who names a file means it
   */
  public static Optional<Path> configPath(Map<String, String> env) {
    String named = env.get(CONFIG_VARIABLE);
    if (named != null) {
      Path path = Path.of(named);
      if (!Files.isRegularFile(path)) {
        throw new ConfigException(CONFIG_VARIABLE, "no config file at " + path.toAbsolutePath());
      }
      return Optional.of(path);
    }
    Path path = Path.of(DEFAULT_PATH);
    return Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
  }

  public static Future<GatewayConfig> load(Vertx vertx, Map<String, String> env) {
    Optional<Path> file;
    try {
      file = configPath(env);
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    String source = file.map(Path::toString).orElse(DEFAULTS_RESOURCE);
    Future<JsonObject> own = file.isPresent() ? readOperatorFile(vertx, file.get())
        : Future.succeededFuture(new JsonObject());
    return own.compose(operator -> retrieveDefaults(vertx)
            .map(defaults -> new Layers(layered(defaults, file, operator), defaults)))
        .recover(e -> Future.failedFuture(e instanceof ConfigException ? e : unreadable(source, e)))
        .map(layers -> fromJson(layers.merged(), env, layers.defaults()))
        .compose(config -> vertx.executeBlocking(() -> checkBindable(config)));
  }

  /** What only the machine can tell: that the interfaces to listen on resolve and are this machine's. */
  private static GatewayConfig checkBindable(GatewayConfig config) {
    BindHost.checkBindable("http.host", config.http().host());
    if (config.metrics().port() != 0) {
      // with port 0, /metrics is served on the main port and metrics.host is not used
      BindHost.checkBindable("metrics.host", config.metrics().host());
    }
    return config;
  }

  /** The bundled defaults, read once; vert.x resolves the relative path from the classpath. */
  private static Future<JsonObject> retrieveDefaults(Vertx vertx) {
    ConfigRetriever retriever = ConfigRetriever.create(vertx, new ConfigRetrieverOptions()
        .addStore(yamlFile(DEFAULTS_RESOURCE)).setIncludeDefaultStores(false).setScanPeriod(-1));
    return retriever.getConfig().eventually(retriever::close);
  }

  /**
   * The operator's file over the bundled defaults, merged as vertx-config merges its stores (sections deeply, a list
   * or value replaced); a file without keys is left out. Logs which, once.
   */
  private static JsonObject layered(JsonObject defaults, Optional<Path> file, JsonObject operator) {
    if (file.isEmpty()) {
      LOG.info("configuration: the bundled defaults ({} in the jar); no {} in {} and {} is not set",
          DEFAULTS_RESOURCE, DEFAULT_PATH, Path.of("").toAbsolutePath(), CONFIG_VARIABLE);
      return defaults;
    }
    if (operator.isEmpty()) {
      LOG.info("configuration: the bundled defaults; {} sets no key", file.get().toAbsolutePath());
      return defaults;
    }
    LOG.info("configuration: {} over the bundled defaults", file.get().toAbsolutePath());
    // merged into a copy: the defaults themselves fill what the operator's file gives no value
    return withDefaultsForEmpty(defaults.copy().mergeIn(operator, true), defaults);
  }

  /**
   * Keys of the operator's file given no value ({@code metrics:} with every line below it commented out) take the
   * bundled default again, a list an empty one. vertx-config's merge puts that null over the bundled section, and
   * the environment is applied to the keys the merged file has: {@code FLIGHTDECK_METRICS_TOKEN} and every other
   * variable of such a section were then ignored as "matching no key", and FLIGHTDECK_SITES was not read as JSON.
   */
  static JsonObject withDefaultsForEmpty(JsonObject merged, JsonObject defaults) {
    for (String field : defaults.fieldNames()) {
      Object fallback = defaults.getValue(field);
      Object value = merged.getValue(field);
      if (value == null) {
        // a list given no value stays empty, as before (sites: with no site under it serves reads only)
        merged.put(field, fallback instanceof JsonArray ? new JsonArray() : fallback);
      } else if (value instanceof JsonObject section && fallback instanceof JsonObject sectionDefaults) {
        withDefaultsForEmpty(section, sectionDefaults);
      }
    }
    return merged;
  }

  /**
   * The operator's file, read once, off the event loop; empty when it has no keys. It was read a
   * second time by vertx-config after this check, so a file changed between the two reads (an editor saving, a
   * deploy rewriting it) started on content no check had seen, a key given twice included.
   *
   * <p>SnakeYAML as vertx-config sets it up keeps the last of two equal keys in a mapping without a word, so an
   * operator who adds a second {@code sites:} or {@code port:} below the first would run on one of them unawares:
   * here duplicate keys are refused, and such a file stops start-up like any YAML error, naming the key and both
   * places. Otherwise the file is vertx-config's to read ({@link YamlProcessor}), from the same bytes. A file
   * that is YAML but not a map of sections (a list, a lone value) is named as such; vertx-config would only say
   * "Failed to decode YAML". One with nothing but comments is a YAML document of nothing, over which vertx-config's
   * merge failed with a NullPointerException ('Cannot read field "map"'), so it is left out like an empty file.
   * Numbers YAML 1.1 reads other than they look (octal, base 60) and an alias inside its own anchor are refused
   * first ({@link YamlChecks}).
   */
  private static Future<JsonObject> readOperatorFile(Vertx vertx, Path file) {
    return vertx.executeBlocking(() -> {
      byte[] bytes = Files.readAllBytes(file);
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      // decoded as vertx-config decodes it: a byte that is not UTF-8 reads as U+FFFD, as it always did
      String text = new String(bytes, StandardCharsets.UTF_8);
      Yaml yaml = new Yaml(new SafeConstructor(options));
      YamlChecks.check(yaml.compose(new StringReader(text)), file.toString());
      Object document = yaml.load(text);
      if (document != null && !(document instanceof Map)) {
        String what = document instanceof List ? "a list" : "a single value";
        throw new ConfigException(file.toString(), "must be a map of sections (http:, db:, sites: ...), not " + what);
      }
      return document == null || ((Map<?, ?>) document).isEmpty() ? null : Buffer.buffer(bytes);
    }).compose(checked -> checked == null ? Future.succeededFuture(new JsonObject())
        // the same bytes, turned into JSON by vertx-config's own YAML processor: the file means what it always meant
        : new YamlProcessor().process(vertx, new JsonObject(), checked));
  }

  /**
   * Why {@code source} could not be read: a file the process may not open is said to be so (it was reported as
   * "cannot be read as YAML:" and the file's name, as if its content were wrong), anything else as not YAML.
   */
  static ConfigException unreadable(String source, Throwable failure) {
    if (failure instanceof AccessDeniedException) {
      return new ConfigException(source, "cannot be read: permission denied (the gateway runs as "
          + System.getProperty("user.name") + ")");
    }
    if (failure instanceof IOException io) {
      return new ConfigException(source, "cannot be read: " + io);
    }
    return new ConfigException(source, "cannot be read as YAML: " + yamlProblem(failure));
  }

  /**
   * One line for a file that is not YAML. SnakeYAML's message spans five lines (the context, a line of the file
   * quoted with a caret under the column, the problem, a second quote), and the contract allows one line: this
   * keeps the context and the problem, each with its line and column.
   */
  static String yamlProblem(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof MarkedYAMLException yaml && yaml.getProblem() != null) {
        String problem = yaml.getProblem() + at(yaml.getProblemMark());
        return yaml.getContext() == null ? problem : yaml.getContext() + at(yaml.getContextMark()) + ": " + problem;
      }
    }
    return failure.getMessage() == null ? failure.toString() : ConfigException.firstLine(failure.getMessage());
  }

  private static String at(Mark mark) {
    // SnakeYAML counts from 0; its own message, like an editor, from 1
    return mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
  }

  private static ConfigStoreOptions yamlFile(String path) {
    return new ConfigStoreOptions().setType("file").setFormat("yaml").setConfig(new JsonObject().put("path", path));
  }

  /**
   * Applies the environment to an already loaded file and validates the result. A variable that matches no key, and
   * a key in the file that the gateway does not read (misspelt, or of another version: refusing it would stop a
   * rollback), are reported with a warning each and otherwise ignored.
   */
  public static GatewayConfig fromJson(JsonObject fileConfig, Map<String, String> env) {
    return fromJson(fileConfig, env, null);
  }

  /**
   * The same; {@code defaults}, the bundled file, names the keys the gateway does not read when a bad value stops the
   * reading: those were only reported after a successful read, so "heartbeatSecond: 5" went unmentioned while the
   * 15 s default it left was refused as above the idle timeout.
   */
  static GatewayConfig fromJson(JsonObject fileConfig, Map<String, String> env, JsonObject defaults) {
    JsonObject merged = fileConfig.copy();
    for (String variable : EnvOverrides.unknown(merged, env)) {
      // before the values are parsed: named also when one of them stops start-up
      LOG.warn("environment variable {} matches no configuration key; it is ignored", variable);
    }
    Section root = new Section(merged, "");
    GatewayConfig config;
    try {
      EnvOverrides.apply(merged, env);
      config = GatewayConfig.from(root);
    } catch (ConfigException e) {
      if (defaults != null) {
        warnUnread(Section.absentFrom(merged, defaults));
      }
      throw e;
    }
    warnUnread(root.unread());
    warnBrowserless(config.sites());
    return config;
  }

  /** The file's and the operator file's JSON, merged, and the bundled one alone. */
  private record Layers(JsonObject merged, JsonObject defaults) {
  }

  private static void warnUnread(List<String> keys) {
    for (String key : keys) {
      LOG.warn("configuration key {} is not one the gateway reads; it is ignored ({})", key, key.contains("\"")
          ? "a dot in a key's name does not nest: write each part on its own line, indented" : "misspelt?");
    }
  }

  /**
   * A site with no allowed origin is taken (one that only servers post to, which send no Origin), but a browser's
   * every post to it is refused: FLIGHTDECK_SITES written without allowedOrigins, or with it misspelt, gave a site
   * whose snippet failed with 403 on every page while nothing at start said why.
   */
  private static void warnBrowserless(List<SiteConfig> sites) {
    for (int i = 0; i < sites.size(); i++) {
      if (sites.get(i).allowedOrigins().isEmpty()) {
        LOG.warn("sites[{}].allowedOrigins: site '{}' allows no browser origin, so every post from a page (the "
            + "snippet) is refused with 403 origin_not_allowed; only clients that send no Origin (servers, SDKs) can "
            + "post. List its pages' origins, or \"*\"", i, sites.get(i).id());
      }
    }
  }
}
