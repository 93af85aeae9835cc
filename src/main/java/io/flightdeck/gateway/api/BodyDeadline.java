package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Predicate;

/**
 * Every request's body deadline (http.bodyReadTimeoutMs), for one of the router's first handlers, ahead of the query
 * check, whose 400 is an early answer like a 415: on every request with a body still to come the unread body must
 * still end in time. Only the tracking routes read a body, but a client may send one anywhere: the answer goes out,
 * Vert.x reads and drops the rest for keep-alive, and without the deadline a read, an admin call or an unknown path
 * with a trickled body would hold its connection (and the shutdown's drain) for as long as the client likes.
 */
public final class BodyDeadline implements Handler<RoutingContext> {

  /** HTTP/2's CANCEL error code (RFC 9113, section 7). */
  private static final long CANCEL = 0x8;

  private final long timeoutMs;
  private final PendingBodies pending;
  private final Predicate<RoutingContext> bodyExpected;

  /**
   * @param pending the event loop's requests whose body is still to come, for the shutdown's drain
   * @param bodyExpected requests that get the deadline whatever their headers say (the tracking POSTs)
   */
  BodyDeadline(long timeoutMs, PendingBodies pending, Predicate<RoutingContext> bodyExpected) {
    this.timeoutMs = timeoutMs;
    this.pending = pending;
    this.bodyExpected = bodyExpected;
  }

  /**
   * The deadline for a router that reads no body (the management port's): a client may send one all the same, and the
   * scrape is answered at once, but Vert.x then reads and drops the rest for keep-alive, and a client trickling it
   * held the connection, one of {@code metrics.maxConnections}, for as long as it liked. That server is stopped last,
   * once nothing is left to drain, so its requests are no drain's concern.
   */
  public static Handler<RoutingContext> withoutBodies(Vertx vertx, long timeoutMs) {
    return new BodyDeadline(timeoutMs, new PendingBodies(vertx), ctx -> false);
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (bodyExpected.test(ctx) || bodyMayFollow(ctx.request())) {
      start(ctx);
    }
    ctx.next();
  }

  /**
   * 408 when the body has not fully arrived within {@code timeoutMs}; after an earlier answer, the connection or
   * stream just ends then. The idle timeout resets on every byte, so without this a client trickling its body
   * could hold a request open forever. Meanwhile the request is one of {@code pending}, which answers it sooner
   * should the body stall while the server stops.
   */
  private void start(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (!request.isEnded()) {
      pending.add(ctx);
      long timer = ctx.vertx().setTimer(timeoutMs, t -> {
        pending.remove(ctx);
        if (request.isEnded()) {
          return;
        }
        cutBody(ctx, new ApiError(408, "request_timeout",
            "the request body did not arrive within " + timeoutMs + " ms"));
      });
      // an answer given before the whole body arrived keeps the deadline: the body must still end in time
      ctx.addEndHandler(done -> {
        if (request.isEnded()) {
          ctx.vertx().cancelTimer(timer);
        }
        if (request.isEnded() || done.failed()) {
          pending.remove(ctx);
        }
      });
    }
  }

  /**
   * Gives up on a body that has not fully arrived: answers {@code error} unless an answer was begun already (given,
   * or under way: a live stream), then ends the exchange. HTTP/1.x: the connection closes (the rest of the body
   * would be read as the next request). HTTP/2: only the stream is reset, after the answer; the connection's other
   * requests go on.
   */
  static void cutBody(RoutingContext ctx, ApiError error) {
    HttpServerRequest request = ctx.request();
    boolean http2 = request.version() == HttpVersion.HTTP_2;
    // not once the head is written: no header can be added then, and the failure handler would close an HTTP/2
    // connection with all its other streams
    if (!ctx.response().headWritten()) {
      if (!http2) {
        ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
      }
      ctx.fail(error);
    }
    // also after an early answer (415, 413, 503...): Vert.x reads and drops the rest of the body, and a
    // client trickling it would otherwise hold the connection for as long as it likes
    if (http2) {
      // CANCEL: the answer is complete, the client should stop sending the body
      ctx.response().reset(CANCEL);
    } else {
      request.connection().close();
    }
  }

  /**
   * Whether a request may still have body bytes to come. Vert.x hands a request over before it has seen the end of
   * even an empty body, so {@link HttpServerRequest#isEnded} alone would give every GET a timer. Over HTTP/1.x a
   * request has a body only with a Content-Length other than 0 or a Transfer-Encoding (RFC 9112, section 6.3);
   * over HTTP/2 only the end of the stream tells, so there every request not yet ended may.
   */
  private static boolean bodyMayFollow(HttpServerRequest request) {
    if (request.isEnded()) {
      return false;
    }
    if (request.version() == HttpVersion.HTTP_2) {
      return true;
    }
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    return (length != null && !length.equals("0")) || request.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }
}
