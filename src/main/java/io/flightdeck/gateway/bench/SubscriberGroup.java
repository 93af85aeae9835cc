package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;

/**
 * The SSE subscribers of one event loop, and what they received. Everything here runs on that loop; the other
 * threads reach it through {@link #onLoop}. A delivery whose POST answer has not arrived yet (the stream can
 * overtake it) is parked and matched by a periodic pass, and at the end.
 */
final class SubscriberGroup extends VerticleBase {

  /** Connections being set up at once per loop, so the gateway's accept queue never overflows. */
  static final int MAX_CONNECTING = 128;
  private static final long CONNECT_TIMEOUT_MS = 10_000;
  private static final long MATCH_EVERY_MS = 100;

  /** What the group saw; merged over the groups by {@link #add}. */
  static final class Stats {
    int connected;
    int failed;
    String firstFailure;
    /** Streams that ended while the phase ran (the gateway cuts off a slow subscriber by closing it). */
    int ended;
    String firstEnd;
    /** TCP reads that delivered bytes, over the whole phase: deliveries / reads is how well the gateway batches. */
    long reads;
    long deliveries;
    long windowDeliveries;
    /** Deliveries of the window's events (each subscriber's received positions against the window's). */
    long windowEventsReceived;
    long duplicates;
    long outOfOrder;
    /** Deliveries of positions no 200 answer returned (an event acknowledged otherwise, or not at all). */
    long unmatched;
    /** Window events a subscriber that was never cut off did not receive; and the same for cut-off ones. */
    long missingIntact;
    long missingCutOff;
    int subscribersMissing;
    final Histogram latencyMicros = new Histogram(LaneStats.MAX_LATENCY_MICROS, 3);

    void add(Stats o) {
      connected += o.connected;
      failed += o.failed;
      firstFailure = firstFailure != null ? firstFailure : o.firstFailure;
      ended += o.ended;
      firstEnd = firstEnd != null ? firstEnd : o.firstEnd;
      reads += o.reads;
      deliveries += o.deliveries;
      windowDeliveries += o.windowDeliveries;
      windowEventsReceived += o.windowEventsReceived;
      duplicates += o.duplicates;
      outOfOrder += o.outOfOrder;
      unmatched += o.unmatched;
      missingIntact += o.missingIntact;
      missingCutOff += o.missingCutOff;
      subscribersMissing += o.subscribersMissing;
      latencyMicros.add(o.latencyMicros);
    }
  }

  private final int port;
  private final Buffer request;
  private final boolean track;
  private final PositionLog log;
  private final List<SseSubscriber> subscribers = new ArrayList<>();
  private final Stats stats = new Stats();
  private NetClient client;
  private boolean closing;
  private long matcher = -1;
  // deliveries waiting for their POST's answer: position and arrival, in two growing arrays
  private long[] parkedPosition = new long[1024];
  private long[] parkedAt = new long[1024];
  private int parked;
  // opening
  private int toOpen;
  private int settling;
  private Promise<Void> opened;

  /**
   * @param track keep every subscriber's received positions, to check exactly-once delivery
   * @param log the posted events' send times; deliveries are matched against it
   */
  SubscriberGroup(int port, String readToken, boolean track, PositionLog log) {
    this.port = port;
    this.track = track;
    this.log = log;
    this.request = Buffer.buffer("GET /v1/live HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer "
        + readToken + "\r\nAccept: text/event-stream\r\nUser-Agent: flightdeck-bench\r\n\r\n");
  }

