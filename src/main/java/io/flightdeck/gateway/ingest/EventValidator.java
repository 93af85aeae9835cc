package io.flightdeck.gateway.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flightdeck.gateway.config.CustomEventsConfig;
import io.flightdeck.gateway.config.IngestConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.event.JsonLimits;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Problem;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Turns one event object of a request into a {@link NewEvent}, or says everything that is wrong with it. The
 * server's own metadata (site, user agent, anonymized client address) replaces any client value of those keys.
 * A type is either built in (its data checked against its JSON Schema) or a custom type the site's
 * {@link CustomEventsConfig} allows (version 1 only, data any object within the site's size limit).
 */
public final class EventValidator {

  static final Set<String> EVENT_FIELDS =
      Set.of("id", "type", "streamId", "schemaVersion", "data", "metadata", "occurredAt", "writeKey");
  private static final Instant EARLIEST = Instant.parse("1970-01-01T00:00:00Z");
  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");
  /** The range an event's time must lie in, in words. */
  public static final String TIME_RANGE = "from " + EARLIEST + " to " + LATEST;
  private static final int MAX_USER_AGENT = 512;
  private static final UUID NIL = new UUID(0, 0);
  private static final UUID MAX = new UUID(-1, -1);
  /** PostgreSQL refuses U+0000 in text and in jsonb strings; the Segment API names it in the same words. */
  public static final String NUL = "must not contain the NUL character";

  /** What the server knows about the request, added to every event's metadata. */
  public record Origin(String site, String userAgent, String clientIp) {
  }

  /** Either an event, or problems; {@code tooLarge} marks a data-size problem (413 rather than 400). */
  public record Result(NewEvent event, List<Problem> problems, boolean tooLarge) {
  }

  private final EventSchemas schemas;
  private final IngestConfig limits;
  private final ObjectMapper mapper;

  public EventValidator(EventSchemas schemas, IngestConfig limits, ObjectMapper mapper) {
    this.schemas = schemas;
    this.limits = limits;
    this.mapper = mapper;
  }

  /** Validates for a site without custom types. */
  public Result validate(JsonNode node, Origin origin) {
    return validate(node, origin, CustomEventsConfig.none(limits.maxDataBytes()));
  }

  public Result validate(JsonNode node, Origin origin, CustomEventsConfig custom) {
    if (!node.isObject()) {
      return new Result(null, List.of(new Problem("", "must be a JSON object")), false);
    }
    List<Problem> problems = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!EVENT_FIELDS.contains(field)) {
        problems.add(new Problem(field, "unknown field"));
      }
    }
    UUID id = id(node.get("id"), problems);
    String streamId = text(node.get("streamId"), "streamId", 1, 200, problems);
    if (".".equals(streamId) || "..".equals(streamId)) {
      // a URL path cannot name it: /v1/streams/%2E%2E/events is /v1/events once dot segments are removed
      problems.add(new Problem("streamId", "must not be '.' or '..' (no URL can name that stream)"));
      streamId = null;
    }
    String type = text(node.get("type"), "type", 1, 200, problems);
    boolean customType = type != null && isCustom(type, custom, problems);
    int version = schemaVersion(node.get("schemaVersion"), type, customType, problems);
    Instant occurredAt = occurredAt(node.get("occurredAt"), problems);
    String metadata = metadata(node.get("metadata"), origin, problems);
    boolean[] tooLarge = {false};
    int maxDataBytes = customType ? custom.maxDataBytes() : limits.maxDataBytes();
    String data = data(node.get("data"), type, version, maxDataBytes, problems, tooLarge);
    if (!problems.isEmpty()) {
      return new Result(null, problems, tooLarge[0]);
    }
    return new Result(new NewEvent(id, streamId, type, version, data, metadata, occurredAt), List.of(), false);
  }

  private static UUID id(JsonNode node, List<Problem> problems) {
    if (node == null || node.isNull()) {
      return TimeOrderedIds.next();
    }
    if (!node.isTextual() || !FastText.isUuid(node.asText())) {
      problems.add(new Problem("id", "must be a UUID"));
      return null;
    }
    UUID id = UUID.fromString(node.asText());
    if (namesNoEvent(id)) {
      problems.add(new Problem("id", "must not be the nil or max UUID (all 0 or all f), which name no one event"));
      return null;
    }
    return id;
  }

  /** Whether {@code at} lies in the range ({@link #TIME_RANGE}) an event's {@code occurredAt} may take. */
  public static boolean storableTime(Instant at) {
    return !at.isBefore(EARLIEST) && !at.isAfter(LATEST);
  }

  /**
   * Whether {@code id} is the nil or the max UUID (RFC 9562 section 5.9 and 5.10): what a client sends for an id it
   * never set (.NET's {@code Guid.Empty}). As an event id, every event after the first would be answered as a
   * duplicate of it, and dropped.
   */
  public static boolean namesNoEvent(UUID id) {
    return id.equals(NIL) || id.equals(MAX);
  }

  private static String text(JsonNode node, String field, int min, int max, List<Problem> problems) {
    if (node == null || node.isNull()) {
      problems.add(new Problem(field, "required"));
      return null;
    }
    if (!node.isTextual()) {
      problems.add(new Problem(field, "must be a string"));
      return null;
    }
    String value = node.asText();
    int length = value.codePointCount(0, value.length());
    if (length < min || length > max) {
      problems.add(new Problem(field, "must be " + min + " to " + max + " characters"));
      return null;
    }
    if (hasControlCharacter(value)) {
      problems.add(new Problem(field, "must not contain control characters"));
      return null;
    }
    return value;
  }

  /** Whether {@code type} is a custom type the site allows; adds the problem when it is neither that nor built in. */
  private boolean isCustom(String type, CustomEventsConfig custom, List<Problem> problems) {
    if (schemas.knowsType(type)) {
      return false;
    }
    Optional<String> builtIn = schemas.typeIgnoringCase(type);
    if (builtIn.isPresent()) {
      // with "*" allowed, a mistyped built-in name would otherwise be stored as a new type without a word
      problems.add(new Problem("type", "unknown type '" + type + "'; the built-in type is '" + builtIn.get() + "'"));
    } else if (!custom.allows(type)) {
      problems.add(new Problem("type", "unknown type '" + type + "'"));
    } else {
      return true;
    }
    return false;
  }

  private int schemaVersion(JsonNode node, String type, boolean customType, List<Problem> problems) {
    if (type != null && !customType && !schemas.knowsType(type)) {
      return 1; // the unknown type is the problem already reported
    }
    if (node == null || node.isNull()) {
      return 1; // clients that predate versioning send version 1
    }
    if (!node.isInt() || node.asInt() < 1) {
      problems.add(new Problem("schemaVersion", "must be a positive integer"));
      return 1;
    }
    if (customType && node.asInt() != 1) {
      problems.add(new Problem("schemaVersion", "custom type " + type + " has only version 1"));
    } else if (type != null && !customType && !schemas.knows(type, node.asInt())) {
      problems.add(new Problem("schemaVersion", "no version " + node.asInt() + " of " + type));
    }
    return node.asInt();
  }

  private static Instant occurredAt(JsonNode node, List<Problem> problems) {
    if (node == null || node.isNull()) {
      return Instant.now();
    }
    if (!node.isTextual()) {
      problems.add(new Problem("occurredAt", "must be an RFC 3339 timestamp string"));
      return null;
    }
    try {
      String text = node.asText();
      Instant at = FastText.utcTimestamp(text);
      if (at == null) {
        FastText.requireFractionDigit(text);
        at = OffsetDateTime.parse(FastText.fractionToNanos(text)).toInstant();
      }
      if (!storableTime(at)) {
        problems.add(new Problem("occurredAt", "must be " + TIME_RANGE));
      }
      return at;
    } catch (DateTimeParseException e) {
      problems.add(new Problem("occurredAt", "must be an RFC 3339 timestamp with a time zone"));
      return null;
    }
  }

  private String metadata(JsonNode node, Origin origin, List<Problem> problems) {
    ObjectNode out = mapper.createObjectNode();
    if (node != null && !node.isNull()) {
      if (!node.isObject()) {
        problems.add(new Problem("metadata", "must be an object of string values"));
        return null;
      }
      if (node.size() > limits.maxMetadataEntries()) {
        problems.add(new Problem("metadata", "must have at most " + limits.maxMetadataEntries() + " keys"));
        return null;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String field = "metadata." + e.getKey();
        if (!e.getValue().isTextual()) {
          problems.add(new Problem(field, "must be a string"));
        } else if (e.getKey().isEmpty() || longerThan(e.getKey(), 128) || hasNul(e.getKey())) {
          problems.add(new Problem(field, "keys must be 1 to 128 characters without NUL"));
        } else if (longerThan(e.getValue().asText(), limits.maxMetadataValueLength())) {
          problems.add(new Problem(field, "must be at most " + limits.maxMetadataValueLength() + " characters"));
        } else if (hasNul(e.getValue().asText())) {
          problems.add(new Problem(field, NUL));
        } else {
          out.put(e.getKey(), e.getValue().asText());
        }
      }
    }
    // these keys belong to the server: a client value never survives, even when the server has none to give
    out.remove("userAgent");
    out.remove("clientIp");
    out.put("site", origin.site());
    if (origin.userAgent() != null) {
      String ua = origin.userAgent();
      out.put("userAgent", ua.length() > MAX_USER_AGENT ? ua.substring(0, MAX_USER_AGENT) : ua);
    }
    if (origin.clientIp() != null) {
      out.put("clientIp", origin.clientIp());
    }
    return problems.isEmpty() ? serialize(out, "metadata", problems) : null;
  }

  private String data(JsonNode node, String type, int version, int maxDataBytes, List<Problem> problems,
                      boolean[] tooLarge) {
    if (node == null || node.isNull()) {
      problems.add(new Problem("data", "required"));
      return null;
    }
    if (!node.isObject()) {
      problems.add(new Problem("data", "must be an object"));
      return null;
    }
    Problem unstorable = unstorable(node, "data");
    if (unstorable != null) {
      problems.add(unstorable);
      return null;
    }
    String json = serialize(node, "data", problems);
    if (json == null) {
      return null;
    }
    int bytes = json.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > maxDataBytes) {
      problems.add(new Problem("data", "is " + bytes + " bytes; the limit is " + maxDataBytes));
      tooLarge[0] = true;
      return null;
    }
    if (type != null && schemas.knows(type, version)) {
      problems.addAll(schemas.validate(type, version, node));
    }
    return json;
  }

  private String serialize(JsonNode node, String field, List<Problem> problems) {
    try {
      return mapper.writeValueAsString(node);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      problems.add(new Problem(field, "cannot be encoded as JSON (invalid Unicode?)"));
      return null;
    }
  }

  /**
   * The first value of {@code node} that must not be stored, as its problem; null when there is none. PostgreSQL's
   * jsonb cannot store U+0000 (refused here instead of failing the whole transaction), and it prints a number back
   * written out in full, so one of more than {@link JsonLimits#MAX_WRITTEN_OUT_DIGITS} digits that way is refused.
   */
  private static Problem unstorable(JsonNode node, String path) {
    if (node.isTextual()) {
      return hasNul(node.asText()) ? new Problem(path, NUL) : null;
    }
    if (node.isNumber()) {
      return JsonLimits.writtenOutDigits(node) <= JsonLimits.MAX_WRITTEN_OUT_DIGITS ? null
          : new Problem(path, "must be a number of at most " + JsonLimits.MAX_WRITTEN_OUT_DIGITS
              + " digits written out in full (1e400 has 401)");
    }
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String child = path + "." + e.getKey();
        if (hasNul(e.getKey())) {
          return new Problem(child, NUL);
        }
        Problem found = unstorable(e.getValue(), child);
        if (found != null) {
          return found;
        }
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        Problem found = unstorable(node.get(i), path + "[" + i + "]");
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  /**
   * Whether {@code s} has more than {@code max} characters, counted as code points, as streamId and the schemas'
   * maxLength count them: {@code String.length()} counts an emoji (a surrogate pair) as two.
   */
  private static boolean longerThan(String s, int max) {
    return s.length() > max && s.codePointCount(0, s.length()) > max;
  }

  private static boolean hasNul(String s) {
    return s.indexOf('\u0000') >= 0;
  }

  private static boolean hasControlCharacter(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.isISOControl(s.charAt(i))) {
        return true;
      }
    }
    return false;
  }
}
