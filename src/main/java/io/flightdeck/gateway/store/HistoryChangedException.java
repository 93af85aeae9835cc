package io.flightdeck.gateway.store;

import java.util.UUID;

/**
 * The store no longer holds what a reader read up to a position (see {@link EventStore#readAllFollowing}): a
 * failover to a replica that had not received the last commits, or a restored backup. Not a failure of the read:
 * the reader must let go of what it kept from after the last event the store still has.
 */
public final class HistoryChangedException extends RuntimeException {

  public HistoryChangedException(long after, UUID expected, UUID stored, long head) {
    super(expected == null
        ? "the store's last position is " + head + ", below " + after + ", which it had reached"
        : "the event at position " + after + " is " + (stored == null ? "gone" : stored + ", not " + expected)
            + " (the store's last position is " + head + ")", null, false, false);
  }
}
