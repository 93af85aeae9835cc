package io.flightdeck.gateway.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The process's budget for read answers built and not yet written to their clients, all connections and HTTP/2
 * streams together. A page of events may be tens of megabytes (1,000 events of up to 32 KiB of data each), and an
 * answer stays in memory until the client has taken it: without a bound, a few clients that ask and never read
 * run the process out of memory, ingest included. Each answer counts its bytes from when it is built until its
 * write completes (or its connection closes); one that would take the process past the budget is answered 503
 * with Retry-After instead. One answer alone always goes out, whatever its size, so no page is refused for ever.
 */
public final class ResponseBudget {

  private final ByteBudget budget;

  public ResponseBudget(long max) {
    this.budget = new ByteBudget(max);
  }

  /** Bytes of answers built and not yet written. */
  public long held() {
    return budget.held();
  }

  /** Sends {@code body} as the JSON answer, or fails the request with 503 when it does not fit. */
  void send(RoutingContext ctx, JsonObject body) {
    if (ReadHandlers.answeredMeanwhile(ctx)) {
      return;
    }
    Buffer bytes = body.toBuffer();
    long need = bytes.length();
    if (!budget.take(need)) {
      ctx.fail(new ApiError(503, "unavailable", "the gateway is holding as many unsent answers as it may "
          + "(http.maxUnsentResponseBytes); retry shortly", null, 1));
      return;
    }
    ReadHandlers.jsonAnswer(ctx).end(bytes)
        // written, or the connection went away first: either way the bytes are no longer held for it
        .onComplete(ar -> budget.release(need));
  }
}
