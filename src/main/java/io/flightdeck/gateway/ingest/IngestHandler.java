package io.flightdeck.gateway.ingest;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import io.flightdeck.gateway.api.QueryParams;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.store.AppendResult;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@code POST /v1/events}: one event, or {@code {"events": [...]}}. Checks run cheapest first; the events of a
 * request are stored all together or not at all, and the answer is sent only after the commit.
 */
public final class IngestHandler implements Handler<RoutingContext> {

  public static final String WRITE_KEY_HEADER = "X-Write-Key";

  private final IngestPipeline pipeline;

  public IngestHandler(IngestPipeline pipeline) {
    this.pipeline = pipeline;
  }

  @Override
  public void handle(RoutingContext ctx) {
    JsonNode body = pipeline.parse(ctx, "an event or {\"events\": [...]}", IngestHandler::eventOfData);
    Sites.Site site = pipeline.site(writeKey(ctx, body),
        "send the site's write key in the X-Write-Key header, the writeKey query parameter or a writeKey field");
    IngestPipeline.checkOrigin(ctx, site);
    List<JsonNode> raw = events(body);
    IngestPipeline.rateLimit(site, raw.size());
    IngestProblems problems = new IngestProblems();
    List<JsonNode> checked = withoutEventWriteKeys(body.has("events"), raw, problems);
    // only the custom types the site names: "*" is for Segment track names, and the contract refuses an unknown type
    List<NewEvent> events = pipeline.validate(ctx, site, site.namedCustomEvents(), checked, problems);
    pipeline.append(ctx, site, raw.size(), events)
        .onSuccess(results -> respond(ctx, results))
        .onFailure(ctx::fail);
  }

  /**
   * The event whose data {@code at} lies in: {@code /data/...} of the one event ({@code data} beside {@code events}
   * is no event's, but a field a batch may not have), {@code /events/N/data/...} of N.
   */
  static int eventOfData(JsonPointer at, Predicate<String> topLevelField) {
    if (at.matchesProperty("data")) {
      return topLevelField.test("events") ? -1 : 0;
    }
    if (at.matchesProperty("events")) {
      JsonPointer event = at.tail();
      if (event.mayMatchElement() && event.getMatchingIndex() >= 0 && event.tail().matchesProperty("data")) {
        return event.getMatchingIndex();
      }
    }
    return -1;
  }

  /**
   * The X-Write-Key header, else the writeKey query parameter, else the body's writeKey field; blank is absent. A
   * writeKey given twice in the query is 400 whichever of them is used: nothing is stored, and the rate limit that
   * comes after takes no token.
   */
  private static String writeKey(RoutingContext ctx, JsonNode body) {
    return IngestPipeline.firstWriteKey(ctx.request().getHeader(WRITE_KEY_HEADER), QueryParams.once(ctx, "writeKey"),
        IngestPipeline.bodyWriteKey(body));
  }

  private List<JsonNode> events(JsonNode body) {
    IngestProblems problems = new IngestProblems();
    if (!body.isObject()) {
      problems.add(null, new Problem("", "the body must be an event object or {\"events\": [...]}"));
      problems.throwIfAny();
    }
    if (!body.has("events")) {
      return List.of(body);
    }
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!field.equals("events") && !field.equals("writeKey")) {
        problems.add(null, new Problem(field, "unknown field"));
      }
    }
    JsonNode array = body.get("events");
    if (!array.isArray()) {
      problems.add(null, new Problem("events", "must be an array"));
    } else if (array.isEmpty()) {
      problems.add(null, new Problem("events", "must not be empty"));
    }
    problems.throwIfAny();
    pipeline.checkBatchSize(array.size());
    List<JsonNode> out = new ArrayList<>(array.size());
    array.forEach(out::add);
    return out;
  }

  /** The events, each one that carries its own write key in a batch refused (null) with its problem. */
  private static List<JsonNode> withoutEventWriteKeys(boolean batch, List<JsonNode> raw, IngestProblems problems) {
    if (!batch) {
      return raw;
    }
    List<JsonNode> out = new ArrayList<>(raw);
    for (int i = 0; i < out.size(); i++) {
      if (out.get(i).has("writeKey")) {
        problems.add(i, new Problem("writeKey", "belongs on the batch, not on each event"));
        out.set(i, null);
      }
    }
    return out;
  }

  private static void respond(RoutingContext ctx, List<AppendResult> results) {
    ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(AppendResult.resultsBody(results));
  }
}
