package io.flightdeck.gateway.api;

import io.vertx.ext.web.RoutingContext;

/** Whole-number query parameters with a range, answered with 400 invalid_parameter when off. */
final class QueryParams {

  private QueryParams() {
  }

  static long number(RoutingContext ctx, String name, long fallback, long min, long max) {
    String raw = ctx.request().getParam(name);
    if (raw == null || raw.isEmpty()) {
      return fallback;
    }
    try {
      long value = Long.parseLong(raw);
      if (value >= min && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.badRequest("invalid_parameter", name + " must be a whole number from " + min + " to " + max);
  }
}
