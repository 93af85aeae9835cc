package io.flightdeck.gateway.store;

import java.util.Set;
import java.util.UUID;

/**
 * The connection failed after the commit was asked for (COMMIT, or the fast path's statement, which commits on its
 * own): the transaction may or may not have committed. The retry finds whatever did commit by id;
 * {@link #insertedIds()} (the ids it would have stored; empty when the checked path's answer was lost too) lets the
 * appender still report those events as appended rather than duplicates.
 */
final class CommitOutcomeUnknownException extends RuntimeException {

  private final Set<UUID> insertedIds;

  CommitOutcomeUnknownException(Set<UUID> insertedIds, Throwable cause) {
    super("commit outcome unknown: " + cause.getMessage(), cause, false, false);
    this.insertedIds = insertedIds;
  }

  Set<UUID> insertedIds() {
    return insertedIds;
  }
}
