package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.BearerAuth;
import io.flightdeck.gateway.config.MetricsConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.micrometer.PrometheusScrapingHandler;

/** {@code GET /metrics} in the Prometheus text format, behind the metrics token when one is configured. */
public final class MetricsEndpoint {

  private MetricsEndpoint() {
  }

  /** Adds {@code GET /metrics} to {@code router}. */
  public static void route(Router router, MetricsConfig config, PrometheusMeterRegistry registry) {
    Route route = router.get("/metrics");
    if (config.protectedByToken()) {
      route.handler(new BearerAuth(config.token()));
    }
    route.handler(PrometheusScrapingHandler.create(registry));
  }
}
