package io.flightdeck.gateway.api;

import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.vertx.core.http.HttpMethod;
import io.flightdeck.gateway.store.StoreUnavailableException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place failures become responses: the contract's JSON error body, the right status, logged once. */
public final class FailureHandler implements Handler<RoutingContext> {

  private static final Logger LOG = LoggerFactory.getLogger(FailureHandler.class);

  /** 5xx answers are logged at most once a second each way; metrics and the access log count every one. */
  private static final LogThrottle SERVER_ERROR_LOG = new LogThrottle(1, TimeUnit.SECONDS);
  private static final LogThrottle UNEXPECTED_LOG = new LogThrottle(1, TimeUnit.SECONDS);

  private final GatewayMetrics metrics;

  public FailureHandler(GatewayMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (ctx.failure() instanceof HttpClosedException) {
      // the client went away mid-request (a body cut off, a stream reset): nobody to answer, nothing went wrong here
      return;
    }
    ApiError error = toApiError(ctx);
    HttpServerResponse response = ctx.response();
    if (response.headWritten()) {
      ctx.request().connection().close();
      return;
    }
    if (isIngest(ctx)) {
      metrics.rejected(error.code());
    }
    if (error.retryAfterSeconds() != null) {
      response.putHeader(HttpHeaders.RETRY_AFTER, String.valueOf(error.retryAfterSeconds()));
    }
    if (error.status() >= 500) {
      SERVER_ERROR_LOG.log(n -> LOG.warn("{} {} answered {} {}: {} ({} such answer(s) since the last line)",
          ctx.request().method(), routeOf(ctx), error.status(), error.code(), error.getMessage(), n));
    }
    response.setStatusCode(error.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(error.body().toBuffer());
  }

  /** Tracking calls (POST /v1/events and the Segment API), as opposed to reads and admin. */
  private static boolean isIngest(RoutingContext ctx) {
    String path = ctx.normalizedPath();
    return ctx.request().method() == HttpMethod.POST && path.startsWith("/v1/") && !path.startsWith("/v1/admin/");
  }

  /** The path without its query string, so an {@code access_token} parameter never reaches a log line. */
  static String routeOf(RoutingContext ctx) {
    return ctx.normalizedPath();
  }

  static ApiError toApiError(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof ApiError api) {
      return api;
    }
    if (failure instanceof StoreUnavailableException unavailable) {
      return new ApiError(503, "unavailable", unavailable.getMessage(), null, unavailable.retryAfterSeconds());
    }
    int status = failure instanceof HttpException http ? http.getStatusCode() : ctx.statusCode();
    return switch (status) {
      case 400 -> ApiError.badRequest("invalid_request", "the request is malformed");
      case 401 -> new ApiError(401, "unauthorized", "a valid bearer token is required");
      case 404 -> new ApiError(404, "not_found", "no such resource: " + ctx.request().path());
      case 405 -> new ApiError(405, "method_not_allowed", ctx.request().method() + " is not allowed here");
      case 413 -> new ApiError(413, "payload_too_large", "the request body is larger than the limit");
      case 415 -> new ApiError(415, "unsupported_media_type", "send application/json or text/plain");
      case 503 -> new ApiError(503, "unavailable", "the service is unavailable", null, 1);
      default -> {
        UNEXPECTED_LOG.log(n -> LOG.error("unexpected failure on {} {} ({} since the last line)",
            ctx.request().method(), routeOf(ctx), n, failure));
        yield new ApiError(500, "internal_error", "an unexpected error occurred");
      }
    };
  }
}
