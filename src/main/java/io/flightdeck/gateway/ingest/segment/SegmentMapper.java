package io.flightdeck.gateway.ingest.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flightdeck.gateway.config.IngestConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.ingest.EventValidator;
import io.flightdeck.gateway.ingest.FastText;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Turns Segment messages into FlightDeck events (the mapping table is docs/SEGMENT.md): the call decides the
 * type and data, the user (or anonymous) id the stream, the message id the event id, and the client's clock is
 * corrected by how far its {@code sentAt} is from the server's receipt. Pure: no I/O, no clock of its own.
 */
public final class SegmentMapper {

  public static final Set<String> CALLS = Set.of("track", "page", "identify", "screen", "group", "alias");
  /** A stream id's limit in characters (code points), the store's CHECK on events.stream_id. */
  static final int MAX_STREAM_ID = 200;

  /** RFC 3339 in UTC with all six digits of microseconds, as SEGMENT.md says (Instant.toString drops zeros). */
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSX").withZone(ZoneOffset.UTC);

  /**
   * What every message of one request shares.
   *
   * @param siteId the site the write key named; scopes message ids that are not UUIDs
   * @param receivedAt when the server received the request
   * @param sentAt a batch's own {@code sentAt} text (already checked), for messages without one; or null
   * @param context a batch's own {@code context} object, under each message's context; or null
   */
  public record Request(String siteId, Instant receivedAt, String sentAt, JsonNode context) {
  }

  private final EventSchemas schemas;
  private final IngestConfig limits;

  public SegmentMapper(EventSchemas schemas, IngestConfig limits) {
    this.schemas = schemas;
    this.limits = limits;
  }

  /** The event {@code message} becomes as a {@code call} (track, page, ...), or its problems. */
  public MappedMessage map(String call, JsonNode message, Request request) {
    if (!message.isObject()) {
      return MappedMessage.refused(List.of(new Problem("", "must be a JSON object")));
    }
    Draft draft = new Draft(new SegmentMessage(message), JsonNodeFactory.instance.objectNode(), new HashMap<>());
    ObjectNode context = context(draft.m(), request.context());
    Ids ids = ids(call, draft, request.siteId());
    new SegmentData(schemas, draft.m(), context, draft.event(), draft.sources()).map(call, ids.userId());
    String sentAt = time(draft, request);
    metadata(draft, call, ids, sentAt, request.receivedAt(), context);
    if (!draft.m().problems().isEmpty()) {
      return MappedMessage.refused(draft.m().problems());
    }
    return new MappedMessage(draft.event(), Map.copyOf(draft.sources()), List.of());
  }

  /** A message being mapped: what it says, the event so far, and where each event field came from. */
  private record Draft(SegmentMessage m, ObjectNode event, Map<String, String> sources) {
  }

  private record Ids(String messageId, String userId, String anonymousId) {
  }

  /** The event id from messageId, the stream from userId or anonymousId. */
  private static Ids ids(String call, Draft draft, String siteId) {
    String messageId = draft.m().id("messageId");
    if (messageId != null) {
      draft.event().put("id", eventId(siteId, messageId));
      draft.sources().put("id", "messageId");
    }
    Ids ids = new Ids(messageId, draft.m().id("userId"), draft.m().id("anonymousId"));
    stream(call, draft, ids);
    return ids;
  }

  /** Sets occurredAt; answers the sentAt text that applies: the message's own, else the batch's. */
  private static String time(Draft draft, Request request) {
    SegmentMessage m = draft.m();
    boolean own = m.has("sentAt");
    String sentAt = own ? m.raw("sentAt") : request.sentAt();
    Instant sent = own ? m.time("sentAt") : sentAt == null ? null : SegmentMessage.parseTime(sentAt);
    Instant timestamp = m.time("timestamp");
    Instant occurred = occurredAt(timestamp, sent, request.receivedAt());
    if (timestamp != null && sent != null && EventValidator.storableTime(timestamp)
        && !EventValidator.storableTime(occurred)) {
      // the validator would say the timestamp must be in range, of one that is: say what moved it out
      m.problem("timestamp", "is " + occurred + " once corrected for the client's clock by sentAt (" + sentAt
          + ", received " + request.receivedAt() + "); it must be " + EventValidator.TIME_RANGE);
    }
    draft.event().put("occurredAt", occurred.toString());
    draft.sources().put("occurredAt", "timestamp");
    return sentAt;
  }

