package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RouteTableTest {

  private Vertx vertx;
  private final RouteTable routes = new RouteTable();

  @BeforeEach
  void learnRoutes() {
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    HttpVerticle.get(router, "/").handler(ctx -> ctx.end());
    HttpVerticle.get(router, "/dashboard/*").handler(ctx -> ctx.end());
    HttpVerticle.get(router, "/v1/streams/:streamId/events").handler(ctx -> ctx.end());
    routes.learn(router);
  }

  @AfterEach
  void closeVertx() {
    vertx.close().await();
  }

  @Test
  @DisplayName("a path under a wildcard route (the dashboard's assets) is named by that route's template, as its "
      + "metrics label is, not (unmatched), and a 405 there lists the methods it answers in Allow")
  void wildcardRoute() {
    // Vert.x reports the route "/dashboard/*" as the path "/dashboard/" (not exact): every path under it matches,
    // and so does "/dashboard" itself (the redirect to "/dashboard/")
    assertEquals("/dashboard/", routes.template(HttpMethod.GET, "/dashboard/dashboard.js"));
    assertEquals("/dashboard/", routes.template(HttpMethod.HEAD, "/dashboard/dashboard.css"));
    assertEquals("/dashboard/", routes.template(HttpMethod.GET, "/dashboard/"));
    assertEquals("/dashboard/", routes.template(HttpMethod.GET, "/dashboard"));
    assertEquals("GET, HEAD", routes.allowed("/dashboard/dashboard.js"));
    assertEquals("(unmatched)", routes.template(HttpMethod.GET, "/dashboardx"));
    assertEquals("(unmatched)", routes.template(HttpMethod.POST, "/dashboard/dashboard.js"));
  }

  @Test
  @DisplayName("exact routes and routes with parameters match their own paths only")
  void exactRoutes() {
    assertEquals("/", routes.template(HttpMethod.GET, "/"));
    assertEquals("(unmatched)", routes.template(HttpMethod.GET, "/x"));
    assertEquals("/v1/streams/:streamId/events", routes.template(HttpMethod.GET, "/v1/streams/visitor-42/events"));
    assertEquals("(unmatched)", routes.template(HttpMethod.GET, "/v1/streams/a/b/events"));
    assertEquals("", routes.allowed("/nope"));
  }
}
