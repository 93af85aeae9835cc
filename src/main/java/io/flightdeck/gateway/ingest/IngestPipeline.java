package io.flightdeck.gateway.ingest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.api.BodyBudget;
import io.flightdeck.gateway.config.CustomEventsConfig;
import io.flightdeck.gateway.config.IngestConfig;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.AppendResult;
import io.flightdeck.gateway.store.EventStore;
import io.flightdeck.gateway.store.StoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * The steps every ingest API shares once it has events in the shape {@code POST /v1/events} takes: the body as
 * JSON, write key to site, origin, rate limit, validation, one atomic append. Each step throws the contract's
 * {@link ApiError}; the route's failure handler answers it. {@code /v1/events} and the Segment-compatible API
 * differ only in how they read the write key and what they turn the body into.
 */
public final class IngestPipeline {

  private final Sites sites;
  private final EventValidator validator;
  private final ObjectMapper mapper;
  private final IngestConfig limits;
  private final EventStore store;
  private final GatewayMetrics metrics;
  private final ForwardedClient clients;

  public IngestPipeline(Sites sites, EventValidator validator, ObjectMapper mapper, IngestConfig limits,
                        EventStore store, GatewayMetrics metrics, ForwardedClient clients) {
    this.metrics = metrics;
    this.clients = clients;
    this.sites = sites;
    this.validator = validator;
    this.mapper = mapper;
    this.limits = limits;
    this.store = store;
  }

  public IngestConfig limits() {
    return limits;
  }

  /**
   * Where a body holds an event's {@code data}: the index of the event whose data a JSON pointer lies in, or -1.
   * A string too long for {@code ingest.maxStringLength} there makes that data too large (413), not the JSON bad.
   */
  @FunctionalInterface
  public interface DataLocator {
    /** Knows no data in the body: every JSON limit answers 400 {@code invalid_json}. */
    DataLocator NONE = (at, topLevelField) -> -1;

    /**
     * {@code topLevelField} says whether the body has a field of that name at its top level, anywhere in it (the
     * parse stopped at {@code at}, before the fields after it): {@code /data} is the one event's data only if the
     * body is not a batch.
     */
    int eventOf(JsonPointer at, Predicate<String> topLevelField);

    /** The field the client wrote that data as, for the answer's details ({@code at} lies in one). */
    default String fieldOf(JsonPointer at) {
      return "data";
    }
  }

  /** What a {@code \\u} escape of an unpaired UTF-16 surrogate in a body's strings or field names does. */
  public enum LoneSurrogates {
    /** 400 invalid_json: what was sent cannot be stored as sent (POST /v1/events, docs/API.md). */
    REFUSE,
    /**
     * Each becomes U+FFFD, as a browser's {@code TextEncoder} writes one: for clients that drop a whole batch
     * answered 400 over half an emoji a page's script cut off (the Segment API, docs/SEGMENT.md).
     */
    REPLACE
  }

  /** {@link #parse(RoutingContext, String, DataLocator, LoneSurrogates)}, refusing a lone surrogate escape. */
  public JsonNode parse(RoutingContext ctx, String expected, DataLocator data) {
    return parse(ctx, expected, data, LoneSurrogates.REFUSE);
  }

  /**
   * The request's body (its gzip coding undone, see {@link ContentCoding}; a text/plain body in another charset
   * made UTF-8, see {@link BodyCharset}) as one JSON value, as below.
   */
  public JsonNode parse(RoutingContext ctx, String expected, DataLocator data, LoneSurrogates loneSurrogates) {
    Buffer body = ContentCoding.decoded(ctx, limits.maxBodyBytes());
    Charset charset = BodyCharset.of(ctx.request().getHeader(HttpHeaders.CONTENT_TYPE));
    if (charset != null && body != null) {
      body = Buffer.buffer(BodyCharset.toUtf8(body.getBytes(), charset, limits.maxBodyBytes()));
    }
    return parse(body, expected, data, loneSurrogates);
  }

  /**
   * The body as one JSON value, parsed within the ingest limits; {@code expected} says what to send when it is
   * empty. Anything after the value (a second object, stray text) is malformed JSON, never ignored.
   */
  private JsonNode parse(Buffer body, String expected, DataLocator data, LoneSurrogates loneSurrogates) {
    if (body == null || body.length() == 0) {
      throw ApiError.badRequest("invalid_json", "the body is empty; send " + expected);
    }
    byte[] bytes = body.getBytes();
    JsonText.requireUtf8(bytes);
    boolean replace = loneSurrogates == LoneSurrogates.REPLACE;
    if (replace) {
      // the one scan for surrogate escapes, before the parse instead of after it; bytes is the buffer's own copy
      JsonText.replaceUnpairedSurrogates(bytes);
    }
    try (JsonParser parser = mapper.createParser(bytes)) {
      JsonNode node;
      try {
        node = mapper.readTree(parser);
      } catch (StreamConstraintsException e) {
        throw overLimit(bytes, parser, data, e);
      } catch (NumberFormatException e) {
        throw numberOutOfRange(parser);
      }
      if (node == null || node.isMissingNode()) {
        throw ApiError.badRequest("invalid_json", "the body holds no JSON value; send " + expected);
      }
      if (parser.nextToken() != null) {
        throw ApiError.badRequest("invalid_json", "the body holds more than one JSON value; send " + expected);
      }
      if (!replace) {
        JsonText.requirePairedSurrogates(bytes, node);
      }
      return node;
    } catch (JsonProcessingException e) {
      throw notJson(e);
    } catch (IOException e) {
      throw ApiError.badRequest("invalid_json", "the body cannot be read: " + e.getMessage());
    }
  }

