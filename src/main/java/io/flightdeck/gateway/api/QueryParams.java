package io.flightdeck.gateway.api;

import io.vertx.core.MultiMap;
import io.vertx.ext.web.RoutingContext;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The request's path and query parameters, each answered with 400 invalid_parameter when off. Handlers read
 * every parameter through here, so none can carry a NUL character into SQL: PostgreSQL refuses U+0000 in text
 * (SQLSTATE 22021), which would otherwise fail the query and answer 500; and none given twice is read as its first
 * value ({@link #once}).
 */
public final class QueryParams {

  private static final int MAX_STREAM_ID = 200;
  private static final String NON_ASCII_HINT = "send it percent-encoded as UTF-8 (é as %C3%A9)";

  private QueryParams() {
  }

  /**
   * First on every route: a query string whose percent-escapes do not decode ({@code %zz}, a lone {@code %}) is
   * the client's mistake, 400 invalid_parameter, before any handler reads a parameter. Left to Netty's decoder it
   * throws from whichever handler asks first: a 500, and an error log line whose message holds the whole URL,
   * an {@code access_token} parameter included. So is a path or query holding a character that is not ASCII
   * ({@link #isAscii}), or whose escapes are not UTF-8 ({@link #escapesAreUtf8}).
   */
  public static void requireDecodable(RoutingContext ctx) {
    String query = ctx.request().query();
    if (query != null && !isAscii(query)) {
      ctx.fail(ApiError.badRequest("invalid_parameter", "the query string holds a character that is not ASCII: "
          + NON_ASCII_HINT));
      return;
    }
    String path = ctx.request().path();
    if (path != null && !isAscii(path)) {
      ctx.fail(ApiError.badRequest("invalid_request", "the path holds a character that is not ASCII: "
          + NON_ASCII_HINT));
      return;
    }
    if (query != null && query.indexOf('%') >= 0) {
      try {
        params(ctx);
      } catch (IllegalArgumentException e) {
        ctx.fail(ApiError.badRequest("invalid_parameter", "the query string holds a malformed percent-escape"));
        return;
      }
      if (!escapesAreUtf8(query)) {
        ctx.fail(ApiError.badRequest("invalid_parameter", "the query string's percent-escapes are not UTF-8"));
        return;
      }
    }
    if (path != null && path.indexOf('%') >= 0 && !escapesAreUtf8(path)) {
      ctx.fail(ApiError.badRequest("invalid_request", "the path's percent-escapes are not UTF-8"));
      return;
    }
    ctx.next();
  }

  /**
   * Whether {@code raw} (a request's path or query, as it came) is ASCII, as RFC 3986 has a URI. Netty reads the
   * request line byte by byte as Latin-1, so a character sent as such (curl sends a query's unescaped) arrives as
   * its UTF-8 bytes, each a character of its own: {@code ?site=démo} was read as the site "dÃ©mo" and answered
   * nothing, a stream id in the path likewise. It is refused rather than guessed at.
   */
  static boolean isAscii(String raw) {
    for (int i = 0; i < raw.length(); i++) {
      if (raw.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the bytes {@code raw}'s percent-escapes stand for (with the ASCII characters around them) are
   * well-formed UTF-8. Vert.x decodes a malformed sequence ({@code %FF}, the overlong {@code %C0%AF}, a lone
   * {@code %C3}) to U+FFFD without a word, so {@code /v1/streams/%FF/events} would read the stream named "\uFFFD".
   * A malformed escape itself ({@code %zz}) is not looked at here: the decoders refuse it. {@code raw} is ASCII
   * ({@link #isAscii} comes first).
   */
  static boolean escapesAreUtf8(String raw) {
    ByteBuffer bytes = ByteBuffer.allocate(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%' && i + 2 < raw.length() && hex(raw.charAt(i + 1)) >= 0 && hex(raw.charAt(i + 2)) >= 0) {
        bytes.put((byte) (hex(raw.charAt(i + 1)) << 4 | hex(raw.charAt(i + 2))));
        i += 2;
      } else {
        bytes.put((byte) c);
      }
    }
    bytes.flip();
    try {
      StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(bytes);
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  /** The value of an ASCII hex digit; -1 for anything else. */
  private static int hex(char c) {
    return c < 0x80 ? Character.digit(c, 16) : -1;
  }

  /**
   * The query's parameters, split at {@code &} alone. Vert.x's {@code params()} also splits at {@code ;}, as HTML 4
   * once had it: {@code ?formId=a;b} was the form "a", {@code ?site=demo;x} the site demo and
   * {@code ?limit=1;after=3} a second parameter, an answer to a question the client did not ask. Here a {@code ;} is
   * part of its value, as the URL standard's form encoding reads it. Read only through here: Vert.x keeps the map of
   * the last way asked for.
   */
  private static MultiMap params(RoutingContext ctx) {
    return ctx.request().params(true);
  }

  /** A query parameter as sent; null when absent. 400 when given more than once or holding a NUL. */
  public static String text(RoutingContext ctx, String name) {
    return withoutNul(name, once(ctx, name));
  }

  /**
   * A query parameter that takes one value, as sent; null when absent. Given more than once it is 400
   * invalid_parameter: {@code ?after=5&after=100} has no one meaning, and taking the first value would answer a
   * question the client may not have asked. Vert.x matches names without regard to case, so {@code after} and
   * {@code AFTER} are the same parameter, read either way. Without the NUL check, for what is compared and never
   * reaches SQL (a token, a write key), where a NUL is just a value that matches nothing.
   */
  public static String once(RoutingContext ctx, String name) {
    List<String> values = params(ctx).getAll(name);
    if (values.size() > 1) {
      throw ApiError.badRequest("invalid_parameter", name + " is given more than once (" + values.size()
          + " times); give it once");
    }
    return values.isEmpty() ? null : values.get(0);
  }

  /** Every value of a repeatable query parameter, in order; empty when absent. */
  public static List<String> texts(RoutingContext ctx, String name) {
    List<String> values = params(ctx).getAll(name);
    values.forEach(v -> withoutNul(name, v));
    return values;
  }

  /**
   * A query parameter that has a default: null when absent or empty. An empty value ({@code ?at=}) is the default,
   * as a form or a script's unset variable sends it, for every parameter of the read API but a filter that must be
   * said in full (a live feed's {@code site}, {@code /v1/pages}' {@code site}).
   */
  static String optional(RoutingContext ctx, String name) {
    String value = text(ctx, name);
    return value == null || value.isEmpty() ? null : value;
  }

  /** A path parameter (decoded, so {@code %00} is a NUL); null when the route has none of that name. */
  static String path(RoutingContext ctx, String name) {
    return withoutNul(name, ctx.pathParam(name));
  }

  /** The {@code :streamId} path parameter: 1 to 200 characters, as ingest takes it. */
  static String streamId(RoutingContext ctx) {
    String streamId = path(ctx, "streamId");
    if (streamId == null || streamId.isEmpty() || streamId.codePointCount(0, streamId.length()) > MAX_STREAM_ID) {
      throw ApiError.badRequest("invalid_parameter", "streamId must be 1 to " + MAX_STREAM_ID + " characters");
    }
    return streamId;
  }

  /** A whole number in ASCII digits (no sign) from {@code min} (at least 0) to {@code max}; 400 otherwise. */
  static long number(RoutingContext ctx, String name, long fallback, long min, long max) {
    String raw = optional(ctx, name);
    if (raw == null) {
      return fallback;
    }
    long value = wholeNumber(raw);
    if (value >= 0 && value >= min && value <= max) {
      return value;
    }
    throw ApiError.badRequest("invalid_parameter", name + " must be a whole number from " + min + " to " + max);
  }

  /**
   * {@code text} as a whole number in ASCII digits, as the gateway writes numbers; -1 when it is anything else
   * (empty, signed, past Long.MAX_VALUE, or in another script's digits, which Long.parseLong alone would take).
   */
  public static long wholeNumber(String text) {
    if (text.isEmpty() || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return -1;
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String withoutNul(String name, String value) {
    if (value != null && value.indexOf('\u0000') >= 0) {
      throw ApiError.badRequest("invalid_parameter", name + " must not contain the NUL character (%00)");
    }
    return value;
  }
}
