package io.flightdeck.gateway.projection;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.function.Supplier;

/**
 * How many of this process's projection steps for new events run at once (each is a transaction on its own
 * connection); the others wait their turn, first come first served. The projections are woken together by each
 * new read of the store; on 2 cores, four of them applying at once (four PostgreSQL backends busy together, and
 * their decoding here) went with a p99 ack latency at half load about three times that of one at a time (7 runs
 * each; see the commit that added it). A backlog's full batches (catching up, rebuilding) do not wait here, nor
 * does the replay of a failed batch one event per transaction (its events are behind too, and the projection is
 * stuck until it ends); a retry after a back-off waits like a step for new events. A runner has at most one step
 * waiting, so the queue holds at most one entry per projection. A step does not wait for a lock during its turn:
 * it takes its checkpoint's lock with NOWAIT and, while another transaction holds it, gives its turn up and waits
 * for the lock outside the gate (ProjectionRunner), so a rebuild or a dead-letter retry of one projection does not
 * hold up the others.
 */
final class StepGate {

  private final int permits;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private int running;

  StepGate(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("permits must be at least 1");
    }
    this.permits = permits;
  }

  /**
   * Runs {@code step} on the caller's context once a permit is free; the permit is held until the step's future
   * completes, and the answer completes where that future did. Call it on a Vert.x context.
   */
  <T> Future<T> run(Supplier<Future<T>> step) {
    Context context = Vertx.currentContext();
    Promise<T> done = Promise.promise();
    Runnable start = () -> started(step, done);
    synchronized (this) {
      if (running == permits) {
        waiting.add(() -> context.runOnContext(v -> start.run()));
        return done.future();
      }
      running++;
    }
    start.run();
    return done.future();
  }

  private <T> void started(Supplier<Future<T>> step, Promise<T> done) {
    Future<T> f;
    try {
      f = step.get();
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    f.onComplete(ar -> {
      release();
      done.handle(ar);
    });
  }

  /** The permit goes to the longest waiting step, or back to the pool. */
  private void release() {
    Runnable next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        running--;
        return;
      }
    }
    next.run();
  }

  /** Steps running now (for tests). */
  synchronized int running() {
    return running;
  }

  /** Steps waiting for a permit (for tests). */
  synchronized int waiting() {
    return waiting.size();
  }
}
