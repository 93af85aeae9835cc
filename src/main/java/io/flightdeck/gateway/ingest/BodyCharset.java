package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The character set of a tracking body. JSON is UTF-8 (RFC 8259 section 8.1), and {@code application/json} has no
 * {@code charset} parameter: one there changes nothing. For {@code text/plain} it says what the bytes are (RFC 2046):
 * a Java client's {@code text/plain; charset=ISO-8859-1} body has {@code é} as the one byte E9, and its
 * {@code Ã©} as C3 A9, which read as UTF-8 would be stored as another text, {@code é}. Such a body is decoded in
 * the charset it names (ISO-8859-1, windows-1252, ISO-8859-15, UTF-16 or UTF-32, or UTF-8 and US-ASCII, read as they
 * are); another one (or two different ones) is refused with 415 before the body is read.
 */
final class BodyCharset {

  /**
   * The charsets a text/plain body may name, by every name and alias the JVM knows them by: looking up any other name
   * with {@code Charset.forName} scans the class path's charset providers, some 150 µs on the event loop each time.
   */
  private static final Map<String, Charset> KNOWN = known();

  private BodyCharset() {
  }

  /**
   * The charset a body of {@code contentType} is written in when it must be transcoded to UTF-8, or null when it is
   * read as UTF-8 as it is (no charset, UTF-8 or US-ASCII, or not {@code text/plain}). 415 when the charset is not
   * one of {@link #KNOWN}, or two different ones are named.
   */
  static Charset of(String contentType) {
    if (contentType == null) {
      return null;
    }
    String[] parts = contentType.split(";");
    if (!parts[0].trim().equalsIgnoreCase("text/plain")) {
      return null;
    }
    Charset charset = null;
    for (int i = 1; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      if (eq >= 0 && parts[i].substring(0, eq).trim().equalsIgnoreCase("charset")) {
        Charset named = charset(unquoted(parts[i].substring(eq + 1).trim()));
        if (charset != null && !charset.equals(named)) {
          throw unsupported("names two charsets, " + charset.name() + " and " + named.name());
        }
        charset = named;
      }
    }
    if (charset == null) {
      return null;
    }
    // US-ASCII is UTF-8's first 128 characters: read as UTF-8, as a body that names no charset is
    return charset.equals(StandardCharsets.UTF_8) || charset.equals(StandardCharsets.US_ASCII) ? null : charset;
  }

  /**
   * {@code body}, written in {@code charset}, as UTF-8; 400 invalid_json when it is not well-formed in it, 413 when
   * it is more than {@code maxBytes} once in UTF-8 (the body limit holds for what is parsed, as for a gzip body).
   */
  static byte[] toUtf8(byte[] body, Charset charset, int maxBytes) {
    CharBuffer text;
    try {
      text = charset.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body));
    } catch (CharacterCodingException e) {
      throw ApiError.badRequest("invalid_json", "the body is not well-formed " + charset.name()
          + ", the charset its Content-Type names");
    }
    ByteBuffer utf8 = StandardCharsets.UTF_8.encode(text);
    if (utf8.remaining() > maxBytes) {
      throw new ApiError(413, "payload_too_large",
          "the body is larger than " + maxBytes + " bytes once in UTF-8 (it was sent in " + charset.name() + ")");
    }
    byte[] out = new byte[utf8.remaining()];
    utf8.get(out);
    return out;
  }

  /** The charset {@code name} names, by its name or an alias, among those {@link #KNOWN}; else 415. */
  private static Charset charset(String name) {
    Charset charset = KNOWN.get(name.toLowerCase(Locale.ROOT));
    if (charset == null) {
      throw unsupported("names a charset this gateway does not decode ('" + name + "'); send UTF-8");
    }
    return charset;
  }

  private static Map<String, Charset> known() {
    Map<String, Charset> byName = new HashMap<>();
    for (String name : List.of("UTF-8", "US-ASCII", "ISO-8859-1", "windows-1252", "ISO-8859-15", "UTF-16", "UTF-16BE",
        "UTF-16LE", "UTF-32", "UTF-32BE", "UTF-32LE")) {
      Charset charset = Charset.forName(name);
      byName.put(charset.name().toLowerCase(Locale.ROOT), charset);
      charset.aliases().forEach(alias -> byName.put(alias.toLowerCase(Locale.ROOT), charset));
    }
    return Map.copyOf(byName);
  }

  private static String unquoted(String value) {
    return value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")
        ? value.substring(1, value.length() - 1) : value;
  }

  private static ApiError unsupported(String why) {
    return new ApiError(415, "unsupported_media_type", "the Content-Type " + why);
  }
}
