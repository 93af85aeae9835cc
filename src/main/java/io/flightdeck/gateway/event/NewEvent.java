package io.flightdeck.gateway.event;

import java.time.Instant;
import java.util.UUID;

/**
 * A validated event on its way into the store. {@code data} and {@code metadata} are already serialized JSON
 * objects, so the appender passes them straight to PostgreSQL's jsonb.
 */
public record NewEvent(UUID id, String streamId, String type, int schemaVersion, String data, String metadata,
                       Instant occurredAt) {
}
