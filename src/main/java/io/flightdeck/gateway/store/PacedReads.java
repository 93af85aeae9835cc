package io.flightdeck.gateway.store;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loop of a process-wide reader of new events (the live feed, the projections' shared read): one read at a
 * time; while wake-ups trickle in (a notification per append transaction), at most one read every
 * {@code minIntervalMs}, so each read takes everything that arrived meanwhile; the next read at once while reads
 * come back full (a backlog); a failed read retried with back-off. Touched only on its owner's context.
 */
public final class PacedReads {

  private static final Logger LOG = LoggerFactory.getLogger(PacedReads.class);
  private static final long MAX_RETRY_DELAY_MS = 2000;

  private final Vertx vertx;
  private final String reader;
  private final long minIntervalMs;
  private final Supplier<Future<Boolean>> read;
  private boolean busy;
  private boolean again;
  private int failures;
  private long lastRead = System.nanoTime() - 1_000_000_000L;

  /**
   * @param reader who reads, for the log
   * @param read one read; succeeds with true when it came back full and the next should follow at once
   */
  public PacedReads(Vertx vertx, String reader, long minIntervalMs, Supplier<Future<Boolean>> read) {
    this.vertx = vertx;
    this.reader = reader;
    this.minIntervalMs = minIntervalMs;
    this.read = read;
  }

  /** Whether a read is in flight, waiting for its turn, or waiting to be retried. */
  public boolean busy() {
    return busy;
  }

  /** There may be new events: reads soon, or again after the read in flight. */
  public void wake() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    long waitMs = minIntervalMs - (System.nanoTime() - lastRead) / 1_000_000;
    if (waitMs <= 0) {
      vertx.runOnContext(v -> run());
    } else {
      vertx.setTimer(waitMs, id -> run());
    }
  }

  private void run() {
    again = false;
    lastRead = System.nanoTime();
    read.get().onComplete(this::done);
  }

  private void done(AsyncResult<Boolean> result) {
    if (result.failed()) {
      failures++;
      long delay = Math.min(50L << Math.min(failures, 10), MAX_RETRY_DELAY_MS);
      LOG.warn("{}: reading new events failed, retrying in {} ms: {}", reader, delay, result.cause().getMessage());
      vertx.setTimer(delay, id -> run());
      return;
    }
    failures = 0;
    if (result.result()) {
      vertx.runOnContext(v -> run());
      return;
    }
    busy = false;
    if (again) {
      wake();
    }
  }
}
