package io.flightdeck.gateway.api;

import io.flightdeck.gateway.ingest.ContentCoding;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The process's budget for tracking request bodies in memory, all connections and HTTP/2 streams together. The
 * body limit bounds one request and http.maxConnections the connections, but HTTP/2 multiplies one connection
 * into many concurrent requests, so without this a few clients could make the gateway buffer gigabytes. Each
 * request reserves its Content-Length (the body limit when it has none, as a chunked body may grow to it) before
 * its body is read and gives it back when its answer is done, or its client gone and its events no longer queued for
 * the store ({@link #keepUntil}); a request that does not fit is answered 503 with Retry-After, unread.
 */
public final class BodyBudget {

  /** Where {@link #reserve()} leaves the request's {@link Reservation} for {@link #keepUntil}. */
  private static final String RESERVATION = "flightdeck.bodyBudget.reservation";

  private final ByteBudget budget;
  private final long unknownLength;

  /**
   * {@code maxBodyBytes}: the per-request limit, reserved for a body of unknown length; at most {@code max} (the
   * configuration makes sure), so every request fits on its own.
   */
  public BodyBudget(long max, long maxBodyBytes) {
    this.budget = new ByteBudget(max);
    this.unknownLength = maxBodyBytes;
  }

  /** Bytes reserved by requests in progress. */
  public long held() {
    return budget.held();
  }

  /** The check, run before the body handler. */
  Handler<RoutingContext> reserve() {
    return ctx -> {
      // a gzip body is held decoded, up to the limit whatever its length on the wire
      long need = ContentCoding.isGzip(ctx.request())
          ? unknownLength : need(ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH));
      if (!budget.take(need)) {
        ctx.fail(new ApiError(503, "unavailable",
            "the gateway is holding as many request bodies as it may (http.maxBufferedBodyBytes); retry shortly",
            null, 1));
        return;
      }
      Reservation reservation = new Reservation(need);
      ctx.put(RESERVATION, reservation);
      AtomicBoolean ended = new AtomicBoolean();
      ctx.addEndHandler(done -> {
        if (ended.compareAndSet(false, true)) {
          reservation.drop();
        }
      });
      ctx.next();
    };
  }

  /**
   * Keeps the request's reservation until {@code done} completes, even if its client goes away first: its events,
   * parsed from the body, stay in memory (the append queue) until the appender answers them, and a client that gives
   * up and sends again would otherwise have them held twice, uncounted. Nothing to keep for a request that reserved
   * nothing, or whose reservation is given back already.
   */
  public static void keepUntil(RoutingContext ctx, Future<?> done) {
    Reservation reservation = ctx.get(RESERVATION);
    if (reservation != null && reservation.hold()) {
      done.onComplete(ar -> reservation.drop());
    }
  }

  /** One request's bytes, given back when the last of its holders (the request, a queued append) lets go. */
  private final class Reservation {

    private final long bytes;
    private final AtomicInteger holders = new AtomicInteger(1);

    Reservation(long bytes) {
      this.bytes = bytes;
    }

    /** One more holder, unless the reservation is given back already. */
    boolean hold() {
      int n;
      do {
        n = holders.get();
        if (n == 0) {
          return false;
        }
      } while (!holders.compareAndSet(n, n + 1));
      return true;
    }

    void drop() {
      // the request's end drops once, each hold once: the count never goes below 0
      if (holders.decrementAndGet() == 0) {
        budget.release(bytes);
      }
    }
  }

  /** What a request reserves: its declared length up to the limit (the body handler refuses more), else the limit. */
  long need(String contentLength) {
    if (contentLength != null) {
      try {
        long declared = Long.parseLong(contentLength.trim());
        if (declared >= 0) {
          return Math.min(declared, unknownLength);
        }
      } catch (NumberFormatException e) {
        // not a length: the decoder refuses such a request; reserve as for an unknown length meanwhile
      }
    }
    return unknownLength;
  }
}
