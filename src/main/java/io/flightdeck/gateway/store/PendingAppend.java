package io.flightdeck.gateway.store;

import io.flightdeck.gateway.event.NewEvent;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import java.util.List;

/** One request's events waiting in the appender's queue, and where to send its answer. */
final class PendingAppend {

  final List<NewEvent> events;
  private final Promise<List<AppendResult>> promise;
  private final Context caller;
  /** When the request was accepted ({@link System#nanoTime()}). */
  final long acceptedNanos;
  /** Set after a non-transient failure of a group: run this request in a transaction of its own. */
  boolean alone;

  PendingAppend(List<NewEvent> events, Promise<List<AppendResult>> promise, Context caller, long acceptedNanos) {
    this.events = events;
    this.acceptedNanos = acceptedNanos;
    this.promise = promise;
    this.caller = caller;
  }

  int size() {
    return events.size();
  }

  Context caller() {
    return caller;
  }

  /** Completes the promise; call on the caller's context (see {@link Answers}). */
  void completeNow(List<AppendResult> results) {
    promise.tryComplete(results);
  }

  void failNow(Throwable cause) {
    promise.tryFail(cause);
  }

  void fail(Throwable cause) {
    Answers.send(List.of(() -> failNow(cause)), List.of(this));
  }
}
