package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.BodyDeadline;
import io.flightdeck.gateway.api.ConnectionLimit;
import io.flightdeck.gateway.api.FailureHandler;
import io.flightdeck.gateway.api.QueryParams;
import io.flightdeck.gateway.config.HttpConfig;
import io.flightdeck.gateway.config.MetricsConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.concurrent.TimeUnit;

/**
 * The management port: {@code GET /metrics} alone, when {@code metrics.port} is not 0; its connections capped
 * ({@code metrics.maxConnections}) and timed out like the main port's: idle, request-head and body deadlines.
 */
public final class MetricsVerticle extends VerticleBase {

  private final MetricsConfig config;
  private final HttpConfig http;
  private final MetricsEndpoint endpoint;
  private final ConnectionLimit connections;
  private int port;

  /** {@code http}: the main port's idle timeout and request-head deadline apply here too. */
  public MetricsVerticle(MetricsConfig config, HttpConfig http, MetricsEndpoint endpoint, GatewayMetrics metrics) {
    this.config = config;
    this.http = http;
    this.endpoint = endpoint;
    this.connections = new ConnectionLimit(config.maxConnections(), http.headerReadTimeoutMs(), metrics);
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route().handler(BodyDeadline.withoutBodies(vertx, http.bodyReadTimeoutMs()));
    router.route().handler(QueryParams::requireDecodable);
    endpoint.route(router);
    FailureHandler failures = FailureHandler.forRoutes(GatewayMetrics.none(), router);
    router.route().failureHandler(failures);
    // as on the main port: every refusal carries the contract's JSON error body (vertx-web's own 400 and 405 have
    // none, or a plain-text one), a 405 with the methods /metrics answers in Allow
    router.errorHandler(400, failures.withStatus(400));
    router.errorHandler(404, failures);
    router.errorHandler(405, failures);
    router.errorHandler(500, failures);
    HttpServerOptions options = new HttpServerOptions()
        .setIdleTimeout(http.idleTimeoutSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setHttp2ClearTextEnabled(false);
    return vertx.createHttpServer(options)
        .connectionHandler(connection -> connections.accept(connection, options))
        .invalidRequestHandler(FailureHandler::invalidRequest)
        .requestHandler(router)
        .listen(config.port(), config.host())
        .onSuccess(server -> port = server.actualPort());
  }

  public int port() {
    return port;
  }
}
