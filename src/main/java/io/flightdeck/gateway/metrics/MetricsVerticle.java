package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.FailureHandler;
import io.flightdeck.gateway.config.MetricsConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.ext.web.Router;

/** The management port: {@code GET /metrics} alone, when {@code metrics.port} is not 0. */
public final class MetricsVerticle extends VerticleBase {

  private final MetricsConfig config;
  private final MetricsEndpoint endpoint;
  private int port;

  public MetricsVerticle(MetricsConfig config, MetricsEndpoint endpoint) {
    this.config = config;
    this.endpoint = endpoint;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    endpoint.route(router);
    FailureHandler failures = new FailureHandler(GatewayMetrics.none());
    router.route().failureHandler(failures);
    router.errorHandler(404, failures);
    return vertx.createHttpServer().requestHandler(router).listen(config.port(), config.host())
        .onSuccess(server -> port = server.actualPort());
  }

  public int port() {
    return port;
  }
}
