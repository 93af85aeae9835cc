package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * The content coding of an ingest body (RFC 9110 section 8.4): none ({@code identity}) or {@code gzip}, which
 * server-side SDKs use for their batches. Any other coding is refused before the body is read, with 415 and the
 * codings this server takes in {@code Accept-Encoding} (section 12.5.3), instead of being ignored and its bytes
 * read as JSON. A gzip body is decoded after it has arrived (the wire body has the usual limit) and its decoded
 * size has the same limit, checked while decoding: a small body that inflates beyond it stops there, with 413.
 */
public final class ContentCoding {

  /** What a 415 offers in {@code Accept-Encoding}. */
  static final String ACCEPTED = "gzip";

  private ContentCoding() {
  }

  /** 415 unsupported_media_type unless the body is sent without a coding or with gzip (once). */
  public static Handler<RoutingContext> requireSupported() {
    return ctx -> {
      String coding = ctx.request().getHeader(HttpHeaders.CONTENT_ENCODING);
      if (coding == null || isGzip(coding) || isIdentity(coding)) {
        ctx.next();
        return;
      }
      ctx.response().putHeader(HttpHeaders.ACCEPT_ENCODING, ACCEPTED);
      ctx.fail(new ApiError(415, "unsupported_media_type",
          "Content-Encoding must be gzip or none (got " + coding + ")"));
    };
  }

  /** Whether the request's body is sent gzip-compressed. */
  public static boolean isGzip(HttpServerRequest request) {
    String coding = request.getHeader(HttpHeaders.CONTENT_ENCODING);
    return coding != null && isGzip(coding);
  }

  /** The request's body with its coding undone; at most {@code maxBytes} once decoded, else 413. */
  static Buffer decoded(RoutingContext ctx, int maxBytes) {
    Buffer body = ctx.body().buffer();
    return body == null || !isGzip(ctx.request()) ? body : Buffer.buffer(gunzip(body.getBytes(), maxBytes));
  }

  /** The bytes of every gzip member in {@code gzipped}, stopping with 413 past {@code maxBytes}. */
  static byte[] gunzip(byte[] gzipped, int maxBytes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(maxBytes, Math.max(64, gzipped.length * 4)));
    byte[] chunk = new byte[8192];
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped), chunk.length)) {
      int n;
      while ((n = in.read(chunk, 0, Math.min(chunk.length, maxBytes + 1 - out.size()))) > 0) {
        out.write(chunk, 0, n);
        if (out.size() > maxBytes) {
          throw new ApiError(413, "payload_too_large",
              "the body is larger than " + maxBytes + " bytes once decoded (gzip)");
        }
      }
    } catch (IOException e) {
      throw ApiError.badRequest("invalid_json", "the body is not valid gzip: " + e.getMessage());
    }
    return out.toByteArray();
  }

  private static boolean isGzip(String coding) {
    String c = coding.trim().toLowerCase(Locale.ROOT);
    return c.equals("gzip") || c.equals("x-gzip");
  }

  private static boolean isIdentity(String coding) {
    return coding.isBlank() || coding.trim().equalsIgnoreCase("identity");
  }
}
