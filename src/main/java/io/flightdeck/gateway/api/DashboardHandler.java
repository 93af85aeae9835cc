package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * {@code GET /} and {@code GET /dashboard/*}: the live dashboard, static files from the jar
 * ({@code static/dashboard}). No token here: the page asks for the read token and sends it to the read API itself.
 */
public final class DashboardHandler implements Handler<RoutingContext> {

  // the page loads only its own script and style and talks only to this gateway; nothing may frame it or submit
  // its forms anywhere (the token form is handled in script, so a form submitted without it goes nowhere)
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; connect-src 'self'; "
      + "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private final StaticHandler files = StaticHandler.create("static/dashboard")
      .setDirectoryListing(false)
      .setIncludeHidden(false)
      .setFilesReadOnly(true)
      .setDefaultContentEncoding("UTF-8");

  @Override
  public void handle(RoutingContext ctx) {
    ctx.response().headers()
        .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer")
        .set("X-Frame-Options", "DENY")
        // the file names carry no version: browsers revalidate (Last-Modified) so a new release shows at once
        .set(HttpHeaders.CACHE_CONTROL, "no-cache");
    files.handle(ctx);
  }
}
