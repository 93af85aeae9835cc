package io.flightdeck.gateway.ingest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.flightdeck.gateway.api.ApiError;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What an ingest body must be beyond what Jackson checks, so that what is stored is what was sent (RFC 8259
 * sections 8.1 and 8.2): well-formed UTF-8, since Jackson decodes an overlong form such as {@code C0 AF} as if it
 * were {@code /}; and no {@code \\u} escape of an unpaired UTF-16 surrogate, which Jackson turns into a lone char
 * that the PostgreSQL client then encodes as {@code ?}, a different event acknowledged as stored; and UTF-8 at all,
 * not UTF-16 or UTF-32, which Jackson would detect and accept.
 */
final class JsonText {

  // Jackson names its own classes in a limit's message ("(32, from `StreamReadConstraints.getMaxNestingDepth()`)"),
  // and a location in a message, the body's source being left out of them, reads "[Source: REDACTED (`StreamRead...`
  // disabled); line: 1, column: 1]": neither means anything to a client
  private static final Pattern LIMIT_GETTER = Pattern.compile(", from `[^`]*`\\)");
  private static final Pattern START_MARKER = Pattern.compile("\\s*\\(start marker at \\[Source: [^\\]]*\\]\\)");
  private static final Pattern SOURCE = Pattern.compile("\\s*(at )?\\[Source: [^\\]]*\\]");

  private JsonText() {
  }

  /** What the parser found wrong, in words for the client, with the line and column where it was. */
  static String parserProblem(JsonProcessingException e) {
    String problem = String.valueOf(e.getOriginalMessage());
    problem = START_MARKER.matcher(problem).replaceAll("");
    problem = SOURCE.matcher(problem).replaceAll("");
    problem = LIMIT_GETTER.matcher(problem).replaceAll(")");
    JsonLocation at = e.getLocation();
    return at == null || at.getLineNr() < 1 ? problem
        : problem + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
  }

  /**
   * 400 invalid_json unless the body is UTF-8 with no NUL byte; the usual all-ASCII body costs one pass over its
   * bytes. JSON text never holds a raw NUL (a string escapes it as {@code \\u0000}), but UTF-16 and UTF-32 text
   * does, and Jackson, which guesses the encoding from the first bytes, would otherwise read an ASCII-only UTF-16
   * body as if it had been sent as the contract says.
   */
  static void requireUtf8(byte[] body) {
    int first = 0;
    while (first < body.length && body[first] > 0) {
      first++;
    }
    if (first == body.length) {
      return;
    }
    for (int i = first; i < body.length; i++) {
      if (body[i] == 0) {
        throw ApiError.badRequest("invalid_json",
            "the body holds a NUL byte: send JSON as UTF-8 (UTF-16 and UTF-32 are refused)");
      }
    }
    try {
      // a new decoder reports malformed input (overlong forms, encoded surrogates, stray bytes) instead of replacing it
      StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(body, first, body.length - first));
    } catch (CharacterCodingException e) {
      throw ApiError.badRequest("invalid_json", "the body is not well-formed UTF-8");
    }
  }

  /** 400 invalid_json if a string or field name of {@code parsed} holds an unpaired surrogate escape. */
  static void requirePairedSurrogates(byte[] body, JsonNode parsed) {
    if (maySurrogateEscape(body) && holdsUnpairedSurrogate(parsed)) {
      throw ApiError.badRequest("invalid_json",
          "the body holds a \\u escape of an unpaired UTF-16 surrogate (\\uD800 to \\uDFFF without its pair)");
    }
  }

  /** Whether the text has {@code \\u} followed by D8 to DF: the only way a valid UTF-8 body spells a surrogate. */
  static boolean maySurrogateEscape(byte[] body) {
    return surrogateEscape(body, 0) >= 0;
  }

  /** Where the next {@code \\u} followed by D8 to DF is from {@code from} on; -1 when there is none. */
  private static int surrogateEscape(byte[] body, int from) {
    for (int i = from; i + 3 < body.length; i++) {
      if (body[i] == '\\' && body[i + 1] == 'u' && (body[i + 2] | 0x20) == 'd' && isHex8ToF(body[i + 3])) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Replaces each {@code \\u} escape of an unpaired UTF-16 surrogate in {@code body} by {@code \\uFFFD}, in place
   * (six bytes for six, so a parse error's column stays right); an escaped pair stays as it is. The one pass over
   * the bytes is {@link #maySurrogateEscape}'s, so a body without such an escape costs what the check did; what it
   * finds is looked at more closely. A backslash outside a string is malformed JSON, which the parse then refuses.
   */
  static void replaceUnpairedSurrogates(byte[] body) {
    for (int i = surrogateEscape(body, 0); i >= 0; i = surrogateEscape(body, i)) {
      i = replaceIfUnpaired(body, i);
    }
  }

  /** Replaces the surrogate escape that {@code at} may start, when unpaired; answers where to look on from. */
  private static int replaceIfUnpaired(byte[] body, int at) {
    int backslashes = 0;
    for (int k = at - 1; k >= 0 && body[k] == '\\'; k--) {
      backslashes++;
    }
    // an escaped backslash, then the text uD83D; or an escape cut off, which the parse refuses
    if (backslashes % 2 == 1 || at + 5 >= body.length) {
      return at + 2;
    }
    // not four hex digits (-1) is U+FFFF, no surrogate: the parse refuses that escape
    char unit = (char) hex4(body, at + 2);
    if (Character.isHighSurrogate(unit) && at + 11 < body.length
        && body[at + 6] == '\\' && body[at + 7] == 'u' && Character.isLowSurrogate((char) hex4(body, at + 8))) {
      return at + 12;
    }
    if (Character.isSurrogate(unit)) {
      body[at + 2] = 'F';
      body[at + 3] = 'F';
      body[at + 4] = 'F';
      body[at + 5] = 'D';
    }
    return at + 6;
  }

  /** The four hex digits at {@code at} as a number, or -1 when they are not four hex digits. */
  private static int hex4(byte[] body, int at) {
    int value = 0;
    for (int k = at; k < at + 4; k++) {
      int digit = Character.digit(body[k], 16);
      if (digit < 0) {
        return -1;
      }
      value = value << 4 | digit;
    }
    return value;
  }

  private static boolean isHex8ToF(byte b) {
    int c = b | 0x20;
    return b == '8' || b == '9' || (c >= 'a' && c <= 'f');
  }

  static boolean holdsUnpairedSurrogate(JsonNode node) {
    if (node.isTextual()) {
      return unpaired(node.textValue());
    }
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (unpaired(field.getKey()) || holdsUnpairedSurrogate(field.getValue())) {
          return true;
        }
      }
      return false;
    }
    for (JsonNode element : node) {
      if (holdsUnpairedSurrogate(element)) {
        return true;
      }
    }
    return false;
  }

  static boolean unpaired(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }
}
