package io.flightdeck.gateway.bench;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * Drives one load shape against a gateway on 127.0.0.1: spreads it over lanes (one per event loop), lets it
 * warm up, measures a window, then stops the lanes and merges what they saw.
 */
final class LoadGenerator {

  /**
   * Event loops the load runs on. One: it shares 2 cores with the gateway and PostgreSQL, one Vert.x event loop
   * sustains well over 20,000 requests/s (far above what the gateway can answer on this machine), and a second
   * one only adds wakeups, whose CPU is taken from the system under test.
   */
  static final int EVENT_LOOPS = 1;

  private final Vertx vertx;
  private final int lanes;

  /** @param lanes event loops to spread the connections over; the bench's Vertx has at least this many */
  LoadGenerator(Vertx vertx, int lanes) {
    this.vertx = vertx;
    this.lanes = lanes;
  }

  Future<LoadResult> run(LoadSpec spec, int port, Timing timing, CpuProbe probe) {
    return run(spec, port, timing, probe, t -> { }, t -> { });
  }

  /**
   * @param onOpen also told the window's start ({@link System#nanoTime()}), on a worker thread, e.g. to sample
   *     something else over the same window; right after the CPU is read (see {@link PhaseClock})
   * @param onClose also told the window's end, likewise
   */
  Future<LoadResult> run(LoadSpec spec, int port, Timing timing, CpuProbe probe, LongConsumer onOpen,
                         LongConsumer onClose) {
    return run(spec, port, timing, probe, onOpen, onClose, LoadLane.AnswerListener.NONE);
  }

  /**
   * @param listener told each 200 answer (its body and its request's due time), on the lanes' event loops; with
   *     more than one lane, from more than one thread
   */
  Future<LoadResult> run(LoadSpec spec, int port, Timing timing, CpuProbe probe, LongConsumer onOpen,
                         LongConsumer onClose, LoadLane.AnswerListener listener) {
    return run(spec, port, timing, probe, new MeasureWindow(), onOpen, onClose, listener);
  }

  /**
   * @param window the measured window, opened and closed here (a fresh one, which others may read too: the live
   *     phases' subscribers judge their deliveries against it)
   */
  Future<LoadResult> run(LoadSpec spec, int port, Timing timing, CpuProbe probe, MeasureWindow window,
                         LongConsumer onOpen, LongConsumer onClose, LoadLane.AnswerListener listener) {
    int count = Math.min(lanes, spec.connections());
    List<LoadLane> started = new CopyOnWriteArrayList<>();
    AtomicInteger next = new AtomicInteger();
    // one deployment, one instance per lane: Vert.x gives each instance its own event loop, round-robin
    DeploymentOptions options = new DeploymentOptions().setInstances(count);
    return vertx.deployVerticle(() -> {
      LoadLane lane = new LoadLane(spec.lane(next.getAndIncrement(), count), port, window, listener);
      started.add(lane);
      return lane;
    }, options).compose(id -> PhaseClock.run(vertx, timing, probe, window, onOpen, onClose)
        .compose(cpu -> vertx.undeploy(id).map(v -> merge(spec, window, started, cpu)),
            e -> {
              window.close(System.nanoTime()); // so the lanes stop sending
              return vertx.undeploy(id).transform(v -> Future.failedFuture(e));
            }));
  }

  private static LoadResult merge(LoadSpec spec, MeasureWindow window, List<LoadLane> lanes, CpuProbe.Usage cpu) {
    LaneStats total = new LaneStats();
    lanes.forEach(lane -> total.add(lane.stats));
    return LoadResult.of(spec, window.seconds(), total, cpu);
  }
}
