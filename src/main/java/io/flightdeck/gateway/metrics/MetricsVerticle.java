package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.FailureHandler;
import io.flightdeck.gateway.config.MetricsConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.ext.web.Router;

/** The management port: {@code GET /metrics} alone, when {@code metrics.port} is not 0. */
public final class MetricsVerticle extends VerticleBase {

  private final MetricsConfig config;
  private final PrometheusMeterRegistry registry;
  private int port;

  public MetricsVerticle(MetricsConfig config, PrometheusMeterRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    MetricsEndpoint.route(router, config, registry);
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
