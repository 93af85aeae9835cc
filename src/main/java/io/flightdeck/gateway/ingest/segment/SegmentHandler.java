package io.flightdeck.gateway.ingest.segment;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.ingest.IngestHandler;
import io.flightdeck.gateway.ingest.IngestPipeline;
import io.flightdeck.gateway.ingest.IngestProblems;
import io.flightdeck.gateway.ingest.Sites;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The Segment-compatible tracking API: {@code POST /v1/track}, {@code /v1/page}, {@code /v1/identify},
 * {@code /v1/screen}, {@code /v1/group}, {@code /v1/alias} and {@code /v1/batch}. Each message becomes an event
 * (see {@link SegmentMapper}) that takes the same path as {@code POST /v1/events}: one atomic append, answered
 * {@code {"success": true}} after the commit, errors in the contract's body.
 */
public final class SegmentHandler {

  /** A request carrying {@code {"batch": [...]}} rather than one message. */
  public static final String BATCH = "batch";
  /**
   * Path to call. The one-letter paths are where analytics.js posts ({@code apiHost + "/t"}, {@code "/b"} when
   * batching), so it works when its {@code apiHost} is set to the gateway's {@code host/v1}; {@code /v1/import} is
   * Segment's other name for the batch, where analytics-ruby posts.
   */
  public static final Map<String, String> PATHS = paths();

  private static final String HOW_TO_SEND = "send the site's write key as the user name of HTTP Basic "
      + "authentication (Authorization: Basic base64(writeKey + \":\")), in the X-Write-Key header or in a "
      + "writeKey field";
  /** The wait, in seconds, of a 429 as analytics.js reads it; the same as its {@code Retry-After}. */
  public static final String RATE_LIMIT_RESET = "X-RateLimit-Reset";
  private static final byte[] SUCCESS = "{\"success\":true}".getBytes(StandardCharsets.UTF_8);

  private final IngestPipeline pipeline;
  private final SegmentMapper mapper;

  public SegmentHandler(IngestPipeline pipeline, SegmentMapper mapper) {
    this.pipeline = pipeline;
    this.mapper = mapper;
  }

  private static Map<String, String> paths() {
    Map<String, String> paths = new LinkedHashMap<>();
    for (String call : List.of("track", "page", "identify", "screen", "group", "alias", BATCH)) {
      paths.put("/v1/" + call, call);
    }
    for (String call : List.of("track", "page", "identify", "screen", "group", "alias", BATCH)) {
      paths.put("/v1/" + call.charAt(0), call);
    }
    paths.put("/v1/import", BATCH);
    return Map.copyOf(paths);
  }

  /** The handler of one call's path; {@link #BATCH} for the batch. */
  public Handler<RoutingContext> handler(String call) {
    return ctx -> handle(ctx, call);
  }

  private void handle(RoutingContext ctx, String call) {
    // what the client's clock is corrected against; micros, as stored, so it reads back exactly
    Instant receivedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
    boolean batch = call.equals(BATCH);
    JsonNode body =
        pipeline.parse(ctx, batch ? "{\"batch\": [...]}" : "a Segment " + call + " message", DataFields.of(call),
            IngestPipeline.LoneSurrogates.REPLACE);
    Sites.Site site = site(ctx, body);
    IngestPipeline.checkOrigin(ctx, site);
    SegmentBatch messages = batch ? batch(body) : SegmentBatch.single(call, body);
    pipeline.checkBatchSize(messages.size());
    try {
      IngestPipeline.rateLimit(site, messages.size());
    } catch (ApiError e) {
      // analytics.js waits what this says, in seconds, before it retries a batch answered 429 (never Retry-After)
      ctx.response().putHeader(RATE_LIMIT_RESET, String.valueOf(e.retryAfterSeconds()));
      throw e;
    }
    List<NewEvent> events = validate(ctx, site, messages, receivedAt);
    pipeline.append(ctx, site, messages.size(), events)
        .onSuccess(results -> ctx.response()
            .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
            .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
            .end(Buffer.buffer(SUCCESS)))
        .onFailure(ctx::fail);
  }

  private static SegmentBatch batch(JsonNode body) {
    IngestProblems problems = new IngestProblems();
    SegmentBatch batch = SegmentBatch.of(body, problems);
    problems.throwIfAny();
    return batch;
  }

