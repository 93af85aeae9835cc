package io.flightdeck.gateway.api;

import io.flightdeck.gateway.ingest.IngestRoutes;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.StoreUnavailableException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place failures become responses: the contract's JSON error body, the right status, logged once. */
public final class FailureHandler implements Handler<RoutingContext> {

  private static final Logger LOG = LoggerFactory.getLogger(FailureHandler.class);
  /** HTTP/2's CANCEL error code (RFC 9113, section 7). */
  private static final long HTTP2_CANCEL = 0x8;

  /** 5xx answers are logged at most once a second each way; metrics and the access log count every one. */
  private static final LogThrottle SERVER_ERROR_LOG = new LogThrottle(1, TimeUnit.SECONDS);
  private static final LogThrottle UNEXPECTED_LOG = new LogThrottle(1, TimeUnit.SECONDS);

  /** The tracking routes: their failures are ingest rejections ({@code flightdeck_ingest_rejected_total}). */

  private final GatewayMetrics metrics;
  /** The routes, for a 405's {@code Allow} and for naming a request in a log line. */
  private final RouteTable routes;
  /** Where requests HTTP itself refuses get their access line; null where there is no access log (management). */
  private final AccessLog accessLog;

  /**
   * For a router of its own (the management port), once its routes are added: a 405 lists in {@code Allow} the
   * methods they answer, as on the main port; there is no access log there.
   */
  public static FailureHandler forRoutes(GatewayMetrics metrics, Router router) {
    RouteTable routes = new RouteTable();
    routes.learn(router);
    return new FailureHandler(metrics, routes, null);
  }

  FailureHandler(GatewayMetrics metrics, RouteTable routes, AccessLog accessLog) {
    this.metrics = metrics;
    this.routes = routes;
    this.accessLog = accessLog;
  }

  @Override
  public void handle(RoutingContext ctx) {
    answer(ctx, ctx.statusCode());
  }

  /**
   * For {@code Router.errorHandler(status, ...)}: vertx-web calls it without setting the context's failure or
   * status when routing itself failed (a path whose percent-escapes do not decode is a 400 that way).
   */
  public Handler<RoutingContext> withStatus(int status) {
    return ctx -> answer(ctx, ctx.statusCode() == -1 ? status : ctx.statusCode());
  }

  private void answer(RoutingContext ctx, int status) {
    if (ctx.failure() instanceof HttpClosedException) {
      // the client went away mid-request (a body cut off, a stream reset): nobody to answer, nothing went wrong here
      return;
    }
    ApiError error = toApiError(ctx, status);
    HttpServerResponse response = ctx.response();
    if (response.ended()) {
      // answered already (408 at the body deadline while the handler worked): the exchange is over, nothing to add
      return;
    }
    if (response.headWritten()) {
      ctx.request().connection().close();
      return;
    }
    // tracking calls only: a 404 or 405 elsewhere is no tracking request refused (and a scanner's would fire alerts)
    if (IngestRoutes.isTrackingPost(ctx)) {
      metrics.rejected(error.code());
    }
    if (error.status() == 405) {
      // RFC 9110: a 405 lists the methods the resource does answer
      String allowed = routes.allowed(ctx);
      if (!allowed.isEmpty()) {
        response.putHeader(HttpHeaders.ALLOW, allowed);
      }
    }
    if (error.retryAfterSeconds() != null) {
      response.putHeader(HttpHeaders.RETRY_AFTER, String.valueOf(error.retryAfterSeconds()));
    }
    if (error.status() >= 500) {
      SERVER_ERROR_LOG.log(n -> LOG.warn("{} {} answered {} {}: {} ({} such answer(s) since the last line)",
          ctx.request().method(), logged(ctx), error.status(), error.code(), error.getMessage(), n));
    }
    send(response, error);
  }

