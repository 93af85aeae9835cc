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

  /** nginx's code for a request whose client went away before it was answered. */
  static final int CLIENT_CLOSED = 499;

  private final RouteTable routes;

  AccessLog(RouteTable routes) {
    this.routes = routes;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (LOG.isInfoEnabled()) {
      long start = System.nanoTime();
      ctx.addEndHandler(ar -> LOG.info("{} {} {} {}ms", ctx.request().method(), routes.template(ctx),
          status(ctx), (System.nanoTime() - start) / 1_000_000));
    }
    ctx.next();
  }

  /**
   * The status sent; 499 (nginx's "client closed request") when the connection ended before any answer was
   * written: a client that went away mid-body got nothing, and the default 200 would say it was served.
   */
  static int status(RoutingContext ctx) {
    return ctx.response().headWritten() ? ctx.response().getStatusCode() : CLIENT_CLOSED;
  }
}
