package io.flightdeck.gateway.live;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.api.AccessLog;
import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.api.QueryParams;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.store.EventStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The SSE connections of one event loop (one per HTTP verticle), all touched only on that loop: it receives
 * each live batch once and hands it to its connections, sends the heartbeats, and serves {@code GET /v1/live}.
 */
public final class LiveHub {

  private final Vertx vertx;
  private final EventStore store;
  private final LiveConfig config;
  private final AtomicLong published;
  private final LiveConnections connections;
  private final HistoryChanges changes;
  private final Set<SseConnection> open = new HashSet<>();
  private MessageConsumer<LiveBatch> consumer;
  private long heartbeats;
  /**
   * Set by {@link #stop}: a request the server takes up after it (one pipelined behind a slow answer, say) would
   * get a stream that no batch, heartbeat or stop ever reaches, and the server's graceful shutdown would wait for it.
   */
  private boolean stopped;

  public LiveHub(Vertx vertx, EventStore store, LiveConfig config, AtomicLong published,
                 LiveConnections connections, HistoryChanges changes) {
    this.changes = changes;
    this.vertx = vertx;
    this.store = store;
    this.config = config;
    this.published = published;
    this.connections = connections;
  }

  /** Call from the owning verticle's start(). */
  public Future<Void> start() {
    consumer = vertx.eventBus().localConsumer(EventBusAddresses.LIVE_BATCH, m -> {
      for (SseConnection c : openNow()) {
        c.onBatch(m.body());
      }
    });
    heartbeats = vertx.setPeriodic(config.heartbeatSeconds() * 1000L, id -> {
      for (SseConnection c : openNow()) {
        c.heartbeat();
      }
    });
    return consumer.completion();
  }

  /** The open connections, copied: a write can cut a slow client off, which takes it out of the set meanwhile. */
  private SseConnection[] openNow() {
    return open.toArray(SseConnection[]::new);
  }

  /** {@code GET /v1/live}: the read token was checked before. */
  public void handle(RoutingContext ctx) {
    // no NUL either: no SQL sees these, but every read parameter is refused with one (API.md)
    LiveFilter filter = LiveFilter.parse(QueryParams.text(ctx, "types"), QueryParams.texts(ctx, "type"),
        QueryParams.text(ctx, "streams"), QueryParams.texts(ctx, "stream"), QueryParams.text(ctx, "site"));
    boolean unnamed = unnamed(QueryParams.text(ctx, "unnamed"));
    Long lastEventId = lastEventId(ctx);
    // an id of a history the store no longer has, as far as this process knows: the stream starts where the store's
    // history changed instead, and says so, as a live stream is told (a client of the new history gets those events
    // again: at least once, rather than never)
    Long changedAt = lastEventId == null ? null : changes.resumeFrom(lastEventId);
    Long resumeAfter = changedAt != null ? changedAt : lastEventId;
    if (stopped) {
      throw new ApiError(503, "unavailable", "the gateway is shutting down; try again", null, 1);
    }
    if (!connections.tryOpen()) {
      throw new ApiError(503, "unavailable", "too many live connections; try again later", null, 5);
    }
    HttpServerResponse response = ctx.response()
        .setChunked(true)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache, no-transform")
        // nginx and similar proxies buffer responses unless told not to
        .putHeader("X-Accel-Buffering", "no");
    // the connection counts its unsent bytes itself (see SseWriter), so no write-queue size is set here
    SseConnection connection = new SseConnection(vertx, ctx.request(), filter, unnamed, store, config,
        published, connections, changes, changedAt != null, this::forget);
    open.add(connection);
    // through the context, not the response's own close and end handlers: those would replace the context's, and
    // the stream's access line would be written only when the client closed it (and without what it was sent)
    AccessLog.stream(ctx, connection::accessEnd);
    ctx.addEndHandler(ar -> forget(connection));
    long feed = published.get();
    if (resumeAfter == null) {
      connection.start(feed, false);
    } else if (resumeAfter <= feed) {
      connection.start(resumeAfter, true);
    } else {
      // past what this process has published: maybe committed meanwhile (another gateway process is ahead, or the
      // feed has not read it yet), maybe past the store's last event; the store says which, and what to check
      connection.awaitStore(feed);
      store.lastEvent().onComplete(last -> connection.startAhead(resumeAfter, last));
    }
  }

  /** Once per connection, whichever comes first: the client left, the stream ended, or it was cut off. */
  private void forget(SseConnection connection) {
    if (open.remove(connection)) {
      connection.closed();
      connections.closed();
    }
  }

  private static boolean unnamed(String raw) {
    if (raw == null || raw.equals("false")) {
      return false;
    }
    if (raw.equals("true")) {
      return true;
    }
    throw ApiError.badRequest("invalid_parameter", "unnamed must be true or false");
  }

  /** The header, else the query parameter; a {@code lastEventId} given twice is refused even beside the header. */
  private static Long lastEventId(RoutingContext ctx) {
    String query = QueryParams.once(ctx, "lastEventId");
    String raw = ctx.request().getHeader("Last-Event-ID");
    if (raw == null || raw.isBlank()) {
      raw = query;
    }
    if (raw == null || raw.isBlank()) {
      return null;
    }
    long id = QueryParams.wholeNumber(raw.trim());
    if (id >= 0) {
      return id;
    }
    throw ApiError.badRequest("invalid_parameter", "Last-Event-ID must be an event position (a whole number >= 0)");
  }

  /** Ends every stream (clients reconnect with Last-Event-ID, elsewhere or after the restart). */
  public Future<Void> stop() {
    stopped = true;
    vertx.cancelTimer(heartbeats);
    for (SseConnection c : openNow()) {
      c.end();
    }
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }
}
