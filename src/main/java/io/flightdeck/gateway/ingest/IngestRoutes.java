package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;
import java.util.Locale;

/** The small handlers in front of ingest: media type, CORS and the body deadline. */
public final class IngestRoutes {

  /** HTTP/2's CANCEL error code (RFC 9113, section 7). */
  private static final long CANCEL = 0x8;

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
   * 415 unless the body is JSON or text/plain. Runs before the body is read. {@code text/plain} is what
   * {@code navigator.sendBeacon} sends without a CORS preflight; the body is JSON either way.
   */
  public static Handler<RoutingContext> requireJsonOrText() {
    return ctx -> {
      String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
      String base = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (base.equals("application/json") || base.equals("text/plain")) {
        ctx.next();
      } else {
        ctx.fail(new ApiError(415, "unsupported_media_type",
            "Content-Type must be application/json or text/plain (got " + (type == null ? "none" : type) + ")"));
      }
    };
  }

  /**
   * 408 when the body has not fully arrived within {@code timeoutMs}; after an earlier answer, the connection or
   * stream just ends then. The idle timeout resets on every byte, so without this a client trickling its body
   * could hold a request open forever. HTTP/1.x: the connection closes (the rest of the body would be read as the
   * next request). HTTP/2: only the stream is reset, after the answer; the connection's other requests go on.
   */
  public static Handler<RoutingContext> bodyReadDeadline(long timeoutMs) {
    return ctx -> {
      HttpServerRequest request = ctx.request();
      if (!request.isEnded()) {
        long timer = ctx.vertx().setTimer(timeoutMs, t -> {
          if (request.isEnded()) {
            return;
          }
          boolean http2 = request.version() == HttpVersion.HTTP_2;
          if (!ctx.response().ended()) {
            if (!http2) {
              ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
            }
            ctx.fail(new ApiError(408, "request_timeout",
                "the request body did not arrive within " + timeoutMs + " ms"));
          }
          // also after an early answer (415, 413, 503...): Vert.x reads and drops the rest of the body, and a
          // client trickling it would otherwise hold the connection for as long as it likes
          if (http2) {
            // CANCEL: the answer is complete, the client should stop sending the body
            ctx.response().reset(CANCEL);
          } else {
            request.connection().close();
          }
        });
        // an answer given before the whole body arrived keeps the deadline: the body must still end in time
        ctx.addEndHandler(v -> {
          if (request.isEnded()) {
            ctx.vertx().cancelTimer(timer);
          }
        });
      }
      ctx.next();
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
  public static Handler<RoutingContext> cors(Sites sites) {
    return ctx -> {
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
      ctx.next();
    };
  }

  private static void readableBy(HttpServerResponse response, String origin) {
    allowOrigin(response, origin).putHeader(HttpHeaders.ACCESS_CONTROL_EXPOSE_HEADERS, "Retry-After");
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
}
