package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * {@code GET /} and {@code GET /dashboard/*}: the live dashboard, static files from the jar
 * ({@code static/dashboard}). No token here: the page asks for the read token and sends it to the read API itself.
 *
 * <p>The files are read once per process and revalidated by a hash of their content ({@code ETag}), never by a
 * time: Vert.x's StaticHandler sent as {@code Last-Modified} the time this process first served a file, so a
 * browser whose copy another gateway process had validated (another release behind the same balancer, or the same
 * release first served later) sent an {@code If-Modified-Since} that looked newer, and kept its stale page or script
 * (a {@code 304}). A new file must be added to {@link #FILES}.
 */
public final class DashboardHandler implements Handler<RoutingContext> {

  // the page loads only its own script and style and talks only to this gateway; nothing may frame it or submit
  // its forms anywhere (the token form is handled in script, so a form submitted without it goes nowhere)
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; connect-src 'self'; "
      + "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private static final String ROOT = "static/dashboard/";
  private static final String HTML = "text/html;charset=UTF-8";

  /** A file as sent: its bytes, its media type and its entity tag. */
  record Asset(Buffer body, String contentType, String etag) {

    static Asset read(String name, String contentType) {
      byte[] bytes = resource(ROOT + name);
      // strong: the bytes are always sent as they are (no transfer coding changes them)
      return new Asset(Buffer.buffer(bytes), contentType, "\"" + sha256(bytes).substring(0, 16) + "\"");
    }
  }

  /**
   * The request paths served, each with its file, read once per process (every HTTP verticle serves the same
   * bytes); {@code /dashboard} (no slash) is redirected to the folder.
   */
  static final Map<String, Asset> FILES = files();

  private static Map<String, Asset> files() {
    Asset index = Asset.read("index.html", HTML);
    return Map.of(
        "/", index,
        "/dashboard/", index,
        "/dashboard/index.html", index,
        "/dashboard/dashboard.js", Asset.read("dashboard.js", "text/javascript;charset=UTF-8"),
        "/dashboard/dashboard.css", Asset.read("dashboard.css", "text/css;charset=UTF-8"));
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    response.headers()
        .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer")
        .set("X-Frame-Options", "DENY")
        // the file names carry no version: browsers revalidate (ETag) so a new release shows at once
        .set(HttpHeaders.CACHE_CONTROL, "no-cache");
    String path = ctx.normalizedPath();
    if (path.equals("/dashboard")) {
      response.setStatusCode(301).putHeader(HttpHeaders.LOCATION, "/dashboard/").end();
      return;
    }
    Asset asset = FILES.get(path);
    if (asset == null) {
      // no listing, no other file: the router's 404 not_found
      ctx.next();
      return;
    }
    response.putHeader(HttpHeaders.ETAG, asset.etag());
    // RFC 9110 section 13.1.3: with If-None-Match, If-Modified-Since is ignored; without it, so is a time here
    if (matches(ctx.request().getHeader(HttpHeaders.IF_NONE_MATCH), asset.etag())) {
      response.setStatusCode(304).end();
      return;
    }
    response.putHeader(HttpHeaders.CONTENT_TYPE, asset.contentType());
    if (ctx.request().method() == HttpMethod.HEAD) {
      // the headers a GET would get, the length included, and no body
      response.putHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(asset.body().length())).end();
    } else {
      response.end(asset.body());
    }
  }

  // weak comparison (RFC 9110 section 8.8.3.2), as If-None-Match asks: a W/ tag a cache kept matches too
  static boolean matches(String ifNoneMatch, String etag) {
    if (ifNoneMatch == null) {
      return false;
    }
    for (String tag : ifNoneMatch.split(",")) {
      String t = tag.trim();
      if (t.startsWith("W/")) {
        t = t.substring(2);
      }
      if (t.equals("*") || t.equals(etag)) {
        return true;
      }
    }
    return false;
  }

  private static byte[] resource(String name) {
    try (InputStream in = DashboardHandler.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
