package io.flightdeck.gateway.api;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.EventStore;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;

/** Reads straight from the event store: one stream in version order, or everything in global order. */
public final class ReadHandlers {

  static final int MAX_LIMIT = 1000;
  static final int DEFAULT_LIMIT = 100;

  private final EventStore store;
  private final ResponseBudget answers;

  public ReadHandlers(EventStore store, ResponseBudget answers) {
    this.store = store;
    this.answers = answers;
  }

  /** {@code GET /v1/streams/:streamId/events?fromVersion=&limit=}. */
  public void stream(RoutingContext ctx) {
    String streamId = QueryParams.streamId(ctx);
    long fromVersion = QueryParams.number(ctx, "fromVersion", 1, 1, Long.MAX_VALUE);
    int limit = (int) QueryParams.number(ctx, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
    store.readStream(streamId, fromVersion, limit)
        .map(EventPages.Page::events)
        .onSuccess(events -> answers.send(ctx, new JsonObject().put("events", toJson(events))))
        .onFailure(ctx::fail);
  }

  /**
   * {@code GET /v1/events?after=&limit=}. {@code next} is the position to pass as {@code after} for the next page;
   * positions become visible in order, so following it never skips an event.
   */
  public void all(RoutingContext ctx) {
    long after = QueryParams.number(ctx, "after", 0, 0, Long.MAX_VALUE);
    int limit = (int) QueryParams.number(ctx, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
    store.readAll(after, limit)
        .map(EventPages.Page::events)
        .onSuccess(events -> {
          long next = events.isEmpty() ? after : events.get(events.size() - 1).position();
          answers.send(ctx, new JsonObject().put("events", toJson(events)).put("next", next));
        })
        .onFailure(ctx::fail);
  }

  /**
   * {@code GET /v1/events/head}: the store's last committed position (0 when empty). Positions become visible in
   * order, so every event after it is yet to come: a reader that wants only new events starts there.
   */
  public void head(RoutingContext ctx) {
    store.headPosition()
        .onSuccess(head -> send(ctx, new JsonObject().put("head", head)))
        .onFailure(ctx::fail);
  }

  static JsonArray toJson(List<EventEnvelope> events) {
    JsonArray array = new JsonArray(new ArrayList<>(events.size()));
    for (EventEnvelope e : events) {
      array.add(e.toJson());
    }
    return array;
  }

  /** A small answer of known size (health, admin, schemas); pages of data go through the {@link ResponseBudget}. */
  static void send(RoutingContext ctx, JsonObject body) {
    if (answeredMeanwhile(ctx)) {
      return;
    }
    jsonAnswer(ctx).end(body.toBuffer());
  }

  /**
   * Whether the request was answered while its answer was being prepared: a body still trickling in at its deadline
   * is answered 408 ({@link BodyDeadline}), and a second answer would throw. Only for what changes nothing: an admin
   * action that changes something starts once its body has ended ({@link AdminHandlers#onceBodyEnded}), and must be
   * answered.
   */
  static boolean answeredMeanwhile(RoutingContext ctx) {
    return ctx.response().ended();
  }

  /** The response with the headers of every JSON answer to a read. */
  static HttpServerResponse jsonAnswer(RoutingContext ctx) {
    return ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
  }
}