  private void metadata(Draft draft, String call, Ids ids, String sentAt, Instant receivedAt, JsonNode context) {
    ObjectNode metadata = draft.event().putObject("metadata");
    SegmentMessage m = draft.m();
    put(draft, metadata, "segment.call", call, null);
    put(draft, metadata, "segment.messageId", ids.messageId(), "messageId");
    put(draft, metadata, "segment.userId", ids.userId(), "userId");
    put(draft, metadata, "segment.anonymousId", ids.anonymousId(), "anonymousId");
    put(draft, metadata, "segment.timestamp", m.raw("timestamp"), "timestamp");
    put(draft, metadata, "segment.sentAt", sentAt, "sentAt");
    put(draft, metadata, "segment.receivedAt", MICROS.format(receivedAt), null);
    put(draft, metadata, "segment.originalTimestamp", m.raw("originalTimestamp"), "originalTimestamp");
    put(draft, metadata, "segment.library", library(context), "context.library");
    put(draft, metadata, "segment.userAgent", SegmentMessage.text(context, "userAgent"), "context.userAgent");
  }

  /**
   * When the event happened on the server's clock: the client's {@code timestamp} moved by the client clock's
   * error, which is how far its {@code sentAt} is from {@code receivedAt} (network time counts as error, a
   * fraction of a second). Without {@code sentAt} the timestamp as sent; without either, the receipt.
   */
  public static Instant occurredAt(Instant timestamp, Instant sentAt, Instant receivedAt) {
    if (timestamp == null) {
      return receivedAt;
    }
    if (sentAt == null) {
      return timestamp;
    }
    return receivedAt.minus(Duration.between(timestamp, sentAt));
  }

  /**
   * The event id: the message id itself when it is a UUID, else a name-based UUID of site and message id, so a
   * retried message is stored once while two sites' identical ids stay apart. The nil and max UUIDs are no event's
   * id ({@link EventValidator#namesNoEvent}), so they are taken as any other message id, not refused.
   */
  public static String eventId(String siteId, String messageId) {
    if (FastText.isUuid(messageId)) {
      UUID id = UUID.fromString(messageId);
      if (!EventValidator.namesNoEvent(id)) {
        return id.toString();
      }
    }
    return UUID.nameUUIDFromBytes(("site:" + siteId + ":" + messageId).getBytes(StandardCharsets.UTF_8)).toString();
  }

  private static void stream(String call, Draft draft, Ids ids) {
    SegmentMessage m = draft.m();
    // a user or anonymous id of the wrong kind is already a problem of its own (another id's, messageId's, is not)
    boolean userIdReported = m.reported("userId");
    if (call.equals("alias")) {
      if (ids.userId() == null && !userIdReported) {
        m.problem("userId", "required: the new id, whose stream the alias is stored in");
      }
    } else if (ids.userId() == null && ids.anonymousId() == null && !userIdReported && !m.reported("anonymousId")) {
      m.problem("userId", "userId or anonymousId is required");
    }
    String streamId = call.equals("alias") || ids.userId() != null ? ids.userId() : ids.anonymousId();
    String source = ids.userId() != null ? "userId" : "anonymousId";
    if (streamId != null && streamId.length() > MAX_STREAM_ID
        && streamId.codePointCount(0, streamId.length()) > MAX_STREAM_ID) {
      // said here, once: the validator would say it of streamId, and an alias's schema again of data.userId
      m.problem(source, "must be 1 to " + MAX_STREAM_ID + " characters");
    } else if (streamId != null) {
      draft.event().put("streamId", streamId);
      draft.sources().put("streamId", source);
    }
  }

  /** The message's context over the batch's: a message's own keys win. */
  private static ObjectNode context(SegmentMessage m, JsonNode batchContext) {
    ObjectNode own = m.object("context");
    if (batchContext == null || !batchContext.isObject()) {
      return own;
    }
    ObjectNode merged = ((ObjectNode) batchContext).deepCopy();
    merged.setAll(own);
    return merged;
  }

  private static String library(JsonNode context) {
    String name = SegmentMessage.text(context, "library", "name");
    String version = SegmentMessage.text(context, "library", "version");
    if (name == null) {
      return null;
    }
    return version == null ? name : name + "/" + version;
  }

  /**
   * A metadata value, cut to the metadata limit in characters (code points, as the validator counts them, so never
   * inside a surrogate pair); nothing when null, or when the metadata already has {@code ingest.maxMetadataEntries}
   * keys: the validator would refuse the event for a field its client never sent, and no retry could fix that.
   * A value holding a NUL is a problem of the field it came from.
   */
  private void put(Draft draft, ObjectNode metadata, String key, String value, String source) {
    // checked whole, before any cut and whether kept or not: a NUL is refused wherever it is in the value
    boolean storable = source == null || draft.m().storable(source, value);
    if (value == null || !storable || metadata.size() >= limits.maxMetadataEntries()) {
      return;
    }
    metadata.put(key, SegmentData.cut(value, limits.maxMetadataValueLength()));
    if (source != null) {
      draft.sources().put("metadata." + key, source);
    }
  }
}