  /**
   * A JSON limit the parser hit. A string longer than {@code maxStringLength} inside an event's data makes the
   * data longer than any data limit, when that is no more than the string limit: 413, like data over its size.
   * Only a string value: a field name over the name limit, a number over the number limit or an array past the
   * nesting limit is found while reading its token, so the parser still stands on the token before it, which may be
   * a short string value (a name after {@code "pageId":"/"}, {@code ["x",[...]]}); such a body was answered 413
   * "holds a string of more than 32768 characters", and the same one after a number 400. Jackson names the limit
   * only in its message.
   */
  private ApiError overLimit(byte[] bytes, JsonParser parser, DataLocator data, StreamConstraintsException e) {
    if (parser.currentToken() == JsonToken.VALUE_STRING && isStringValueLimit(e)
        && limits.maxStringLength() >= limits.maxDataBytes()) {
      JsonPointer at = parser.getParsingContext().pathAsPointer();
      int index = data.eventOf(at, name -> hasTopLevelField(bytes, name));
      if (index >= 0) {
        Problem problem = new Problem(data.fieldOf(at), "holds a string of more than " + limits.maxStringLength()
            + " characters; the limit is " + limits.maxDataBytes() + " bytes");
        return IngestProblems.dataTooLarge(new JsonArray().add(IngestProblems.detail(index, problem)));
      }
    }
    return notJson(e);
  }

  /** Whether {@code e} is the string value limit ({@code StreamReadConstraints.validateStringLength}). */
  private static boolean isStringValueLimit(StreamConstraintsException e) {
    return String.valueOf(e.getOriginalMessage()).startsWith("String value length");
  }

