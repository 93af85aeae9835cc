package io.flightdeck.gateway.api;

import io.flightdeck.gateway.config.GatewayConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.ingest.IngestHandler;
import io.flightdeck.gateway.ingest.Sites;
import io.flightdeck.gateway.ingest.segment.SegmentHandler;
import io.flightdeck.gateway.live.LiveHub;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.metrics.MetricsEndpoint;
import io.vertx.core.Vertx;
import java.util.function.Function;

/**
 * What the HTTP verticles share: built once, thread-safe, handed to every instance. {@code liveHubs} makes each
 * instance its own hub of SSE connections, on its own event loop. {@code metricsEndpoint} serves /metrics when
 * it is on the main port. {@code connections} and {@code bodies} bound, for the whole process, the open
 * connections and the request bodies held in memory.
 */
public record GatewayServices(GatewayConfig config, Sites sites, EventSchemas schemas, IngestHandler ingest,
                              SegmentHandler segment, ReadHandlers reads, ReadModelHandlers readModels, AdminHandlers admin,
                              HealthHandlers health, ConnectionLimit connections, BodyBudget bodies,
                              Function<Vertx, LiveHub> liveHubs, MetricsEndpoint metricsEndpoint,
                              GatewayMetrics gatewayMetrics) {
}
