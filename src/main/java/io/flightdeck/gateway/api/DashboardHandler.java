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
import java.nio.charset.StandardCharsets;
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
 *
 * <p>A page load must run one release's files, but a rolling deploy puts two releases behind one balancer, and the
 * page, its script and its style are three requests that each may reach either. So the page names the script and
 * the style by their content hash ({@code dashboard.js?v=<hash>}): a request naming this release's hash is
 * cacheable for good, one naming another's (answered by the wrong release) gets this release's file and may be
 * stored nowhere. And a build id, the hash of the three files as written, is written into each of them here (in
 * place of {@value #BUILD_MARK}): the script compares its own with the page's and the style's before anything else
 * and, when they differ, reloads the page, once (dashboard.js says how).
 */
public final class DashboardHandler implements Handler<RoutingContext> {

  // the page loads only its own script and style and talks only to this gateway; nothing may frame it or submit
  // its forms anywhere (the token form is handled in script, so a form submitted without it goes nowhere)
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; connect-src 'self'; "
      + "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  /** Cache-Control of a script or style asked for by this release's hash: those bytes never change. */
  static final String IMMUTABLE = "public, max-age=31536000, immutable";

  private static final String ROOT = "static/dashboard/";
  private static final String HTML = "text/html;charset=UTF-8";
  /** Where each file wants the build id. */
  static final String BUILD_MARK = "{{build}}";
  /** Where the page wants the script's and the style's content hash. */
  private static final String JS_HASH_MARK = "{{hash:dashboard.js}}";
  private static final String CSS_HASH_MARK = "{{hash:dashboard.css}}";

  /**
   * A file as sent: its bytes, its media type, the hash of its bytes (its entity tag, and its {@code ?v=}), and
   * whether a request may name it by that hash.
   */
  record Asset(Buffer body, String contentType, String hash, boolean hashed) {

    static Asset of(String text, String contentType, boolean hashed) {
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      return new Asset(Buffer.buffer(bytes), contentType, sha256(bytes).substring(0, 16), hashed);
    }

    /** Strong: the bytes are always sent as they are (no transfer coding changes them). */
    String etag() {
      return "\"" + hash + "\"";
    }
  }

  /**
   * The request paths served, each with its file, read once per process (every HTTP verticle serves the same
   * bytes); {@code /dashboard} (no slash) is redirected to the folder.
   */
  static final Map<String, Asset> FILES = files();

  private static Map<String, Asset> files() {
    String html = resource("index.html");
    String js = resource("dashboard.js");
    String css = resource("dashboard.css");
    // the files as written: a release that changes none of them has the same build, and reloads no page
    String build = sha256(String.join("\u0000", html, js, css).getBytes(StandardCharsets.UTF_8)).substring(0, 16);
    Asset script = Asset.of(mark(js, BUILD_MARK, build), "text/javascript;charset=UTF-8", true);
    Asset style = Asset.of(mark(css, BUILD_MARK, build), "text/css;charset=UTF-8", true);
    Asset index = Asset.of(mark(mark(mark(html, BUILD_MARK, build), JS_HASH_MARK, script.hash()), CSS_HASH_MARK,
        style.hash()), HTML, false);
    return Map.of(
        "/", index,
        "/dashboard/", index,
        "/dashboard/index.html", index,
        "/dashboard/dashboard.js", script,
        "/dashboard/dashboard.css", style);
  }

  /** {@code text} with {@code value} in place of {@code mark}, which it must hold (the build would be wrong). */
  private static String mark(String text, String mark, String value) {
    if (!text.contains(mark)) {
      throw new IllegalStateException("a dashboard file lacks " + mark);
    }
    return text.replace(mark, value);
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    response.headers()
        .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer")
        .set("X-Frame-Options", "DENY");
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
    response.putHeader(HttpHeaders.CACHE_CONTROL, cacheControl(asset, ctx.request().getParam("v")));
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

  /**
   * The page, and a file asked for without a hash, are revalidated (ETag) on every load, so a new release shows at
   * once. A script or style asked for by its hash is those bytes for good. One asked for by another hash was asked
   * for by another release's page and reached this release: it is sent (the page's script then reloads it), but
   * never stored, so no cache keeps these bytes under that other release's name.
   */
  static String cacheControl(Asset asset, String version) {
    if (version == null || !asset.hashed()) {
      return "no-cache";
    }
    return version.equals(asset.hash()) ? IMMUTABLE : "no-store";
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

  private static String resource(String file) {
    String name = ROOT + file;
    try (InputStream in = DashboardHandler.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
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
