package io.flightdeck.gateway.store;

import io.flightdeck.gateway.config.AppenderConfig;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.StoreUnavailableException.Reason;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Timer;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit: requests from every event loop are queued here and coalesced into one transaction of up to
 * {@code maxEventsPerTransaction} events while earlier transactions are committing, so the commit cost (the
 * WAL flush) is shared by everyone who arrived meanwhile. A request is never split across transactions, so its
 * batch stays atomic. The queue is bounded in events; when full, callers are refused at once.
 *
 * <p>All queue state is touched only on this verticle's context; callers get their answer back on their own.
 */
public final class GroupCommitAppender extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(GroupCommitAppender.class);
  private static final long SLOW_TRANSACTION_MS = 250;
  private static final int RECENT_GROUPS = 8;

  private final PgAppendTransaction transaction;
  private final AppenderConfig config;
  private final GatewayMetrics metrics;
  private final AtomicInteger queuedEvents = new AtomicInteger();
  private final ArrayDeque<PendingAppend> queue = new ArrayDeque<>();
  /** Where callers on any thread drop requests; moved to {@link #queue} on this verticle's context. */
  private final ConcurrentLinkedQueue<PendingAppend> inbox = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean moveScheduled = new AtomicBoolean();
  private volatile boolean accepting = true;
  private int inFlight;
  /** The linger's timer while the next group lingers, else null. */
  private Timer lingerTimer;
  /** Requests in each of the last {@value #RECENT_GROUPS} groups sent, oldest overwritten first. */
  private final int[] recentGroups = new int[RECENT_GROUPS];
  /** Where the next group's size goes in {@link #recentGroups}. */
  private int nextRecent;
  private Promise<Void> drained;

  GroupCommitAppender(PgAppendTransaction transaction, AppenderConfig config, GatewayMetrics metrics) {
    this.transaction = transaction;
    this.config = config;
    this.metrics = metrics;
    metrics.gauge(GatewayMetrics.APPEND_QUEUE_DEPTH, "Events accepted and not yet committed or answered",
        queuedEvents, AtomicInteger::get);
  }

  /** Events accepted and not yet answered. */
  public int queuedEvents() {
    return queuedEvents.get();
  }

  /** Queues the events for the next transaction; the future completes after commit, on the caller's context. */
  public Future<List<AppendResult>> append(List<NewEvent> events) {
    if (!accepting) {
      return Future.failedFuture(new StoreUnavailableException(Reason.SHUTTING_DOWN, "the gateway is shutting down", 1,
          null));
    }
    int n = events.size();
    if (queuedEvents.addAndGet(n) > config.maxQueuedEvents()) {
      queuedEvents.addAndGet(-n);
      return Future.failedFuture(new StoreUnavailableException(Reason.QUEUE_FULL,
          "the append queue is full (" + config.maxQueuedEvents() + " events)", 1, null));
    }
    Context caller = Vertx.currentContext();
    Promise<List<AppendResult>> promise = Promise.promise();
    long accepted = System.nanoTime();
    inbox.add(new PendingAppend(events, promise, caller, accepted));
    // one hop onto this context carries every request that arrived meanwhile: under load, far fewer
    // cross-thread wake-ups than one per request
    if (moveScheduled.compareAndSet(false, true)) {
      context.runOnContext(v -> moveInboxAndDrain());
    }
    return promise.future().onSuccess(results ->
        metrics.appendLatency().record(System.nanoTime() - accepted, TimeUnit.NANOSECONDS));
  }

  private void moveInboxAndDrain() {
    moveScheduled.set(false);
    PendingAppend next;
    while ((next = inbox.poll()) != null) {
      queue.addLast(next);
    }
    drain();
  }

  @Override
  public Future<?> stop() {
    accepting = false;
    Promise<Void> promise = Promise.promise();
    context.runOnContext(v -> {
      drained = promise;
      moveInboxAndDrain();
    });
    return promise.future();
  }

  private void drain() {
    sendNext();
    checkDrained();
  }

  private void sendNext() {
    while (inFlight < config.maxConcurrentTransactions() && !queue.isEmpty() && !linger()) {
      inFlight++;
      AppendGroup group = AppendGroup.take(queue, config.maxEventsPerTransaction());
      recentGroups[nextRecent] = group.size();
      nextRecent = (nextRecent + 1) % RECENT_GROUPS;
      run(group, 0);
    }
  }

  /**
   * Whether the next group waits a little longer ({@code appender.lingerMicros}): until its oldest request has been
   * queued that long, so one commit (one WAL flush) serves every request that arrives meanwhile. Under load the
   * oldest has waited that long already, behind the transaction before; only a trickle lingers. It stops early once
   * as many requests wait as the largest of the last few groups held: when a fixed set of clients each waits for
   * its answer before sending again (keep-alive connections, one request at a time), they are all back, and the
   * rest of the linger would only add to each one's wait. A stopping appender never lingers: nothing more can join,
   * and its timer would not outlive the verticle.
   */
  private boolean linger() {
    if (!accepting || everyoneBack()) {
      stopLingering();
      return false;
    }
    if (lingerTimer != null) {
      return true;
    }
    long left = config.lingerMicros() * 1000L - (System.nanoTime() - queue.peek().acceptedNanos);
    if (left <= 0) {
      return false;
    }
    // on this verticle's context (the current one), to the microsecond
    Timer timer = vertx.timer(left, TimeUnit.NANOSECONDS);
    lingerTimer = timer;
    timer.onComplete(t -> {
      if (lingerTimer == timer) {
        lingerTimer = null;
        drain();
      }
    });
    return true;
  }

  private boolean everyoneBack() {
    int largest = 0;
    for (int n : recentGroups) {
      largest = Math.max(largest, n);
    }
    return largest > 0 && queue.size() >= largest;
  }

  private void stopLingering() {
    Timer timer = lingerTimer;
    if (timer != null) {
      // cleared first: cancelling completes the timer at once, and its handler must see it is no longer current
      lingerTimer = null;
      timer.cancel();
    }
  }

  private void run(AppendGroup group, int attempt) {
    long started = System.nanoTime();
    transaction.run(group.distinctEvents(), group.checked()).onComplete(ar -> {
      long tookMs = (System.nanoTime() - started) / 1_000_000;
      if (tookMs >= SLOW_TRANSACTION_MS) {
        // a commit this slow stalls every request behind it: say so, for whoever reads a latency spike
        LOG.warn("append transaction of {} events took {} ms ({})", group.eventCount(), tookMs,
            ar.succeeded() ? "committed" : "failed");
      }
      if (ar.succeeded()) {
        metrics.batchSize().record(group.eventCount());
        // the next group goes out before this one's answers are built: the position lock never waits for them
        freeSlot();
        try {
          group.complete(ar.result());
        } catch (RuntimeException e) {
          // never leave a caller waiting: whoever was not answered yet gets the failure
          LOG.error("answering an append of {} events failed", group.eventCount(), e);
          group.fail(e);
        }
        released(group);
      } else {
        onFailure(group, attempt, ar.cause());
      }
    });
  }

  private void onFailure(AppendGroup group, int attempt, Throwable cause) {
    if (cause instanceof CommitOutcomeUnknownException unknown) {
      group.rememberMaybeCommitted(unknown.insertedIds());
    }
    boolean wasChecked = group.checked();
    group.checkFromNowOn();
    if (!wasChecked && TransientErrors.isUniqueViolation(cause)) {
      // the fast path met an id that is already stored: nothing was written; look the ids up and go again now
      run(group, attempt);
    } else if (TransientErrors.isTransient(cause)) {
      retryLater(group, attempt, cause);
    } else if (group.size() > 1) {
      // one request's events broke the transaction: retry each request alone so the others still land
      LOG.warn("append of {} requests failed ({}); retrying them one by one", group.size(), cause.toString());
      group.requeueSeparately(queue);
      finish(group);
    } else {
      LOG.error("append failed for batch of {} events: {}", group.eventCount(), cause.toString());
      group.fail(cause);
      finish(group);
    }
  }

  private void retryLater(AppendGroup group, int attempt, Throwable cause) {
    long acceptedBy = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(config.retryDeadlineMs());
    group.failExpired(acceptedBy, cause);
    failExpiredQueued(acceptedBy, cause);
    if (group.size() == 0) {
      finish(group);
      return;
    }
    long delay = Math.min(config.retryMaxDelayMs(), config.retryInitialDelayMs() << Math.min(attempt, 20));
    LOG.warn("append of {} events failed transiently ({}); retry {} in {} ms", group.eventCount(), cause.toString(),
        attempt + 1, delay);
    vertx.setTimer(delay, t -> run(group, attempt + 1));
  }

  /**
   * Answers 503 to the queued requests accepted at or before {@code acceptedByNanos}: the store has just failed
   * again, and each of them would otherwise be sent only after the transactions before it, each of which may wait
   * as long as the deadline again (a statement stuck on a lock waits for the whole lock timeout). Not acknowledged,
   * so the client's retry with the same ids is safe, as for any 503.
   */
  private void failExpiredQueued(long acceptedByNanos, Throwable cause) {
    for (Iterator<PendingAppend> it = queue.iterator(); it.hasNext(); ) {
      PendingAppend m = it.next();
      if (acceptedByNanos - m.acceptedNanos >= 0) {
        it.remove();
        queuedEvents.addAndGet(-m.size());
        m.fail(new StoreUnavailableException(Reason.STORE_DOWN, "the event store is unavailable", 2, cause));
      }
    }
  }

  /** A group is done with: its transaction slot goes to the next group, its events leave the queue's count. */
  private void finish(AppendGroup group) {
    freeSlot();
    released(group);
  }

  private void freeSlot() {
    inFlight--;
    sendNext();
  }

  private void released(AppendGroup group) {
    queuedEvents.addAndGet(-group.releasedEvents());
    checkDrained();
  }

  private void checkDrained() {
    if (drained != null && inFlight == 0 && queue.isEmpty()) {
      drained.tryComplete();
    }
  }
}
