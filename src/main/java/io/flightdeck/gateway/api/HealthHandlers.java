package io.flightdeck.gateway.api;

import io.flightdeck.gateway.projection.ProjectionMetrics;
import io.flightdeck.gateway.projection.ProjectionStatus;
import io.flightdeck.gateway.store.PgEventStore;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * {@code /health/live} (the process answers) and {@code /health/ready}: ready (200) when the store is reachable,
 * migrated and takes writes; the body also reports the LISTEN connection and the projections, which degrade the
 * gateway (live feed and read models lag) without making it unready: ingest still works.
 */
public final class HealthHandlers {

  private static final long CHECK_TIMEOUT_MS = 2000;

  private final PgEventStore store;
  private final String schemaVersion;
  private final BooleanSupplier draining;
  private final BooleanSupplier listening;
  private final ProjectionMetrics projections;

  public HealthHandlers(PgEventStore store, String schemaVersion, BooleanSupplier draining,
                        BooleanSupplier listening, ProjectionMetrics projections) {
    this.store = store;
    this.schemaVersion = schemaVersion;
    this.draining = draining;
    this.listening = listening;
    this.projections = projections;
  }

  public void live(RoutingContext ctx) {
    ReadHandlers.send(ctx, new JsonObject().put("status", "UP"));
  }

  public void ready(RoutingContext ctx) {
    if (draining.getAsBoolean()) {
      answer(ctx, false, new JsonObject().put("status", "DOWN").put("reason", "shutting down"));
      return;
    }
    Future<String> check = store.notReadyReason(schemaVersion).timeout(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    check.onComplete(ar -> {
      JsonObject storeCheck = new JsonObject().put("schemaVersion", schemaVersion);
      boolean up = ar.succeeded() && ar.result() == null;
      storeCheck.put("status", up ? "UP" : "DOWN");
      if (ar.failed()) {
        storeCheck.put("error", "unreachable: " + ar.cause().getMessage());
      } else if (!up) {
        storeCheck.put("error", ar.result());
      }
      JsonObject listener = new JsonObject().put("status", listening.getAsBoolean() ? "UP" : "DOWN");
      JsonObject projectionCheck = projectionCheck();
      boolean degraded = !"UP".equals(listener.getString("status"))
          || !"UP".equals(projectionCheck.getString("status"));
      answer(ctx, up, new JsonObject().put("status", !up ? "DOWN" : degraded ? "DEGRADED" : "UP")
          .put("checks", new JsonObject().put("store", storeCheck).put("listener", listener)
              .put("projections", projectionCheck)));
    });
  }

  /**
   * From the last sample (metrics.sampleIntervalMs, and soon after a lease changed hands here): a readiness probe
   * never waits on the projection query. Figures no sample has confirmed for three intervals are DEGRADED: a
   * projection that stalled since may show a lag of 0.
   */
  private JsonObject projectionCheck() {
    List<ProjectionStatus> list = projections.latest();
    JsonObject each = new JsonObject();
    boolean up = !list.isEmpty() && !projections.stale();
    for (ProjectionStatus p : list) {
      each.put(p.name(), new JsonObject().put("state", p.state()).put("checkpoint", p.checkpoint())
          .put("lagEvents", p.lagEvents()).put("lagSeconds", p.lagSeconds()).put("deadLetters", p.deadLetters()));
      up &= p.state().equals("running") || p.state().equals("rebuilding");
    }
    return new JsonObject().put("status", up ? "UP" : "DEGRADED")
        .put("sampleAgeSeconds", Math.round(projections.sampleAgeSeconds() * 1000) / 1000.0)
        .put("projections", each);
  }

  private static void answer(RoutingContext ctx, boolean up, JsonObject body) {
    if (ReadHandlers.answeredMeanwhile(ctx)) {
      return;
    }
    ctx.response()
        .setStatusCode(up ? 200 : 503)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(body.toBuffer());
  }
}
