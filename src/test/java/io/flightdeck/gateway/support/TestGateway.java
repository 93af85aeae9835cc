package io.flightdeck.gateway.support;

import io.flightdeck.gateway.Gateway;
import io.flightdeck.gateway.config.ConfigLoader;
import io.flightdeck.gateway.config.GatewayConfig;
import io.flightdeck.gateway.metrics.MeteredVertx;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real gateway started in this JVM from {@code conf/gateway.yaml}, on a free port, against a test database.
 * Overrides are given as the {@code FLIGHTDECK_*} environment variables an operator would set.
 */
public final class TestGateway implements AutoCloseable {

  public static final String WRITE_KEY = "demo-write-key";
  public static final String READ_TOKEN = "demo-read-token";
  public static final String ADMIN_TOKEN = "demo-admin-token";

  private final Vertx vertx;
  private final Gateway gateway;
  private final GatewayConfig config;
  private final HttpTestClient http;
  private final PrometheusMeterRegistry registry;

  private TestGateway(Vertx vertx, PrometheusMeterRegistry registry, Gateway gateway, GatewayConfig config) {
    this.vertx = vertx;
    this.registry = registry;
    this.gateway = gateway;
    this.config = config;
    this.http = new HttpTestClient("http://127.0.0.1:" + gateway.port());
  }

  /** A port free at the moment of asking, for a second listener (the management port) the test names itself. */
  public static int freePort() throws IOException {
    try (ServerSocket free = new ServerSocket(0)) {
      return free.getLocalPort();
    }
  }

  public static TestGateway start(TestDatabase db) {
    return start(db, Map.of());
  }

  /**
   * {@code FLIGHTDECK_SITES} for the shipped demo site that also names {@code customTypes}: on POST /v1/events (and
   * so the snippet's track) a custom type must be named, the demo's "*" covering Segment track names only.
   */
  public static String demoSiteNaming(String... customTypes) {
    JsonArray allowed = new JsonArray().add("*");
    for (String type : customTypes) {
      allowed.add(type);
    }
    return new JsonArray().add(new JsonObject().put("id", "demo")
        .put("writeKey", WRITE_KEY).put("allowedOrigins", new JsonArray().add("*"))
        .put("rateLimit", new JsonObject().put("eventsPerSecond", 20000).put("burst", 40000))
        .put("customEvents", new JsonObject().put("allowed", allowed))).encode();
  }

  public static TestGateway start(TestDatabase db, Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>();
    env.put("FLIGHTDECK_DB_URL", db.url());
    env.put("FLIGHTDECK_HTTP_PORT", "0");
    env.put("FLIGHTDECK_HTTP_INSTANCES", "2");
    env.putAll(overrides);
    MeteredVertx metered = MeteredVertx.create();
    Vertx vertx = metered.vertx();
    try {
      GatewayConfig config = ConfigLoader.load(vertx, env).toCompletionStage().toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      Gateway gateway = Gateway.start(vertx, metered.registry(), config).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
      return new TestGateway(vertx, metered.registry(), gateway, config);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("gateway did not start: " + e.getMessage(), e);
    }
  }

  public HttpTestClient http() {
    return http;
  }

  public int port() {
    return gateway.port();
  }

  public GatewayConfig config() {
    return config;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** What GET /metrics renders. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Graceful stop, as on SIGTERM; answers once in-flight appends are done. */
  public void stop(Duration timeout) throws Exception {
    gateway.stop().toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() throws Exception {
    try {
      stop(Duration.ofSeconds(15));
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
  }
}
