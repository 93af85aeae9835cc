package io.flightdeck.gateway.store;

import io.vertx.core.Context;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Delivers a group's answers on each caller's own context with one hop per context, not one per request: the
 * requests of a group came from a handful of event loops, and each hop is a cross-thread wake-up.
 */
final class Answers {

  private Answers() {
  }

  /** Runs {@code actions.get(i)} on the context of {@code members.get(i)}. */
  static void send(List<Runnable> actions, List<PendingAppend> members) {
    Map<Context, List<Runnable>> byContext = new IdentityHashMap<>();
    for (int i = 0; i < actions.size(); i++) {
      Context caller = members.get(i).caller();
      if (caller == null) {
        actions.get(i).run();
      } else {
        byContext.computeIfAbsent(caller, c -> new ArrayList<>()).add(actions.get(i));
      }
    }
    byContext.forEach((context, batch) -> context.runOnContext(v -> batch.forEach(Runnable::run)));
  }
}
