package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request: method, route template, status, duration. The route template
 * ({@code /v1/streams/:streamId/events}), never the URL: URLs carry stream ids and, for browsers, access tokens;
 * and never the client address. Logged through logger {@code flightdeck.access}, which logback.xml sends through
 * a bounded asynchronous appender that drops lines rather than block an event loop.
 *
 * <p>A stream (the live feed) is logged the same way, once, when it ends: its duration is the stream's life, and
 * its line adds the events and bytes it sent and why it ended ({@link #stream}).
 */
public final class AccessLog implements Handler<RoutingContext> {

  private static final Logger LOG = LoggerFactory.getLogger("flightdeck.access");

  /** nginx's code for a request whose client went away before it was answered. */
  static final int CLIENT_CLOSED = 499;
  private static final String STREAM = "flightdeck.access.stream";

  /**
   * What a stream's line adds: the events and bytes of its body that were written to the socket, and why it ended
   * ({@code client_closed}, {@code slow_client}, {@code shutdown}, {@code store_unavailable},
   * {@code store_history_changed}).
   */
  public record StreamEnd(long events, long bytes, String reason) {
  }

  private final RouteTable routes;

  AccessLog(RouteTable routes) {
    this.routes = routes;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (LOG.isInfoEnabled()) {
      long start = System.nanoTime();
      ctx.addEndHandler(ar -> log(ctx, (System.nanoTime() - start) / 1_000_000));
    }
    ctx.next();
  }

  /**
   * Marks the request as a stream: its line, written when it ends, adds what {@code end} answers then. A stream's
   * route must add no end handler of its own to the response (a response has one: it would replace the context's,
   * and the line would never be written): {@link RoutingContext#addEndHandler} instead.
   */
  public static void stream(RoutingContext ctx, Supplier<StreamEnd> end) {
    ctx.put(STREAM, end);
  }

  /**
   * The line of a request HTTP itself refused ({@link FailureHandler#invalidRequest}: headers over the limit, a body
   * framed two ways...), which never reaches the router and so never passed {@link #handle}: by the template its path
   * would have matched, as sent (a request line too long to read is {@code (unmatched)}).
   */
  void refused(HttpServerRequest request, int status, long ms) {
    if (LOG.isInfoEnabled()) {
      String path = request.path() == null ? "" : request.path();
      LOG.info("{} {} {} {}ms", request.method(), routes.template(request.method(), path), status, ms);
    }
  }

  private void log(RoutingContext ctx, long ms) {
    Supplier<StreamEnd> stream = ctx.get(STREAM);
    if (stream == null) {
      LOG.info("{} {} {} {}ms", ctx.request().method(), routes.template(ctx), status(ctx), ms);
      return;
    }
    StreamEnd end = stream.get();
    LOG.info("{} {} {} {}ms events={} bytes={} ended={}", ctx.request().method(), routes.template(ctx), status(ctx),
        ms, end.events(), end.bytes(), end.reason());
  }

  /**
   * The status sent; 499 (nginx's "client closed request") when the connection ended before any answer was
   * written: a client that went away mid-body got nothing, and the default 200 would say it was served.
   */
  static int status(RoutingContext ctx) {
    return ctx.response().headWritten() ? ctx.response().getStatusCode() : CLIENT_CLOSED;
  }
}
