package io.flightdeck.gateway.bench;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * A share of the load on one event loop with its own client and connections, so lanes share no state and no
 * answer hops threads. Closed loop: each connection sends its next request when the previous answer arrives.
 * Open loop: request n is due at {@code t0 + n / rate}, whatever the answers do, and its latency counts from
 * then, so a slow answer that delays the requests behind it shows in their latency (no coordinated omission).
 * Requests go over {@link PostConnection}s, at most {@code connections} of them, opened as needed and reused.
 */
final class LoadLane extends VerticleBase {

  private static final String HOST = "127.0.0.1";
  private static final long REQUEST_IDLE_TIMEOUT_MS = 10_000;
  private static final long DRAIN_TIMEOUT_MS = 15_000;
  /** After a connection-level failure a closed-loop slot pauses, so a dead gateway is not hammered in a loop. */
  private static final long FAILURE_PAUSE_MS = 10;

  private final LoadSpec spec;
  private final int port;
  private final MeasureWindow window;
  private final AnswerListener listener;
  final LaneStats stats = new LaneStats();
  private final Promise<Void> drained = Promise.promise();
  private NetClient client;
  /** The request up to the value of Content-Length, the same for every request of this lane. */
  private Buffer requestPrefix;
  private final ArrayDeque<PostConnection> idle = new ArrayDeque<>();
  private int outstanding;
  private boolean stopping;
  private boolean closed;
  // open loop only
  private long t0;
  private double intervalNanos;
  private long sent;
  private long timerId = -1;
  /** Since when at least one connection has been free (0: from the start); reset when all become busy. */
  private long freeSince;

  /** Told every 200 answer's body, on the lane's event loop, with the time its request was due. */
  interface AnswerListener {
    AnswerListener NONE = (intendedNanos, body) -> { };

    void answered(long intendedNanos, Buffer body);
  }

  LoadLane(LoadSpec spec, int port, MeasureWindow window, AnswerListener listener) {
    this.spec = spec;
    this.port = port;
    this.window = window;
    this.listener = listener;
  }

