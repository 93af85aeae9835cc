package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.BearerAuth;
import io.flightdeck.gateway.config.MetricsConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.util.List;
import java.util.Set;

/**
 * {@code GET /metrics} in the Prometheus text format, behind the metrics token when one is configured.
 * {@code ?name[]=a&name[]=b} answers only those metric families (the Prometheus client libraries' convention):
 * a tool that follows one histogram scrapes it without rendering every meter on the event loop.
 */
public final class MetricsEndpoint {

  /** The Prometheus text format, as Vert.x's scraping handler answers it. */
  static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

  private MetricsEndpoint() {
  }

  /** Adds {@code GET /metrics} to {@code router}. */
  public static void route(Router router, MetricsConfig config, PrometheusMeterRegistry registry) {
    Route route = router.get("/metrics");
    if (config.protectedByToken()) {
      route.handler(new BearerAuth(config.token()));
    }
    Handler<RoutingContext> everything = PrometheusScrapingHandler.create(registry);
    route.handler(rc -> {
      List<String> names = rc.queryParam("name[]");
      if (names.isEmpty()) {
        everything.handle(rc);
        return;
      }
      rc.response().putHeader(HttpHeaders.CONTENT_TYPE, TEXT_FORMAT)
          .end(registry.scrape(TEXT_FORMAT, Set.copyOf(names)));
    });
  }
}