  @Override
  public Future<?> start() {
    client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true)
        .setConnectTimeout((int) CONNECT_TIMEOUT_MS));
    matcher = vertx.setPeriodic(MATCH_EVERY_MS, id -> matchParked());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    return closeAll();
  }

  /** Runs {@code work} on this group's loop; the answer completes there. */
  <T> Future<T> onLoop(Callable<Future<T>> work) {
    Promise<T> p = Promise.promise();
    context.runOnContext(v -> {
      try {
        work.call().onComplete(p);
      } catch (Exception e) {
        p.fail(e);
      }
    });
    return p.future();
  }

  /** Opens {@code n} subscribers, at most {@link #MAX_CONNECTING} at a time; done when each is connected or failed. */
  Future<Void> open(int n) {
    return onLoop(() -> {
      opened = Promise.promise();
      toOpen = n;
      if (n == 0) {
        opened.complete();
      }
      for (int i = 0; i < Math.min(n, MAX_CONNECTING); i++) {
        openNext();
      }
      return opened.future();
    });
  }

  private void openNext() {
    if (toOpen == 0) {
      return;
    }
    toOpen--;
    settling++;
    SseSubscriber s = new SseSubscriber(this, track);
    subscribers.add(s);
    client.connect(port, "127.0.0.1").onComplete(ar -> {
      if (ar.failed()) {
        s.failed(ar.cause().getClass().getSimpleName() + ": " + ar.cause().getMessage());
      } else if (closing) {
        ar.result().close();
      } else {
        s.attach(ar.result(), request);
      }
    });
  }

  // called by the subscribers, on this loop

  void connected() {
    stats.connected++;
    settled();
  }

  void failed(String why) {
    stats.failed++;
    if (stats.firstFailure == null) {
      stats.firstFailure = why;
    }
    settled();
  }

  private void settled() {
    settling--;
    openNext();
    if (toOpen == 0 && settling == 0 && opened != null) {
      opened.tryComplete();
    }
  }

  void ended(String why) {
    if (closing) {
      return;
    }
    stats.ended++;
    if (stats.firstEnd == null) {
      stats.firstEnd = why;
    }
  }

  void read() {
    stats.reads++;
  }

  void duplicate() {
    stats.duplicates++;
  }

  void outOfOrder() {
    stats.outOfOrder++;
  }

  void delivered(long position, long nanos) {
    stats.deliveries++;
    MeasureWindow window = log.window();
    if (window.contains(nanos)) {
      stats.windowDeliveries++;
    }
    long sent = log.sentAt(position);
    if (sent != PositionLog.UNKNOWN) {
      if (window.contains(sent)) {
        stats.latencyMicros.recordValue(Math.min(LaneStats.MAX_LATENCY_MICROS, Math.max(0, (nanos - sent) / 1000)));
      }
      return;
    }
    if (parked == parkedPosition.length) {
      parkedPosition = Arrays.copyOf(parkedPosition, parked * 2);
      parkedAt = Arrays.copyOf(parkedAt, parked * 2);
    }
    parkedPosition[parked] = position;
    parkedAt[parked] = nanos;
    parked++;
  }

  /** Matches the parked deliveries whose answers arrived since; keeps the others. */
  private void matchParked() {
    MeasureWindow window = log.window();
    int kept = 0;
    for (int i = 0; i < parked; i++) {
      long sent = log.sentAt(parkedPosition[i]);
      if (sent == PositionLog.UNKNOWN) {
        parkedPosition[kept] = parkedPosition[i];
        parkedAt[kept] = parkedAt[i];
        kept++;
      } else if (window.contains(sent)) {
        stats.latencyMicros.recordValue(Math.min(LaneStats.MAX_LATENCY_MICROS,
            Math.max(0, (parkedAt[i] - sent) / 1000)));
      }
    }
    parked = kept;
  }

  /** Whether every subscriber still open has received {@code position} (or a later one). */
  Future<Boolean> caughtUp(long position) {
    return onLoop(() -> {
      for (SseSubscriber s : subscribers) {
        if (s.connected() && !s.ended() && s.last() < position) {
          return Future.succeededFuture(false);
        }
      }
      return Future.succeededFuture(true);
    });
  }

  /**
   * The group's figures: parked deliveries still unmatched count as unmatched, and each subscriber that
   * connected is checked for every position in {@code windowPositions}.
   */
  Future<Stats> collect(long[] windowPositions) {
    return onLoop(() -> {
      matchParked();
      stats.unmatched += parked;
      parked = 0;
      if (track) {
        for (SseSubscriber s : subscribers) {
          if (!s.connected()) {
            continue;
          }
          long missing = 0;
          for (long p : windowPositions) {
            if (!s.received(p)) {
              missing++;
            }
          }
          stats.windowEventsReceived += windowPositions.length - missing;
          if (missing > 0) {
            stats.subscribersMissing++;
            if (s.ended()) {
              stats.missingCutOff += missing;
            } else {
              stats.missingIntact += missing;
            }
          }
        }
      }
      return Future.succeededFuture(copy());
    });
  }

  /** The figures so far (a copy, for another thread), without matching or checking anything. */
  Future<Stats> snapshot() {
    return onLoop(() -> Future.succeededFuture(copy()));
  }

  private Stats copy() {
    Stats copy = new Stats();
    copy.add(stats);
    return copy;
  }

  /** Closes every connection; a stream that ends from now on is not counted as cut off. */
  Future<Void> closeAll() {
    return onLoop(() -> {
      closing = true;
      if (matcher >= 0) {
        vertx.cancelTimer(matcher);
        matcher = -1;
      }
      subscribers.forEach(SseSubscriber::close);
      return client == null ? Future.succeededFuture() : client.close();
    });
  }
}