  @Override
  public Future<?> start() {
    // the idle timeout ends a connection whose answer does not come (its request fails) or that sat unused
    client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true)
        .setIdleTimeout((int) REQUEST_IDLE_TIMEOUT_MS).setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
    requestPrefix = PostConnection.prefix(HOST, port, "/v1/events", new String[] {
        "Content-Type", "application/json",
        "X-Write-Key", GatewayUnderTest.WRITE_KEY,
        "User-Agent", EventBodies.USER_AGENT});
    if (spec.openLoop()) {
      t0 = System.nanoTime();
      intervalNanos = 1e9 / spec.ratePerSecond();
      pump();
    } else {
      for (int i = 0; i < spec.connections(); i++) {
        send(System.nanoTime());
      }
    }
    return Future.succeededFuture();
  }

  /** Sends nothing new; waits (bounded) for the answers still due, then closes the connections. */
  @Override
  public Future<?> stop() {
    stopping = true;
    if (spec.openLoop()) {
      pump(); // sends what was due inside the window and is still waiting for a connection
    }
    checkDrained();
    return drained.future()
        .timeout(DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .recover(e -> {
          stats.recordError("unfinished after drain", "no answer within " + DRAIN_TIMEOUT_MS + " ms of the end",
              outstanding + unsent());
          return Future.succeededFuture();
        })
        .eventually(() -> {
          closed = true; // the answers the close fails must not send anything new
          idle.forEach(PostConnection::close);
          idle.clear();
          return client.close();
        });
  }

  /** Open loop: sends every request due by now (never one due after the window), one per free connection. */
  private void pump() {
    long now = System.nanoTime();
    long due = dueBy(Math.min(now, window.end()));
    while (sent < due && outstanding < spec.connections()) {
      long intended = t0 + (long) (sent * intervalNanos);
      sent++;
      if (window.contains(intended)) {
        long at = System.nanoTime();
        stats.maxSendLagMicros = Math.max(stats.maxSendLagMicros, (at - intended) / 1000);
        // the part of the lag during which a connection was free: the generator's own, not the gateway's
        stats.maxOwnLagMicros = Math.max(stats.maxOwnLagMicros, (at - Math.max(intended, freeSince)) / 1000);
      }
      send(intended);
    }
    if (window.contains(now)) {
      stats.maxBacklog = Math.max(stats.maxBacklog, due - sent);
    }
    wakeForNext(now);
    checkDrained();
  }

  /**
   * A timer for the next request's due time, only when no answer is on its way to call {@link #pump()} anyway:
   * a fixed 1 ms tick would wake each event loop a thousand times a second, CPU taken from the gateway. Timers
   * have millisecond resolution and fire up to 1 ms late; that lateness is in the latencies, which is honest.
   */
  private void wakeForNext(long now) {
    long nextDue = t0 + (long) (sent * intervalNanos);
    if (timerId >= 0 || outstanding >= spec.connections() || window.closedBy(nextDue)) {
      return;
    }
    long delayMs = Math.max(1, (nextDue - now + 999_999) / 1_000_000);
    timerId = vertx.setTimer(delayMs, id -> {
      timerId = -1;
      pump();
    });
  }

  private long dueBy(long nanoTime) {
    return nanoTime < t0 ? 0 : (long) ((nanoTime - t0) / intervalNanos) + 1;
  }

  private long unsent() {
    return spec.openLoop() ? Math.max(0, dueBy(Math.min(System.nanoTime(), window.end())) - sent) : 0;
  }

  private void send(long intended) {
    if (closed) {
      return;
    }
    outstanding++;
    Buffer request = PostConnection.request(requestPrefix, EventBodies.of(spec.eventsPerRequest()));
    connection().onComplete(c -> {
      if (c.failed()) {
        answered(intended, Future.failedFuture(c.cause()));
        return;
      }
      c.result().post(request, ar -> {
        if (c.result().reusable() && !closed) {
          idle.addLast(c.result());
        }
        answered(intended, ar);
      });
    });
  }

  /** A free connection: the idle one unused longest (so every connection stays warm), else a new one. */
  private Future<PostConnection> connection() {
    PostConnection c;
    while ((c = idle.poll()) != null) {
      if (c.reusable()) {
        return Future.succeededFuture(c);
      }
    }
    return PostConnection.open(client, port, HOST);
  }

  private void answered(long intended, AsyncResult<PostConnection.Answer> ar) {
    long now = System.nanoTime();
    if (outstanding == spec.connections()) {
      freeSince = now; // every connection was busy until this answer
    }
    outstanding--;
    if (ar.succeeded() && ar.result().status() == 200) {
      recordSuccess(intended, now);
      listener.answered(intended, ar.result().body());
    } else if (ar.succeeded()) {
      stats.recordError("HTTP " + ar.result().status(), ar.result().body().toString(), 1);
    } else {
      stats.recordError(ar.cause().getClass().getSimpleName(), String.valueOf(ar.cause().getMessage()), 1);
    }
    next(ar.succeeded());
  }

  private void recordSuccess(long intended, long now) {
    stats.ackedEvents += spec.eventsPerRequest();
    if (window.contains(now)) {
      stats.okRequests++;
      stats.okEvents += spec.eventsPerRequest();
    }
    // latency belongs to the window its request was due in, however late the answer comes
    if (window.contains(intended)) {
      stats.recordLatency(now - intended);
    }
  }

  private void next(boolean answered) {
    if (spec.openLoop()) {
      pump();
    } else if (stopping || window.closedBy(System.nanoTime())) {
      checkDrained();
    } else if (answered) {
      send(System.nanoTime());
    } else {
      vertx.setTimer(FAILURE_PAUSE_MS, id -> next(true));
    }
  }

  private void checkDrained() {
    if (stopping && outstanding == 0 && unsent() == 0) {
      drained.tryComplete();
    }
  }
}