  /**
   * Whether {@code bytes}, a JSON object, has the field {@code name} at its top level; false when it cannot tell.
   * The values are skipped, never read, so the string limit that stopped the parse does not stop this one.
   */
  private boolean hasTopLevelField(byte[] bytes, String name) {
    try (JsonParser parser = mapper.createParser(bytes)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        if (name.equals(parser.currentName())) {
          return true;
        }
        parser.nextToken();
        parser.skipChildren();
      }
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * A number whose exponent a {@link java.math.BigDecimal} cannot hold (its scale is an int: 1e2147483648,
   * 1e-9999999999). Jackson, reading floats as decimals, throws a bare NumberFormatException for it rather than
   * a parse error, which would otherwise reach the failure handler as a 500.
   */
  private static ApiError numberOutOfRange(JsonParser parser) throws IOException {
    // the parser held the text to ingest.maxNumberLength before it converted it, so it is short enough to quote
    String number = parser.currentToken() == JsonToken.VALUE_NUMBER_FLOAT ? " " + parser.getText() : "";
    return ApiError.badRequest("invalid_json",
        "the body is not valid JSON: number out of range" + number + " (its exponent is too large)");
  }

  private static ApiError notJson(JsonProcessingException e) {
    return ApiError.badRequest("invalid_json", "the body is not valid JSON: " + JsonText.parserProblem(e));
  }

  /** The site of {@code writeKey}; 401 when there is none ({@code howToSend} says where it goes) or it is unknown. */
  public Sites.Site site(String writeKey, String howToSend) {
    if (writeKey == null || writeKey.isEmpty()) {
      throw new ApiError(401, "missing_write_key", howToSend);
    }
    return sites.byWriteKey(writeKey)
        .orElseThrow(() -> new ApiError(401, "unknown_write_key", "the write key is not known"));
  }

  /**
   * The site named by the first of {@code writeKeys} (null for a place that holds none, in the order they are looked
   * at) that names one, blank ones skipped; empty when none does, for {@link #site} to refuse. For an API whose
   * first place may hold credentials that are not a write key (the Segment API's HTTP Basic header).
   */
  public Optional<Sites.Site> firstSiteNamed(String... writeKeys) {
    for (String key : writeKeys) {
      Optional<Sites.Site> site = key == null || key.isBlank() ? Optional.empty() : sites.byWriteKey(key);
      if (site.isPresent()) {
        return site;
      }
    }
    return Optional.empty();
  }

  /**
   * The write key among {@code candidates} (null for a place that holds none), in the order they are looked at: the
   * first that is not blank, so an empty header or query parameter does not hide a key sent another way. When none
   * holds a key, the first present (null when none is), so that request is answered as it always was.
   */
  public static String firstWriteKey(String... candidates) {
    String first = null;
    for (String key : candidates) {
      if (key != null && !key.isBlank()) {
        return key;
      }
      if (first == null) {
        first = key;
      }
    }
    return first;
  }

  /** The body's {@code writeKey} field: null when absent, empty (so "missing") when it is not a string. */
  public static String bodyWriteKey(JsonNode body) {
    if (!body.isObject() || !body.hasNonNull("writeKey")) {
      return null;
    }
    return body.get("writeKey").isTextual() ? body.get("writeKey").asText() : "";
  }

  /**
   * 403 when the request comes from a browser origin the site does not allow. The page may read the refusal even
   * when no site allows its origin ({@link IngestRoutes#beforeQueryCheck}).
   */
  public static void checkOrigin(RoutingContext ctx, Sites.Site site) {
    String origin = ctx.request().getHeader(HttpHeaders.ORIGIN);
    if (origin != null && !site.config().allowsOrigin(origin)) {
      throw new ApiError(403, "origin_not_allowed",
          "origin " + origin + " may not send events for site '" + site.config().id() + "'");
    }
  }

  /** 413 when a request carries more events than a batch may. */
  public void checkBatchSize(int events) {
    if (events > limits.maxBatchEvents()) {
      throw new ApiError(413, "payload_too_large",
          "a request carries at most " + limits.maxBatchEvents() + " events; this one has " + events);
    }
  }

  /** Takes one token per event from the site's bucket; 429 when it is over its rate limit. See {@link #append}. */
  public static void rateLimit(Sites.Site site, int events) {
    long wait = Sites.consume(site, events);
    if (wait > 0) {
      throw new ApiError(429, "rate_limited", "site '" + site.config().id() + "' is over its event rate limit", null,
          (int) wait);
    }
  }

  /**
   * Validates each event for the site, with the custom types {@code custom} allows (a null entry is one already
   * refused, and is skipped), and throws the 400 or 413 listing {@code problems} and every problem found here;
   * answers the events when there is none.
   */
  public List<NewEvent> validate(RoutingContext ctx, Sites.Site site, CustomEventsConfig custom, List<JsonNode> raw,
                                 IngestProblems problems) {
    EventValidator.Origin origin = new EventValidator.Origin(site.config().id(),
        ctx.request().getHeader(HttpHeaders.USER_AGENT),
        clients.anonymized(ctx.request()));
    List<NewEvent> events = new ArrayList<>(raw.size());
    for (int i = 0; i < raw.size(); i++) {
      if (raw.get(i) == null) {
        continue;
      }
      EventValidator.Result result = validator.validate(raw.get(i), origin, custom);
      if (result.event() != null) {
        events.add(result.event());
      }
      for (Problem p : result.problems()) {
        problems.addValidation(i, p, result.tooLarge());
      }
    }
    problems.throwIfAny();
    return events;
  }

  /**
   * Stores the events all together or not at all; completes after the commit. When the store cannot take them now
   * (503), the {@code tokens} {@link #rateLimit} took for the request go back to the site's bucket, before the
   * answer is sent: a client retrying after an outage or a full queue is not refused 429 for it. A request refused
   * for what it sent (400, 413) keeps its cost, and so does one that was stored (duplicates too); so does any other
   * failure, which may have followed a commit (an answer that could not be built) or come from the events themselves.
   * The request's body reservation ({@code http.maxBufferedBodyBytes}) is kept until the store answers, also if the
   * client goes away meanwhile: the events stay queued in memory until then.
   */
  public Future<List<AppendResult>> append(RoutingContext ctx, Sites.Site site, int tokens, List<NewEvent> events) {
    Future<List<AppendResult>> appended = store.append(events);
    BodyBudget.keepUntil(ctx, appended);
    // one listener for both outcomes: no more allocated per request than the counting alone did
    return appended.onComplete((results, failure) -> {
      if (failure == null) {
        count(site.config().id(), events, results);
      } else if (failure instanceof StoreUnavailableException) {
        Sites.refund(site, tokens);
      }
    });
  }

  private void count(String site, List<NewEvent> events, List<AppendResult> results) {
    Map<UUID, String> types = new HashMap<>(events.size() * 2);
    for (NewEvent e : events) {
      types.put(e.id(), e.type());
    }
    Map<String, Integer> appended = new HashMap<>();
    int duplicates = 0;
    for (AppendResult r : results) {
      if (r.status() == AppendResult.Status.APPENDED) {
        appended.merge(types.getOrDefault(r.id(), ""), 1, Integer::sum);
      } else {
        duplicates++;
      }
    }
    appended.forEach((type, n) -> metrics.appended(site, type, n));
    if (duplicates > 0) {
      metrics.duplicate(site, duplicates);
    }
  }
}
