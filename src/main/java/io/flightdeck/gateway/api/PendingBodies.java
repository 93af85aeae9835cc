package io.flightdeck.gateway.api;

import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The requests of one event loop whose body has not fully arrived (any route's: see {@link BodyDeadline}), so that a
 * shutdown need not wait for a client that stopped sending. From {@link #drain} on, a body that gains no byte for
 * {@link #STALL_MS} is answered 503 {@code unavailable} (HTTP/1.x: with {@code Connection: close}, and the connection
 * closed; HTTP/2: the stream reset after the answer), as its deadline would answer it 408, only sooner: nothing of a
 * tracking request's was stored, so the client sends it again, to another process or after the restart. A body still
 * arriving is read to its end and answered as usual (within http.shutdownTimeoutMs, after which Vert.x closes every
 * connection anyway).
 *
 * <p>Without this the drain waited for such a request until http.shutdownTimeoutMs closed its connection, unanswered,
 * and stopped the appender and the projections only then. Only ever touched on its event loop.
 */
final class PendingBodies {

  /** A body that gains no byte for this long during the drain has stalled; about TCP's first retransmission. */
  static final long STALL_MS = 1000;
  /** How often the drain looks at the bodies: a stalled one is answered within STALL_MS and a quarter of it. */
  private static final long LOOK_MS = STALL_MS / 4;

  private final Vertx vertx;
  /** Each request; during the drain, with its body's progress (before the drain: null, nothing is watched). */
  private final Map<RoutingContext, Progress> pending = new HashMap<>();
  private boolean draining;
  private long timer = -1;

  PendingBodies(Vertx vertx) {
    this.vertx = vertx;
  }

  /** A request whose body is still to come (removed once it came, or its deadline passed). */
  void add(RoutingContext ctx) {
    pending.put(ctx, draining ? new Progress(ctx) : null);
    if (draining) {
      watch();
    }
  }

  void remove(RoutingContext ctx) {
    pending.remove(ctx);
  }

  /** The server is stopping: from now on, bodies that stall are answered 503. */
  void drain() {
    draining = true;
    pending.replaceAll((ctx, none) -> new Progress(ctx));
    watch();
  }

  private void watch() {
    if (timer == -1 && !pending.isEmpty()) {
      timer = vertx.setPeriodic(LOOK_MS, id -> look());
    }
  }

  private void look() {
    long now = System.nanoTime();
    Iterator<Map.Entry<RoutingContext, Progress>> it = pending.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<RoutingContext, Progress> entry = it.next();
      RoutingContext ctx = entry.getKey();
      if (ctx.request().isEnded()) {
        it.remove();
      } else if (entry.getValue().stalled(ctx, now)) {
        it.remove();
        BodyDeadline.cutBody(ctx, new ApiError(503, "unavailable", "the gateway is shutting down and the request "
            + "body stopped arriving; send it again", null, 1));
      }
    }
    if (pending.isEmpty()) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  /** A body's bytes when last seen growing, and when. */
  private static final class Progress {

    private long bytes;
    private long since;

    Progress(RoutingContext ctx) {
      bytes = ctx.request().bytesRead();
      since = System.nanoTime();
    }

    /** Whether no byte came for STALL_MS; notes the progress otherwise. */
    boolean stalled(RoutingContext ctx, long now) {
      long read = ctx.request().bytesRead();
      if (read != bytes) {
        bytes = read;
        since = now;
        return false;
      }
      return TimeUnit.NANOSECONDS.toMillis(now - since) >= STALL_MS;
    }
  }
}
