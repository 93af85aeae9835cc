package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.MimeMapping;
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

  /** What {@link #files} sends its text files as: {@code text/...;charset=UTF-8}. */
  private static final String ENCODING = "UTF-8";

  private final StaticHandler files = StaticHandler.create("static/dashboard")
      .setDirectoryListing(false)
      .setIncludeHidden(false)
      .setFilesReadOnly(true)
      .setDefaultContentEncoding(ENCODING);

  @Override
  public void handle(RoutingContext ctx) {
    ctx.response().headers()
        .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer")
        .set("X-Frame-Options", "DENY")
        // the file names carry no version: browsers revalidate (Last-Modified) so a new release shows at once
        .set(HttpHeaders.CACHE_CONTROL, "no-cache");
    if (ctx.request().method() == HttpMethod.HEAD) {
      // Vert.x's StaticHandler ends a HEAD answer before it sets Content-Type (only GET gets one); docs/API.md:
      // HEAD answers with the same status and headers as GET
      String path = ctx.normalizedPath();
      String file = path.endsWith("/") ? "index.html" : path.substring(path.lastIndexOf('/') + 1);
      HttpServerResponse response = ctx.response();
      response.headersEndHandler(v -> {
        if (response.getStatusCode() == 200 && !response.headers().contains(HttpHeaders.CONTENT_TYPE)) {
          String type = MimeMapping.mimeTypeForFilename(file);
          if (type != null) {
            response.putHeader(HttpHeaders.CONTENT_TYPE,
                type.startsWith("text") ? type + ";charset=" + ENCODING : type);
          }
        }
      });
    }
    files.handle(ctx);
  }
}
