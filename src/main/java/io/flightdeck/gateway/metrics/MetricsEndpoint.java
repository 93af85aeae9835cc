package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.BearerAuth;
import io.flightdeck.gateway.config.MetricsConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.PrometheusScrapingHandler;

/** {@code GET /metrics} in the Prometheus text format, behind the metrics token when one is configured. */
public final class MetricsEndpoint {

  private MetricsEndpoint() {
  }

  /** The handlers to chain on the route, in order. */
  @SuppressWarnings("unchecked")
  public static Handler<RoutingContext>[] handlers(MetricsConfig config, PrometheusMeterRegistry registry) {
    Handler<RoutingContext> scrape = PrometheusScrapingHandler.create(registry);
    if (!config.protectedByToken()) {
      return new Handler[] {scrape};
    }
    return new Handler[] {new BearerAuth(config.token()), scrape};
  }
}
