package io.flightdeck.gateway.api;

import io.flightdeck.gateway.config.HttpConfig;
import io.flightdeck.gateway.ingest.ContentCoding;
import io.flightdeck.gateway.ingest.IngestRoutes;
import io.flightdeck.gateway.ingest.segment.SegmentHandler;
import io.flightdeck.gateway.live.LiveHub;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.concurrent.TimeUnit;

/** One HTTP server instance; deployed once per event loop, all sharing the same port and services. */
public final class HttpVerticle extends VerticleBase {

  private final GatewayServices services;
  private final int port;
  private HttpServer server;
  private LiveHub live;
  private PendingBodies bodies;

  public HttpVerticle(GatewayServices services, int port) {
    this.services = services;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    HttpConfig http = services.config().http();
    HttpServerOptions options = Http2HeaderLimit.configure(new HttpServerOptions())
        .setHost(http.host())
        .setPort(port)
        .setIdleTimeout(http.idleTimeoutSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setTcpNoDelay(true)
        // off: every connection reaches the connection guard on accept (see HeaderDeadline)
        .setHttp2ClearTextEnabled(http.http2ClearText());
    live = services.liveHubs().apply(vertx);
    bodies = new PendingBodies(vertx);
    RouteTable routes = new RouteTable();
    AccessLog accessLog = new AccessLog(routes);
    // the router's failure handler, which also answers the requests HTTP itself refuses
    FailureHandler failures = new FailureHandler(services.gatewayMetrics(), routes, accessLog);
    Router router = router(routes, accessLog, failures);
    server = vertx.createHttpServer(options)
        .connectionHandler(connection -> services.connections().accept(connection, options))
        .invalidRequestHandler(failures::invalidRequestCounted)
        .requestHandler(Http2HeaderLimit.around(router, failures));
    return live.start().compose(v -> server.listen());
  }

  /** The route table: what the gateway answers, in one place; {@code routes} learns it. */
  private Router router(RouteTable routes, AccessLog accessLog, FailureHandler failures) {
    // no router.allowForward: the client address behind a trusted proxy is read by ForwardedClient alone (Vert.x
    // would take the first X-Forwarded-For entry, which the client writes), and nothing uses a forwarded host or scheme
    Router router = Router.router(vertx);
    router.route().handler(accessLog);
    router.route().handler(new BodyDeadline(services.config().http().bodyReadTimeoutMs(), bodies,
        IngestRoutes::isTrackingPost));
    router.route().handler(IngestRoutes.beforeQueryCheck(services.sites()));
    router.route().handler(QueryParams::requireDecodable);
    BearerAuth readAuth = new BearerAuth(services.config().readToken());
    BearerAuth adminAuth = new BearerAuth(services.config().adminToken());

    ingestRoute(router, routes, "/v1/events", services.ingest());
    // the Segment-compatible API (docs/SEGMENT.md), with the same checks and limits
    SegmentHandler.PATHS.forEach((path, call) -> ingestRoute(router, routes, path, services.segment().handler(call)));
    get(router, "/v1/schemas").handler(ctx -> ReadHandlers.send(ctx, services.schemas().describe()));
    get(router, "/v1/streams/:streamId/events").handler(readAuth).handler(services.reads()::stream);
    // an empty stream id: the router joins /v1/streams//events into this before matching, and 404 would say no such
    // resource where the id is what is wrong (400 invalid_parameter, as /v1/forms//submissions answers)
    get(router, "/v1/streams/events").handler(readAuth).handler(services.reads()::stream);
    get(router, "/v1/events").handler(readAuth).handler(services.reads()::all);
    get(router, "/v1/events/head").handler(readAuth).handler(services.reads()::head);
    router.get("/v1/live").handler(readAuth).handler(live::handle);
    get(router, "/v1/visitors/:streamId").handler(readAuth).handler(services.readModels()::visitor);
    get(router, "/v1/pages").handler(readAuth).handler(services.readModels()::pages);
    get(router, "/v1/forms/:formId/submissions").handler(readAuth).handler(services.readModels()::formSubmissions);
    // the same with ?formId=: the forms . and .. have no path (dot segments are removed before routing)
    get(router, "/v1/forms/submissions").handler(readAuth).handler(services.readModels()::formSubmissions);
    get(router, "/v1/event-counts").handler(readAuth).handler(services.readModels()::eventCounts);
    get(router, "/v1/admin/projections").handler(adminAuth).handler(services.admin()::projections);
    // the actions that change something start only once their body arrived (AdminHandlers.onceBodyEnded)
    router.post("/v1/admin/projections/:name/rebuild").handler(adminAuth).handler(AdminHandlers::onceBodyEnded)
        .handler(services.admin()::rebuild);
    get(router, "/v1/admin/dead-letters").handler(adminAuth).handler(services.admin()::deadLetters);
    router.post("/v1/admin/dead-letters/:id/retry").handler(adminAuth).handler(AdminHandlers::onceBodyEnded)
        .handler(services.admin()::retry);
    if (services.config().metrics().port() == 0) {
      services.metricsEndpoint().route(router);
    }
    get(router, "/health/live").handler(services.health()::live);
    get(router, "/health/ready").handler(services.health()::ready);
    DashboardHandler dashboard = new DashboardHandler();
    get(router, "/").handler(dashboard);
    get(router, "/dashboard/*").handler(dashboard);
    // the tracking snippet (docs/SNIPPET.md): the current one, and this build's under its content hash
    SnippetHandler snippet = SnippetHandler.shared();
    get(router, "/fd.js").handler(snippet::latest);
    get(router, snippet.pinnedPath()).handler(snippet::pinned);

    routes.learn(router);
    router.route().failureHandler(failures);
    // a path parameter that does not decode (/v1/streams/%zz/events) fails while routing, before any route
    router.errorHandler(400, failures.withStatus(400));
    router.errorHandler(404, failures);
    router.errorHandler(405, failures);
    router.errorHandler(500, failures);
    return router;
  }

  /**
   * A route for GET and HEAD (RFC 9110: a server answers HEAD wherever it answers GET); Vert.x sends a HEAD answer's
   * headers without its body, and without Content-Length (RFC 9110 section 8.6 allows leaving it out). Not the live
   * feed: a HEAD there would open a stream.
   */
  public static Route get(Router router, String path) {
    return router.route(path).method(HttpMethod.GET).method(HttpMethod.HEAD);
  }

  /**
   * A tracking route: the cheap checks (media type, the process's body budget) run before the body is read, then
   * the body handler with the contract's limit, then {@code handler}. One route, so metrics and the access log name
   * it by its path. Its body deadline ({@link BodyDeadline}) and CORS headers ({@link IngestRoutes#beforeQueryCheck})
   * come first.
   */
  private void ingestRoute(Router router, RouteTable routes, String path, Handler<RoutingContext> handler) {
    router.route(HttpMethod.OPTIONS, path)
        .handler(ctx -> optionsWithoutOrigin(ctx, routes))
        .handler(IngestRoutes.preflight(services.sites()));
    router.post(path)
        .handler(IngestRoutes.beforeBody(IngestRoutes.requireJsonOrText()))
        .handler(IngestRoutes.beforeBody(ContentCoding.requireSupported()))
        .handler(IngestRoutes.beforeBody(services.bodies().reserve()))
        .handler(BodyHandler.create(false).setBodyLimit(services.config().ingest().maxBodyBytes()))
        .handler(handler);
  }

  /**
   * An OPTIONS request without {@code Origin} is no CORS preflight but a question about the resource (RFC 9110
   * section 9.3.7): 204 with the methods its path answers in {@code Allow}. With an {@code Origin}, the preflight.
   */
  private static void optionsWithoutOrigin(RoutingContext ctx, RouteTable routes) {
    if (ctx.request().getHeader(HttpHeaders.ORIGIN) != null) {
      ctx.next();
      return;
    }
    ctx.response().putHeader(HttpHeaders.ALLOW, routes.allowed(ctx)).setStatusCode(204).end();
  }

  /** The port actually bound (useful when configured as 0). */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> stop() {
    // answer the bodies that stall from now on (503: the drain would wait for them until the shutdown timeout), end
    // the live streams (clients resume elsewhere with Last-Event-ID), then stop accepting; connections close once
    // their in-flight request (and its append) is answered
    bodies.drain();
    return live.stop().eventually(() ->
        server.shutdown(services.config().http().shutdownTimeoutMs(), TimeUnit.MILLISECONDS));
  }
}
