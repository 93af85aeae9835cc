package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.ingest.segment.SegmentHandler;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/** The small handlers in front of ingest: media type and CORS. */
public final class IngestRoutes {

  /** The tracking routes' paths: POST /v1/events and the Segment API's. */
  public static final Set<String> TRACKING_PATHS = trackingPaths();

  private IngestRoutes() {
  }

  /**
   * Marks a check as a platform handler: Vert.x Web only lets those run before the body handler on a route, and
   * these checks must run before the body is read (a refused request is not worth reading).
   */
  public static Handler<RoutingContext> beforeBody(Handler<RoutingContext> check) {
    return (PlatformHandler) check::handle;
  }

  /**
   * 415 unless the body is JSON or text/plain, the latter in a charset the gateway can decode ({@link BodyCharset}).
   * Runs before the body is read. {@code text/plain} is what {@code navigator.sendBeacon} sends without a CORS
   * preflight; the body is JSON either way.
   */
  public static Handler<RoutingContext> requireJsonOrText() {
    return ctx -> {
      String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
      String base = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (base.equals("application/json") || base.equals("text/plain")) {
        BodyCharset.of(type); // a charset no one can decode is refused here, before the body is read
        ctx.next();
      } else {
        ctx.fail(new ApiError(415, "unsupported_media_type",
            "Content-Type must be application/json or text/plain (got " + (type == null ? "none" : type) + ")"));
      }
    };
  }

  /**
   * Adds CORS response headers for browser origins that some site accepts, so pages can read our answers
   * (errors included). The per-site check is the ingest handler's, once it knows the write key. A page of an origin
   * no site accepts may read a refusal (any answer of 400 or more: a wrong write key, its origin, a body too large),
   * never a success, which it cannot get anyway: without, the browser hands the page a network failure, and the
   * snippet would keep the events and send them again, with back-off, for as long as pages of that origin are open.
   * A refusal tells the page only what it sent wrong; nothing is stored, and no credentials are allowed.
   */
  private static void addCors(RoutingContext ctx, Sites sites) {
    String origin = ctx.request().getHeader(HttpHeaders.ORIGIN);
    if (origin != null && sites.anyAllows(origin)) {
      readableBy(ctx.response(), origin);
    } else if (origin != null) {
      ctx.addHeadersEndHandler(v -> {
        if (ctx.response().getStatusCode() >= 400) {
          readableBy(ctx.response(), origin);
        }
      });
    }
  }

  /**
   * For the router's first handlers, after the body deadline (api/BodyDeadline) and ahead of the query check, whose 400
   * is an early answer like a 415: on a tracking POST ({@link #isTrackingPost}) the CORS headers, so that the page
   * can read the refusal (see {@link #addCors}).
   * A route without a path, so that the metrics' route tag stays the tracking route's path alone.
   */
  public static Handler<RoutingContext> beforeQueryCheck(Sites sites) {
    return ctx -> {
      if (isTrackingPost(ctx)) {
        addCors(ctx, sites);
      }
      ctx.next();
    };
  }

  /**
   * A POST to one of the {@link #TRACKING_PATHS}, as a route matches it: Vert.x routes a path with one trailing slash
   * to its route, so that one counts too. A path that does not decode is no tracking request.
   */
  public static boolean isTrackingPost(RoutingContext ctx) {
    return ctx.request().method() == HttpMethod.POST && TRACKING_PATHS.contains(pathOf(ctx));
  }

  /**
   * The same for a request the router never saw (refused by HTTP itself: headers over the limit, a body framed two
   * ways), by its path as sent, one trailing slash left out.
   */
  public static boolean isTrackingPost(HttpServerRequest request) {
    String path = request.path();
    return request.method() == HttpMethod.POST && path != null && TRACKING_PATHS.contains(routed(path));
  }

  /** The request's path as a route matches it: one trailing slash left out; "" when it does not decode. */
  private static String pathOf(RoutingContext ctx) {
    try {
      return routed(ctx.normalizedPath());
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  /** {@code path} as a route matches it: one trailing slash left out. */
  private static String routed(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  private static void readableBy(HttpServerResponse response, String origin) {
    allowOrigin(response, origin).putHeader(HttpHeaders.ACCESS_CONTROL_EXPOSE_HEADERS,
        "Retry-After, " + SegmentHandler.RATE_LIMIT_RESET);
  }

  /** Lets a page of {@code origin} read this answer (and tells caches the answer depends on the origin). */
  static HttpServerResponse allowOrigin(HttpServerResponse response, String origin) {
    return response.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_ORIGIN, origin).putHeader(HttpHeaders.VARY, "Origin");
  }

  /** Answers a CORS preflight: allowed when some site accepts the origin. */
  public static Handler<RoutingContext> preflight(Sites sites) {
    return ctx -> {
      String origin = ctx.request().getHeader(HttpHeaders.ORIGIN);
      if (origin == null || !sites.anyAllows(origin)) {
        ctx.fail(new ApiError(403, "origin_not_allowed", "origin " + origin + " may not send events"));
        return;
      }
      // browsers reject a preflight answer that does not name the origin, whatever else it allows
      allowOrigin(ctx.response(), origin)
          .putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS")
          .putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_HEADERS,
              "Content-Type, Content-Encoding, X-Write-Key, Authorization")
          .putHeader(HttpHeaders.ACCESS_CONTROL_MAX_AGE, "86400")
          .setStatusCode(204)
          .end();
    };
  }

  private static Set<String> trackingPaths() {
    Set<String> paths = new HashSet<>(SegmentHandler.PATHS.keySet());
    paths.add("/v1/events");
    return Set.copyOf(paths);
  }
}
