package io.flightdeck.gateway.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.config.IngestConfig;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.store.AppendResult;
import io.flightdeck.gateway.store.EventStore;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * {@code POST /v1/events}: one event, or {@code {"events": [...]}}. Checks run cheapest first; the events of a
 * request are stored all together or not at all, and the answer is sent only after the commit.
 */
public final class IngestHandler implements Handler<RoutingContext> {

  static final String WRITE_KEY_HEADER = "X-Write-Key";

  private final Sites sites;
  private final EventValidator validator;
  private final ObjectMapper mapper;
  private final IngestConfig limits;
  private final EventStore store;

  public IngestHandler(Sites sites, EventValidator validator, ObjectMapper mapper, IngestConfig limits,
                       EventStore store) {
    this.sites = sites;
    this.validator = validator;
    this.mapper = mapper;
    this.limits = limits;
    this.store = store;
  }

  @Override
  public void handle(RoutingContext ctx) {
    JsonNode body = parse(ctx.body().buffer());
    Sites.Site site = site(ctx, body);
    checkOrigin(ctx, site);
    List<JsonNode> raw = events(body);
    long wait = Sites.consume(site, raw.size());
    if (wait > 0) {
      throw new ApiError(429, "rate_limited", "site '" + site.config().id() + "' is over its event rate limit", null,
          (int) wait);
    }
    List<NewEvent> events = validate(ctx, site, raw);
    store.append(events)
        .onSuccess(results -> respond(ctx, results))
        .onFailure(ctx::fail);
  }

  private JsonNode parse(Buffer body) {
    if (body == null || body.length() == 0) {
      throw ApiError.badRequest("invalid_json", "the body is empty; send an event or {\"events\": [...]}");
    }
    try {
      return mapper.readTree(body.getBytes());
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest("invalid_json", "the body is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ApiError.badRequest("invalid_json", "the body cannot be read: " + e.getMessage());
    }
  }

  private Sites.Site site(RoutingContext ctx, JsonNode body) {
    String key = ctx.request().getHeader(WRITE_KEY_HEADER);
    if (key == null) {
      key = ctx.request().getParam("writeKey");
    }
    if (key == null && body.isObject() && body.get("writeKey") != null) {
      key = body.get("writeKey").isTextual() ? body.get("writeKey").asText() : "";
    }
    if (key == null || key.isEmpty()) {
      throw new ApiError(401, "missing_write_key",
          "send the site's write key in the X-Write-Key header, the writeKey query parameter or a writeKey field");
    }
    return sites.byWriteKey(key).orElseThrow(() -> new ApiError(401, "unknown_write_key", "the write key is not known"));
  }

  private static void checkOrigin(RoutingContext ctx, Sites.Site site) {
    String origin = ctx.request().getHeader(HttpHeaders.ORIGIN);
    if (origin != null && !site.config().allowsOrigin(origin)) {
      throw new ApiError(403, "origin_not_allowed",
          "origin " + origin + " may not send events for site '" + site.config().id() + "'");
    }
  }

  private List<JsonNode> events(JsonNode body) {
    if (!body.isObject()) {
      throw invalid(List.of(Detail.of(null, new Problem("", "the body must be an event object or {\"events\": [...]}"))));
    }
    if (!body.has("events")) {
      return List.of(body);
    }
    List<JsonObject> extra = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!field.equals("events") && !field.equals("writeKey")) {
        extra.add(Detail.of(null, new Problem(field, "unknown field")));
      }
    }
    JsonNode array = body.get("events");
    if (!array.isArray()) {
      extra.add(Detail.of(null, new Problem("events", "must be an array")));
    } else if (array.isEmpty()) {
      extra.add(Detail.of(null, new Problem("events", "must not be empty")));
    }
    if (!extra.isEmpty()) {
      throw invalid(extra);
    }
    if (array.size() > limits.maxBatchEvents()) {
      throw new ApiError(413, "payload_too_large",
          "a request carries at most " + limits.maxBatchEvents() + " events; this one has " + array.size());
    }
    List<JsonNode> out = new ArrayList<>(array.size());
    array.forEach(out::add);
    return out;
  }

  private List<NewEvent> validate(RoutingContext ctx, Sites.Site site, List<JsonNode> raw) {
    EventValidator.Origin origin = new EventValidator.Origin(site.config().id(),
        ctx.request().getHeader(HttpHeaders.USER_AGENT),
        ClientAddress.anonymize(ctx.request().remoteAddress() == null ? null
            : ctx.request().remoteAddress().hostAddress()));
    List<NewEvent> events = new ArrayList<>(raw.size());
    List<JsonObject> details = new ArrayList<>();
    boolean tooLarge = false;
    for (int i = 0; i < raw.size(); i++) {
      if (raw.size() > 1 && raw.get(i).has("writeKey")) {
        details.add(Detail.of(i, new Problem("writeKey", "belongs on the batch, not on each event")));
        continue;
      }
      EventValidator.Result result = validator.validate(raw.get(i), origin);
      if (result.event() != null) {
        events.add(result.event());
      }
      tooLarge |= result.tooLarge();
      for (Problem p : result.problems()) {
        details.add(Detail.of(i, p));
      }
    }
    if (tooLarge) {
      throw new ApiError(413, "payload_too_large", "an event's data is larger than " + limits.maxDataBytes() + " bytes",
          new JsonArray(new ArrayList<>(details)), null);
    }
    if (!details.isEmpty()) {
      throw invalid(details);
    }
    return events;
  }

  private static ApiError invalid(List<JsonObject> details) {
    String message = details.size() == 1 ? "the event is invalid; nothing was stored"
        : details.size() + " problems; nothing was stored";
    return new ApiError(400, "invalid_event", message, new JsonArray(new ArrayList<>(details)), null);
  }

  private static void respond(RoutingContext ctx, List<AppendResult> results) {
    JsonArray array = new JsonArray(new ArrayList<>(results.size()));
    for (AppendResult r : results) {
      array.add(r.toJson());
    }
    ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(new JsonObject().put("results", array).toBuffer());
  }

  /** One entry of the error's details list. */
  static final class Detail {
    private Detail() {
    }

    static JsonObject of(Integer index, Problem p) {
      JsonObject d = new JsonObject();
      if (index != null) {
        d.put("index", index);
      }
      return d.put("field", p.field()).put("problem", p.problem());
    }
  }
}
