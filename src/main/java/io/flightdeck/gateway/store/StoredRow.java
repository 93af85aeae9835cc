package io.flightdeck.gateway.store;

import java.util.UUID;

/** One row of the append statement's answer: where an id is stored and whether this transaction stored it. */
record StoredRow(UUID id, long position, long streamVersion, boolean appended) {
}
