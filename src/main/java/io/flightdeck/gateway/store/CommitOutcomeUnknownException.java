package io.flightdeck.gateway.store;

import java.util.Set;
import java.util.UUID;

/**
 * An append failed with its commit already sent (COMMIT pipelined behind the statement, or the fast path's statement,
 * which commits on its own) and no answer that rules the commit out ({@link TransientErrors#mayHaveCommitted}): the
 * transaction may or may not have committed. The retry finds whatever did commit by id; {@link #insertedIds()} (the
 * ids it would have stored, as far as the append can tell) lets the appender still report those events as appended
 * rather than duplicates.
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
