package io.flightdeck.gateway.api;

import io.flightdeck.gateway.config.GatewayConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.ingest.IngestHandler;
import io.flightdeck.gateway.ingest.Sites;

/** What the HTTP verticles share: built once, thread-safe, handed to every instance. */
public record GatewayServices(GatewayConfig config, Sites sites, EventSchemas schemas, IngestHandler ingest,
                              ReadHandlers reads, ReadModelHandlers readModels, AdminHandlers admin,
                              HealthHandlers health, ConnectionLimit connections) {
}
