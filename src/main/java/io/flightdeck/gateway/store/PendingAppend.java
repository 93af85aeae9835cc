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
  final long deadlineNanos;
  /** Set after a non-transient failure of a group: run this request in a transaction of its own. */
  boolean alone;

  PendingAppend(List<NewEvent> events, Promise<List<AppendResult>> promise, Context caller, long deadlineNanos) {
    this.events = events;
    this.promise = promise;
    this.caller = caller;
    this.deadlineNanos = deadlineNanos;
  }

  int size() {
    return events.size();
  }

  void complete(List<AppendResult> results) {
    answer(() -> promise.tryComplete(results));
  }

  void fail(Throwable cause) {
    answer(() -> promise.tryFail(cause));
  }

  private void answer(Runnable action) {
    if (caller == null) {
      action.run();
    } else {
      caller.runOnContext(v -> action.run());
    }
  }
}