  /** The error's status and the contract's JSON body. */
  private static Future<Void> send(HttpServerResponse response, ApiError error) {
    return response.setStatusCode(error.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(error.body().toBuffer());
  }

  /**
   * A request HTTP itself cannot parse (Netty's decoder failed: a request line or a header over the limits, a
   * header line without a colon, a Content-Length that is not a number or is given twice), or whose body's framing
   * is refused ({@link StrictFramingDecoder}: its {@link ApiError} is the answer). Answered like every
   * other error, with the contract's JSON body, then the connection is closed: what follows on it cannot be
   * framed. Replaces Vert.x's default, which answers the same statuses with an empty body.
   */
  public static void invalidRequest(HttpServerRequest request) {
    answerInvalid(request, invalidRequestError(request));
  }

  /**
   * {@link #invalidRequest} on the main port, where a tracking POST refused this way counts as an ingest rejection as
   * one the router refuses does: its headers over the limit (a site's large cookies, sent with every beacon to a
   * first-party gateway) would otherwise lose every event of the site without {@code flightdeck_ingest_rejected_total}
   * or an alert on it seeing one.
   */
  void invalidRequestCounted(HttpServerRequest request) {
    long start = System.nanoTime();
    ApiError error = invalidRequestError(request);
    countTracking(request, error);
    answerInvalid(request, error).onComplete(ar -> logRefused(request, error, start));
  }

  /** {@link #headersTooLargeOverHttp2}, a tracking POST's counted as an ingest rejection. */
  void headersTooLargeOverHttp2Counted(HttpServerRequest request) {
    long start = System.nanoTime();
    ApiError error = headersTooLarge();
    countTracking(request, error);
    headersTooLargeOverHttp2(request).onComplete(ar -> logRefused(request, error, start));
  }

  /** The access line the router would have written (docs/API.md: one per request). */
  private void logRefused(HttpServerRequest request, ApiError error, long startNanos) {
    if (accessLog != null) {
      accessLog.refused(request, error.status(), (System.nanoTime() - startNanos) / 1_000_000);
    }
  }

  private void countTracking(HttpServerRequest request, ApiError error) {
    if (IngestRoutes.isTrackingPost(request)) {
      metrics.rejected(error.code());
    }
  }

  private static ApiError invalidRequestError(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    if (cause instanceof ApiError framing) {
      // a body whose framing is refused (StrictFramingDecoder)
      return framing;
    } else if (cause instanceof TooLongHttpLineException) {
      return new ApiError(414, "uri_too_long", "the request line is longer than the limit");
    } else if (cause instanceof TooLongHttpHeaderException) {
      return headersTooLarge();
    }
    return ApiError.badRequest("invalid_request", "the request is not valid HTTP");
  }

  private static Future<Void> answerInvalid(HttpServerRequest request, ApiError error) {
    return send(request.response().putHeader(HttpHeaders.CONNECTION, "close"), error)
        .onComplete(ar -> request.connection().close());
  }

  private static ApiError headersTooLarge() {
    return new ApiError(431, "headers_too_large", "the request headers are larger than the limit");
  }

  /**
   * {@link Http2HeaderLimit}'s answer: as over HTTP/1.x, but only the stream ends (reset with CANCEL after the answer
   * if the body is still coming, so the client stops sending it); the connection's other requests go on.
   */
  static Future<Void> headersTooLargeOverHttp2(HttpServerRequest request) {
    return send(request.response(), headersTooLarge()).onComplete(ar -> {
      if (!request.isEnded()) {
        request.response().reset(HTTP2_CANCEL);
      }
    });
  }

  /** The path without its query string, so an {@code access_token} parameter never reaches a log line. */
  static String routeOf(RoutingContext ctx) {
    try {
      return ctx.normalizedPath();
    } catch (IllegalArgumentException e) {
      // its percent-escapes do not decode: the very failure being answered
      return "(a path that does not decode)";
    }
  }

  /**
   * How a request is named in a log line: its route template ({@code /v1/streams/:streamId/events}), as the access
   * log names it, never the path, which holds stream, visitor and form ids.
   */
  private String logged(RoutingContext ctx) {
    return routes.template(ctx);
  }

  private ApiError toApiError(RoutingContext ctx, int contextStatus) {
    Throwable failure = ctx.failure();
    if (failure instanceof ApiError api) {
      return api;
    }
    if (failure instanceof StoreUnavailableException unavailable) {
      return new ApiError(503, "unavailable", unavailable.getMessage(), null, unavailable.retryAfterSeconds());
    }
    int status = failure instanceof HttpException http ? http.getStatusCode() : contextStatus;
    return switch (status) {
      case 400 -> ApiError.badRequest("invalid_request", "the request is malformed");
      case 401 -> new ApiError(401, "unauthorized", "a valid bearer token is required");
      case 404 -> new ApiError(404, "not_found", "no such resource: " + ctx.request().path());
      case 405 -> new ApiError(405, "method_not_allowed", ctx.request().method() + " is not allowed here");
      case 413 -> new ApiError(413, "payload_too_large", "the request body is larger than the limit");
      case 415 -> new ApiError(415, "unsupported_media_type", "send application/json or text/plain");
      case 417 -> new ApiError(417, "expectation_failed", "the only Expect this server meets is 100-continue");
      case 503 -> new ApiError(503, "unavailable", "the service is unavailable", null, 1);
      default -> {
        if (status >= 400 && status < 500) {
          // a client error Vert.x or vertx-web found (not one of ours): its status, never a 500
          yield new ApiError(status, "invalid_request", "the request was refused (HTTP " + status + ")");
        }
        UNEXPECTED_LOG.log(n -> LOG.error("unexpected failure on {} {} ({} since the last line)",
            ctx.request().method(), logged(ctx), n, failure));
        yield new ApiError(500, "internal_error", "an unexpected error occurred");
      }
    };
  }
}
