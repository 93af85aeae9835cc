package io.flightdeck.gateway.ingest.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flightdeck.gateway.event.JsonLimits;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.ingest.EventValidator;
import io.flightdeck.gateway.ingest.FastText;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * One incoming Segment message, read field by field the way Segment's own API reads it: leniently (unknown
 * fields are ignored, ids may be numbers), but every value of the wrong kind is noted as a problem named by the
 * message's own field.
 */
final class SegmentMessage {

  private static final Instant YEAR_ONE = Instant.parse("0001-01-01T00:00:00Z");
  /** A stream id has at most 200 characters; no id a number makes needs more. */
  private static final int MAX_ID_DIGITS = 200;

  private final JsonNode node;
  private final List<Problem> problems = new ArrayList<>();

  SegmentMessage(JsonNode node) {
    this.node = node;
  }

  List<Problem> problems() {
    return problems;
  }

  void problem(String field, String problem) {
    problems.add(new Problem(field, problem));
  }

  /** Whether a problem names {@code field} already. */
  boolean reported(String field) {
    return problems.stream().anyMatch(p -> p.field().equals(field));
  }

  /**
   * Whether {@code value}, read from {@code field}, can be stored: PostgreSQL refuses a NUL character in text and in
   * jsonb, so a NUL anywhere in it is a problem naming the field (once), also where the gateway keeps only the
   * value's start (metadata, page texts), so the same value is refused whatever its length.
   */
  boolean storable(String field, String value) {
    if (value == null || value.indexOf('\u0000') < 0) {
      return true;
    }
    if (!reported(field)) {
      problem(field, EventValidator.NUL);
    }
    return false;
  }

  /** Whether the field is there with a value other than null. */
  boolean has(String field) {
    return !absent(node.get(field));
  }

  /**
   * An identifier: a non-empty string, or a number written out in full as sent ({@code 1.25e3} is {@code 1250});
   * null when absent, null or empty.
   */
  String id(String field) {
    JsonNode value = node.get(field);
    if (absent(value)) {
      return null;
    }
    if (value.isTextual()) {
      return value.asText().isEmpty() || !storable(field, value.asText()) ? null : value.asText();
    }
    if (!value.isNumber()) {
      problem(field, "must be a string or a number");
      return null;
    }
    // counted before writing: 1e999999999 written out is a gigabyte
    if (JsonLimits.writtenOutDigits(value) > MAX_ID_DIGITS) {
      problem(field, "must be a string or a number of at most " + MAX_ID_DIGITS + " digits");
      return null;
    }
    return value.isIntegralNumber() ? value.bigIntegerValue().toString() : value.decimalValue().toPlainString();
  }

  /** An identifier that must be there: {@link #id} with a problem when it is absent, null or empty. */
  String requiredId(String field) {
    int before = problems.size();
    String id = id(field);
    if (id == null && problems.size() == before) {
      problem(field, "required");
    }
    return id;
  }

  /** A string; null when absent or null. */
  String string(String field) {
    JsonNode value = node.get(field);
    if (absent(value)) {
      return null;
    }
    if (!value.isTextual()) {
      problem(field, "must be a string");
      return null;
    }
    return storable(field, value.asText()) ? value.asText() : null;
  }

  /** A copy of an object field; an empty object when absent or null. */
  ObjectNode object(String field) {
    JsonNode value = node.get(field);
    if (absent(value)) {
      return JsonNodeFactory.instance.objectNode();
    }
    if (!value.isObject()) {
      problem(field, "must be an object");
      return JsonNodeFactory.instance.objectNode();
    }
    return ((ObjectNode) value).deepCopy();
  }

  /** The text of a field as sent, when it is a string; for metadata that keeps raw values. */
  String raw(String field) {
    JsonNode value = node.get(field);
    return value != null && value.isTextual() ? value.asText() : null;
  }

  /** An ISO 8601 time with an offset; null when absent or null. */
  Instant time(String field) {
    JsonNode value = node.get(field);
    if (absent(value)) {
      return null;
    }
    Instant at = value.isTextual() ? parseTime(value.asText()) : null;
    if (at == null) {
      problem(field, "must be an ISO 8601 timestamp with a time zone, such as 2026-11-22T10:15:30.120Z");
    }
    return at;
  }

  /** The instant {@code text} names, or null when it is not ISO 8601 with an offset within years 1 to 9999. */
  static Instant parseTime(String text) {
    Instant utc = FastText.utcTimestamp(text);
    if (utc != null) {
      // in UTC the text's year is the instant's; the fast path reads four digits, so only year 0 is out
      return utc.isBefore(YEAR_ONE) ? null : utc;
    }
    try {
      OffsetDateTime at = OffsetDateTime.parse(FastText.fractionToNanos(extendedOffset(text)));
      // within these years the clock correction cannot overflow an Instant
      return at.getYear() >= 1 && at.getYear() <= 9999 ? at.toInstant() : null;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /**
   * {@code text} with an offset written in ISO 8601's basic form at its end ({@code +0100}, {@code -0530}) rewritten
   * with its colon ({@code +01:00}), which is all {@link OffsetDateTime} reads besides {@code Z} and {@code +01}. PHP's
   * {@code DATE_ISO8601}, Python's {@code %z} and Java's {@code SimpleDateFormat} "Z" write it so, and the offset is
   * as unambiguous as with the colon: refusing it would cost such a client every batch. Only four digits right after
   * the time's last digit count; anything else is left for the parser to judge.
   */
  static String extendedOffset(String text) {
    int sign = text.length() - 5;
    if (sign < 1 || (text.charAt(sign) != '+' && text.charAt(sign) != '-') || !isDigit(text.charAt(sign - 1))
        || text.indexOf(':') < 0) {
      return text;
    }
    for (int i = sign + 1; i < text.length(); i++) {
      if (!isDigit(text.charAt(i))) {
        return text;
      }
    }
    return text.substring(0, sign + 3) + ":" + text.substring(sign + 3);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  /** The string at {@code path} inside {@code node} ({@code context.page.url}), or null when there is none. */
  static String text(JsonNode node, String... path) {
    JsonNode at = node;
    for (String step : path) {
      at = at == null ? null : at.get(step);
    }
    return at != null && at.isTextual() && !at.asText().isEmpty() ? at.asText() : null;
  }

  private static boolean absent(JsonNode value) {
    return value == null || value.isNull();
  }
}
