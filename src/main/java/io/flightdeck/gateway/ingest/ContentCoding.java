package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.io.ByteArrayOutputStream;
import java.util.Locale;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

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

  /**
   * The bytes of every gzip member in {@code gzipped}, stopping with 413 past {@code maxBytes}; 400 unless the
   * body is one or more whole members (RFC 1952 section 2.2 allows several in a row) and nothing else.
   * GZIPInputStream is not used: it ends quietly at bytes after a member that do not start another one, so
   * {@code gzip(event) + "garbage"} would be stored as if only the event had been sent.
   */
  static byte[] gunzip(byte[] gzipped, int maxBytes) {
    Gunzip gunzip = new Gunzip(gzipped, maxBytes);
    try {
      int at = 0;
      do {
        at = gunzip.member(at);
      } while (at < gzipped.length);
    } catch (DataFormatException e) {
      throw notGzip(e.getMessage());
    } finally {
      gunzip.inflater.end();
    }
    return gunzip.out.toByteArray();
  }

  private static ApiError notGzip(String why) {
    return ApiError.badRequest("invalid_json", "the body is not valid gzip: " + why);
  }

  /** One body being decoded, member after member, into {@code out}. */
  private static final class Gunzip {

    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int RESERVED = 0xe0;

    private final byte[] in;
    private final int maxBytes;
    private final ByteArrayOutputStream out;
    private final Inflater inflater = new Inflater(true);
    private final byte[] chunk = new byte[8192];

    Gunzip(byte[] in, int maxBytes) {
      this.in = in;
      this.maxBytes = maxBytes;
      this.out = new ByteArrayOutputStream(Math.min(maxBytes, Math.max(64, in.length * 4)));
    }

    /** Decodes the member that starts at {@code at}; answers where the next one would start. */
    int member(int at) throws DataFormatException {
      int data = header(at);
      inflater.reset();
      inflater.setInput(in, data, in.length - data);
      CRC32 crc = new CRC32();
      long size = 0;
      while (!inflater.finished()) {
        int n = inflater.inflate(chunk, 0, Math.min(chunk.length, maxBytes + 1 - out.size()));
        if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
          throw notGzip("it ends inside a member");
        }
        out.write(chunk, 0, n);
        crc.update(chunk, 0, n);
        size += n;
        if (out.size() > maxBytes) {
          throw new ApiError(413, "payload_too_large",
              "the body is larger than " + maxBytes + " bytes once decoded (gzip)");
        }
      }
      int trailer = in.length - inflater.getRemaining();
      if (in.length - trailer < 8) {
        throw notGzip("it ends inside a member's trailer");
      }
      // ISIZE is the length modulo 2^32 (section 2.3.1)
      if (int32(trailer) != (int) crc.getValue() || int32(trailer + 4) != (int) size) {
        throw notGzip("a member's CRC-32 or length does not match its data");
      }
      return trailer + 8;
    }

    /** Where the compressed data of the member at {@code at} starts, past its header (section 2.3). */
    private int header(int at) {
      if (in.length - at < 10 || in[at] != (byte) 0x1f || in[at + 1] != (byte) 0x8b || in[at + 2] != 8
          || (in[at + 3] & RESERVED) != 0) {
        throw notGzip(at == 0 ? "it does not start with a gzip header" : "bytes follow its last member");
      }
      int flags = in[at + 3];
      int p = at + 10;
      if ((flags & FEXTRA) != 0) {
        p = p + 2 > in.length ? in.length + 1 : p + 2 + uint16(p);
      }
      p = (flags & FNAME) != 0 ? afterZero(p) : p;
      p = (flags & FCOMMENT) != 0 ? afterZero(p) : p;
      if ((flags & FHCRC) != 0) {
        if (p + 2 > in.length) {
          throw notGzip("it ends inside a member's header");
        }
        CRC32 crc = new CRC32();
        crc.update(in, at, p - at);
        if (((int) crc.getValue() & 0xffff) != uint16(p)) {
          throw notGzip("a member's header CRC does not match");
        }
        p += 2;
      }
      if (p > in.length) {
        throw notGzip("it ends inside a member's header");
      }
      return p;
    }

    /** Just past the zero that ends the string at {@code p}; past the end when there is none. */
    private int afterZero(int p) {
      while (p < in.length && in[p] != 0) {
        p++;
      }
      return p + 1;
    }

    private int uint16(int p) {
      return (in[p] & 0xff) | (in[p + 1] & 0xff) << 8;
    }

    private int int32(int p) {
      return uint16(p) | uint16(p + 2) << 16;
    }
  }

  private static boolean isGzip(String coding) {
    String c = coding.trim().toLowerCase(Locale.ROOT);
    return c.equals("gzip") || c.equals("x-gzip");
  }

  private static boolean isIdentity(String coding) {
    return coding.isBlank() || coding.trim().equalsIgnoreCase("identity");
  }
}