  /** Maps every message, then validates the events: throws 400 or 413 with the problems of all of them. */
  private List<NewEvent> validate(RoutingContext ctx, Sites.Site site, SegmentBatch messages, Instant receivedAt) {
    SegmentMapper.Request request = new SegmentMapper.Request(site.config().id(), receivedAt, messages.sentAt(),
        messages.context());
    List<MappedMessage> mapped = new ArrayList<>(messages.size());
    List<JsonNode> events = new ArrayList<>(messages.size());
    // a problem the validator finds in an event is reported under the message field it came from
    IngestProblems problems = new IngestProblems((index, field) -> mapped.get(index).sourceOf(field));
    for (int i = 0; i < messages.size(); i++) {
      MappedMessage m = messages.call(i) == null ? null : mapper.map(messages.call(i), messages.message(i), request);
      mapped.add(m);
      for (Problem p : m == null ? messages.problems(i) : m.problems()) {
        problems.add(i, p);
      }
      events.add(m == null ? null : m.event());
    }
    return pipeline.validate(ctx, site, site.config().customEvents(), events, problems);
  }

  /**
   * Where a Segment body holds what becomes an event's data (docs/SEGMENT.md, Mapping): a message's
   * {@code properties} (track, page, screen) or {@code traits} (identify, group); in a batch, whose items' calls the
   * parse may not have reached yet, either of item N's. A string there too long to parse makes that data too large:
   * 413 naming the field, as on {@code /v1/events} and as for the same data made of shorter strings, not 400.
   */
  private record DataFields(boolean batch, List<String> fields) implements IngestPipeline.DataLocator {

    static IngestPipeline.DataLocator of(String call) {
      return switch (call) {
        case BATCH -> new DataFields(true, List.of("properties", "traits"));
        case "track", "page", "screen" -> new DataFields(false, List.of("properties"));
        case "identify", "group" -> new DataFields(false, List.of("traits"));
        default -> IngestPipeline.DataLocator.NONE;
      };
    }

    @Override
    public int eventOf(JsonPointer at, Predicate<String> topLevelField) {
      return fieldOf(at) == null ? -1 : batch ? at.tail().getMatchingIndex() : 0;
    }

    /** The data field {@code at} lies in, or null. */
    @Override
    public String fieldOf(JsonPointer at) {
      JsonPointer message = batch ? inItem(at) : at;
      return message == null ? null : fields.stream().filter(message::matchesProperty).findFirst().orElse(null);
    }

    /** Where {@code at} lies inside {@code /batch/N}; null when it is in no item. */
    private static JsonPointer inItem(JsonPointer at) {
      if (!at.matchesProperty(BATCH) || !at.tail().mayMatchElement() || at.tail().getMatchingIndex() < 0) {
        return null;
      }
      return at.tail().tail();
    }
  }

  /**
   * The site of the first of HTTP Basic's user name, the X-Write-Key header and the body's writeKey field that names
   * one. Basic credentials that name no site do not hide a key sent the other ways, as a blank one does not: a
   * staging site's own HTTP Basic login is one, which a browser sends along to a first-party proxy of the gateway on
   * the same origin (what Segment recommends against ad blockers), beside analytics.js's writeKey in the body. When
   * none names a site, 401 for the first there is, as before: missing_write_key with the way to send it when the
   * Authorization header is not base64.
   */
  private Sites.Site site(RoutingContext ctx, JsonNode body) {
    String authorization = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    boolean basic = authorization != null && authorization.toLowerCase(Locale.ROOT).startsWith("basic ");
    String user = basic ? basicUser(authorization.substring("basic ".length()).trim()) : null;
    // an empty user name never counted as a key: with nothing anywhere else the answer stays missing_write_key
    String[] keys = {user == null || user.isEmpty() ? null : user,
        ctx.request().getHeader(IngestHandler.WRITE_KEY_HEADER), IngestPipeline.bodyWriteKey(body)};
    Optional<Sites.Site> named = pipeline.firstSiteNamed(keys);
    if (named.isPresent()) {
      return named.get();
    }
    if (basic && user == null) {
      throw new ApiError(401, "missing_write_key", "the Authorization header is not valid HTTP Basic: "
          + "send Basic base64(writeKey + \":\"), the write key as the user name and no password");
    }
    return pipeline.site(IngestPipeline.firstWriteKey(keys), HOW_TO_SEND);
  }

  /**
   * The user name of HTTP Basic credentials (Segment's write key; the password is ignored); null when they are not
   * base64. Segment's libraries send {@code base64(writeKey + ":")}: such credentials, ending in a colon, are the
   * key whole up to that colon, so a key with colons in it ({@code wk:shop:1}, which the config allows) is not cut
   * at its first one and refused as unknown. Others are split at the first colon ({@code key:password}, RFC 7617),
   * or are the key when they have none (the form Segment still takes for backward compatibility).
   */
  static String basicUser(String credentials) {
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(credentials), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    if (decoded.endsWith(":")) {
      return decoded.substring(0, decoded.length() - 1);
    }
    int colon = decoded.indexOf(':');
    return colon < 0 ? decoded : decoded.substring(0, colon);
  }
}
