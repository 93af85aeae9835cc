package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request: method, route template, status, duration. The route template
 * ({@code /v1/streams/:streamId/events}), never the URL: URLs carry stream ids and, for browsers, access tokens;
 * and never the client address. Logged through logger {@code flightdeck.access}, which logback.xml sends through
 * a bounded asynchronous appender that drops lines rather than block an event loop.
 */
public final class AccessLog implements Handler<RoutingContext> {

  private static final Logger LOG = LoggerFactory.getLogger("flightdeck.access");

  private final RouteTable routes;

  AccessLog(RouteTable routes) {
    this.routes = routes;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (LOG.isInfoEnabled()) {
      long start = System.nanoTime();
      ctx.addEndHandler(ar -> LOG.info("{} {} {} {}ms", ctx.request().method(), routes.template(ctx),
          ctx.response().getStatusCode(), (System.nanoTime() - start) / 1_000_000));
    }
    ctx.next();
  }
}
