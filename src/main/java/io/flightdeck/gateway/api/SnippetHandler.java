package io.flightdeck.gateway.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * {@code GET /fd.js} and {@code GET /fd.<hash>.js}: the tracking snippet, {@code static/snippet/fd.min.js} from the
 * jar, minified at build time from the readable {@code static/snippet/fd.js} (src/build/java/MinifySnippet.java,
 * Closure Compiler; docs/SNIPPET.md), kept gzip-compressed in memory. {@code /fd.js} is
 * cached for five minutes and revalidated by its ETag; the content-hashed URL never changes and is cached for a
 * year.
 */
public final class SnippetHandler {

  static final String SOURCE = "static/snippet/fd.min.js";
  static final String LATEST_CACHE = "public, max-age=300";
  static final String PINNED_CACHE = "public, max-age=31536000, immutable";
  static final String CONTENT_TYPE = "text/javascript; charset=utf-8";

  private static final class Shared {
    // read once per process: every HTTP verticle instance serves the same bytes
    static final SnippetHandler INSTANCE = new SnippetHandler(read(SOURCE));
  }

  private final Buffer plain;
  private final Buffer gzipped;
  private final String hash;
  private final String etag;

  SnippetHandler(String source) {
    byte[] bytes = source.getBytes(StandardCharsets.UTF_8);
    this.plain = Buffer.buffer(bytes);
    this.gzipped = Buffer.buffer(gzip(bytes));
    this.hash = sha256(bytes).substring(0, 16);
    // weak: the gzip-encoded and plain bodies are the same script
    this.etag = "W/\"" + hash + "\"";
  }

  /** The snippet in the jar. */
  public static SnippetHandler shared() {
    return Shared.INSTANCE;
  }

  /** The content-hashed path, {@code /fd.<first 16 hex digits of SHA-256>.js}. */
  public String pinnedPath() {
    return "/fd." + hash + ".js";
  }

  /** {@code GET /fd.js}: the current snippet, cached briefly, so a new release reaches sites within minutes. */
  public void latest(RoutingContext ctx) {
    send(ctx, LATEST_CACHE);
  }

  /** {@code GET /fd.<hash>.js}: this exact content, cacheable forever (and usable with Subresource Integrity). */
  public void pinned(RoutingContext ctx) {
    send(ctx, PINNED_CACHE);
  }

  /** Bytes a browser downloads: the gzip-compressed body. */
  int gzippedSize() {
    return gzipped.length();
  }

  String body() {
    return plain.toString(StandardCharsets.UTF_8);
  }

  private void send(RoutingContext ctx, String cacheControl) {
    HttpServerResponse response = ctx.response();
    response.headers()
        .set(HttpHeaders.CACHE_CONTROL, cacheControl)
        .set(HttpHeaders.ETAG, etag)
        .set(HttpHeaders.VARY, "Accept-Encoding")
        .set(HttpHeaders.CONTENT_LOCATION, pinnedPath())
        .set("X-Content-Type-Options", "nosniff")
        // a script tag needs neither; they let a site load it with integrity= and crossorigin, or under COEP
        .set(HttpHeaders.ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .set("Cross-Origin-Resource-Policy", "cross-origin");
    if (matches(ctx.request().getHeader(HttpHeaders.IF_NONE_MATCH))) {
      response.setStatusCode(304).end();
      return;
    }
    response.putHeader(HttpHeaders.CONTENT_TYPE, CONTENT_TYPE);
    Buffer body = plain;
    if (acceptsGzip(ctx.request().getHeader(HttpHeaders.ACCEPT_ENCODING))) {
      response.putHeader(HttpHeaders.CONTENT_ENCODING, "gzip");
      body = gzipped;
    }
    if (ctx.request().method() == HttpMethod.HEAD) {
      // the headers a GET would get, the length included, and no body
      response.putHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(body.length())).end();
    } else {
      response.end(body);
    }
  }

  private boolean matches(String ifNoneMatch) {
    if (ifNoneMatch == null) {
      return false;
    }
    for (String tag : ifNoneMatch.split(",")) {
      String t = tag.trim();
      if (t.equals("*") || t.equals(etag) || t.equals(etag.substring(2))) {
        return true;
      }
    }
    return false;
  }

  static boolean acceptsGzip(String acceptEncoding) {
    if (acceptEncoding == null) {
      return false;
    }
    for (String coding : acceptEncoding.toLowerCase(Locale.ROOT).split(",")) {
      String[] parts = coding.trim().split(";");
      if (parts[0].trim().equals("gzip")) {
        return parts.length == 1 || !parts[1].replace(" ", "").matches("q=0(\\.0*)?");
      }
    }
    return false;
  }

  private static byte[] gzip(byte[] bytes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 2);
    try (GZIPOutputStream gz = new GZIPOutputStream(out) {
      {
        def.setLevel(Deflater.BEST_COMPRESSION);
      }
    }) {
      gz.write(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String read(String resource) {
    try (InputStream in = SnippetHandler.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
