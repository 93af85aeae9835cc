package io.flightdeck.gateway.bench;

import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The live phases' SSE subscribers, in this JVM but on a Vert.x instance of their own (so reading the streams
 * never delays the load generator's sends, whose event loop stays alone): {@link #LOOPS} event loops, one
 * {@link SubscriberGroup} on each, the subscribers spread evenly. Every answer comes back on the context that
 * created this object, so the phase's own callbacks never race.
 */
final class LiveSubscribers {

  /**
   * Event loops reading the streams. Two: at 1,000 events/s to 1,000 subscribers this JVM reads half a gigabyte
   * of SSE per second, more than one thread parses next to a gateway and PostgreSQL on the same two cores
   * without falling behind (when the reader falls behind, the gateway cuts the subscribers off as slow).
   */
  static final int LOOPS = 2;
  private static final long POLL_MS = 50;

  private final Context home;
  private final Vertx own;
  private final List<SubscriberGroup> groups;

  private LiveSubscribers(Context home, Vertx own, List<SubscriberGroup> groups) {
    this.home = home;
    this.own = own;
    this.groups = List.copyOf(groups);
  }

  /** What opening them took. */
  record Opened(int wanted, int connected, int failed, String firstFailure, double seconds) {
  }

  /**
   * Starts the event loops; call on the phase's context.
   *
   * @param track check exactly-once delivery (a bit per position and subscriber)
   */
  static Future<LiveSubscribers> start(Vertx vertx, int port, String readToken, boolean track, PositionLog log) {
    Context home = vertx.getOrCreateContext();
    // created off every Vert.x thread (a Vertx made on an event loop would start out on that loop's context)
    return Future.fromCompletionStage(CompletableFuture.supplyAsync(() -> Vertx.vertx(new VertxOptions()
        .setEventLoopPoolSize(LOOPS).setWorkerPoolSize(1).setPreferNativeTransport(true))), home).compose(own -> {
          List<SubscriberGroup> groups = new CopyOnWriteArrayList<>();
          Future<LiveSubscribers> started = own.deployVerticle(() -> {
            SubscriberGroup g = new SubscriberGroup(port, readToken, track, log);
            groups.add(g);
            return g;
          }, new DeploymentOptions().setInstances(LOOPS)).map(id -> new LiveSubscribers(home, own, groups));
          return back(home, started).recover(e -> back(home, own.close()).transform(v -> Future.failedFuture(e)));
        });
  }

  /** Opens {@code n} subscribers; answers once each has its {@code : connected} comment, or failed. */
  Future<Opened> open(int n) {
    long t = System.nanoTime();
    List<Future<Void>> all = new java.util.ArrayList<>();
    for (int i = 0; i < groups.size(); i++) {
      all.add(groups.get(i).open(n / groups.size() + (i < n % groups.size() ? 1 : 0)));
    }
    return back(home, Future.all(all)).compose(v -> merged(groups.stream().map(SubscriberGroup::snapshot).toList()))
        .map(s -> new Opened(n, s.connected, s.failed, s.firstFailure, (System.nanoTime() - t) / 1e9));
  }

  /**
   * Waits until every subscriber still open has received {@code position}; answers false when that takes
   * longer than {@code timeoutMs}.
   */
  Future<Boolean> awaitCaughtUp(long position, long timeoutMs) {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    return poll(position, deadline);
  }

  private Future<Boolean> poll(long position, long deadline) {
    List<Future<Boolean>> all = groups.stream().map(g -> g.caughtUp(position)).toList();
    return back(home, Future.all(all)).compose(cf -> {
      boolean done = all.stream().allMatch(Future::result);
      if (done || System.nanoTime() > deadline) {
        return Future.succeededFuture(done);
      }
      return home.owner().timer(POLL_MS).compose(v -> poll(position, deadline));
    });
  }

  /** Every group's figures, merged; see {@link SubscriberGroup#collect}. */
  Future<SubscriberGroup.Stats> stats(long[] windowPositions) {
    return merged(groups.stream().map(g -> g.collect(windowPositions)).toList());
  }

  private Future<SubscriberGroup.Stats> merged(List<Future<SubscriberGroup.Stats>> all) {
    return back(home, Future.all(all)).map(cf -> {
      SubscriberGroup.Stats total = new SubscriberGroup.Stats();
      all.forEach(f -> total.add(f.result()));
      return total;
    });
  }

  /** Closes every connection and the event loops. */
  Future<Void> close() {
    return back(home, Future.join(groups.stream().map(SubscriberGroup::closeAll).toList())
        .transform(v -> own.close()));
  }

  /** {@code f}'s outcome, delivered on {@code home}. */
  private static <T> Future<T> back(Context home, Future<T> f) {
    Promise<T> p = Promise.promise();
    f.onComplete(ar -> home.runOnContext(v -> p.handle(ar)));
    return p.future();
  }
}
