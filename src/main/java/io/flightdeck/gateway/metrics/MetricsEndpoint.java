package io.flightdeck.gateway.metrics;

import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.api.BearerAuth;
import io.flightdeck.gateway.api.HttpVerticle;
import io.flightdeck.gateway.config.MetricsConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code GET /metrics} in the Prometheus text format, behind the metrics token when one is configured.
 * {@code ?name[]=a&name[]=b} answers only those metric families (the Prometheus client libraries' convention).
 *
 * <p>Rendering the exposition walks every meter and writes tens of kilobytes: milliseconds of CPU that would stall
 * every connection of the event loop the scrape arrived on. It runs on a worker thread instead (the registry is
 * thread-safe), at most {@link #MAX_RENDERING} at once for the whole process: a scrape beyond that is answered 503
 * with {@code Retry-After}, so a client polling in a tight loop cannot queue renders without bound. One instance
 * serves every HTTP verticle and the management port.
 */
public final class MetricsEndpoint {

  private static final List<String> SAMPLE_SUFFIXES = List.of("_total", "_bucket", "_count", "_sum", "_created");

  /** The Prometheus text format (version 0.0.4), what Prometheus asks for by default. */
  static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";
  /** Renders in progress at once: Prometheus scrapes one target at a time, an HA pair two. */
  static final int MAX_RENDERING = 2;

  private final MetricsConfig config;
  private final PrometheusMeterRegistry registry;
  private final AtomicInteger rendering = new AtomicInteger();

  public MetricsEndpoint(MetricsConfig config, PrometheusMeterRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  /**
   * Adds {@code GET /metrics} to {@code router}, and {@code HEAD /metrics} as every {@code GET} endpoint has it
   * (docs/API.md; RFC 9110: a server answers HEAD wherever it answers GET): the same status and headers, no body.
   */
  public void route(Router router) {
    Route route = HttpVerticle.get(router, "/metrics");
    if (config.protectedByToken()) {
      route.handler(new BearerAuth(config.token()));
    }
    route.handler(this::scrape);
  }

  /**
   * The families asked for. A counter's family is named without the {@code _total} its samples carry, a
   * histogram's without {@code _bucket}, {@code _count} and {@code _sum}; asked by a sample's name, the family
   * answers too, as the Prometheus client libraries do.
   */
  static Set<String> families(List<String> names) {
    Set<String> out = new HashSet<>();
    for (String name : names) {
      out.add(name);
      for (String suffix : SAMPLE_SUFFIXES) {
        if (name.endsWith(suffix) && name.length() > suffix.length()) {
          out.add(name.substring(0, name.length() - suffix.length()));
        }
      }
    }
    return out;
  }

  private void scrape(RoutingContext rc) {
    List<String> names = rc.queryParam("name[]");
    Set<String> only = names.isEmpty() ? null : families(names);
    if (rendering.incrementAndGet() > MAX_RENDERING) {
      rendering.decrementAndGet();
      rc.fail(new ApiError(503, "unavailable", MAX_RENDERING + " metrics scrapes are being rendered; try again",
          null, 1));
      return;
    }
    rc.vertx().executeBlocking(() -> only == null ? registry.scrape(TEXT_FORMAT) : registry.scrape(TEXT_FORMAT, only),
            false)
        .onComplete(ar -> {
          rendering.decrementAndGet();
          if (ar.failed()) {
            rc.fail(ar.cause());
          } else if (!rc.response().ended()) { // else answered 408 meanwhile: its body was still trickling in
            rc.response().putHeader(HttpHeaders.CONTENT_TYPE, TEXT_FORMAT).end(ar.result());
          }
        });
  }
}
