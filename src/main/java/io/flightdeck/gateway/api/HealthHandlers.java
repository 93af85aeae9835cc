package io.flightdeck.gateway.api;

import io.flightdeck.gateway.store.PgEventStore;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** {@code /health/live} (the process answers) and {@code /health/ready} (the store is reachable and migrated). */
public final class HealthHandlers {

  private static final long CHECK_TIMEOUT_MS = 2000;

  private final PgEventStore store;
  private final String schemaVersion;
  private final BooleanSupplier draining;

  public HealthHandlers(PgEventStore store, String schemaVersion, BooleanSupplier draining) {
    this.store = store;
    this.schemaVersion = schemaVersion;
    this.draining = draining;
  }

  public void live(RoutingContext ctx) {
    ReadHandlers.send(ctx, new JsonObject().put("status", "UP"));
  }

  public void ready(RoutingContext ctx) {
    if (draining.getAsBoolean()) {
      answer(ctx, false, new JsonObject().put("status", "DOWN").put("reason", "shutting down"));
      return;
    }
    Future<Boolean> check = store.schemaApplied(schemaVersion).timeout(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    check.onComplete(ar -> {
      JsonObject storeCheck = new JsonObject().put("schemaVersion", schemaVersion);
      boolean up = ar.succeeded() && ar.result();
      storeCheck.put("status", up ? "UP" : "DOWN");
      if (ar.failed()) {
        storeCheck.put("error", "unreachable: " + ar.cause().getMessage());
      } else if (!ar.result()) {
        storeCheck.put("error", "schema version " + schemaVersion + " is not applied");
      }
      answer(ctx, up, new JsonObject().put("status", up ? "UP" : "DOWN")
          .put("checks", new JsonObject().put("store", storeCheck)));
    });
  }

  private static void answer(RoutingContext ctx, boolean up, JsonObject body) {
    ctx.response()
        .setStatusCode(up ? 200 : 503)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(body.toBuffer());
  }
}
