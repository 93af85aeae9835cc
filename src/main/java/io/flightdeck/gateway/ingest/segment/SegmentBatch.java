package io.flightdeck.gateway.ingest.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.flightdeck.gateway.event.Problem;
import io.flightdeck.gateway.ingest.IngestProblems;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The messages of one request with the call each one is: the path's call for a single message, the item's
 * {@code type} in a batch. A batch's own {@code sentAt} and {@code context} apply to messages without theirs.
 */
final class SegmentBatch {

  private final List<JsonNode> messages;
  private final List<String> calls;
  private final List<List<Problem>> problems;
  private final String sentAt;
  private final JsonNode context;

  private SegmentBatch(List<JsonNode> messages, List<String> calls, List<List<Problem>> problems, String sentAt,
                       JsonNode context) {
    this.messages = messages;
    this.calls = calls;
    this.problems = problems;
    this.sentAt = sentAt;
    this.context = context;
  }

  static SegmentBatch single(String call, JsonNode body) {
    return new SegmentBatch(List.of(body), List.of(call), List.of(List.of()), null, null);
  }

  /** The items of {@code {"batch": [...]}}; what is wrong with the request itself goes to {@code requestProblems}. */
  static SegmentBatch of(JsonNode body, IngestProblems requestProblems) {
    JsonNode array = body.path("batch");
    if (!body.isObject()) {
      requestProblems.add(null, new Problem("", "the body must be {\"batch\": [...]}"));
    } else if (array.isMissingNode() || array.isNull()) {
      requestProblems.add(null, new Problem("batch", "required"));
    } else if (!array.isArray()) {
      requestProblems.add(null, new Problem("batch", "must be an array"));
    } else if (array.isEmpty()) {
      requestProblems.add(null, new Problem("batch", "must not be empty"));
    }
    if (!requestProblems.isEmpty()) {
      return new SegmentBatch(List.of(), List.of(), List.of(), null, null);
    }
    String sentAt = sentAt(body.get("sentAt"), requestProblems);
    JsonNode context = body.get("context");
    if (context != null && !context.isNull() && !context.isObject()) {
      requestProblems.add(null, new Problem("context", "must be an object"));
    }
    List<JsonNode> messages = new ArrayList<>(array.size());
    List<String> calls = new ArrayList<>(array.size());
    List<List<Problem>> problems = new ArrayList<>(array.size());
    for (JsonNode item : array) {
      messages.add(item);
      List<Problem> own = new ArrayList<>(1);
      calls.add(call(item, own));
      problems.add(own);
    }
    return new SegmentBatch(messages, calls, problems, sentAt, context);
  }

  private static String sentAt(JsonNode node, IngestProblems requestProblems) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual() || SegmentMessage.parseTime(node.asText()) == null) {
      requestProblems.add(null, new Problem("sentAt", "must be an ISO 8601 timestamp with a time zone"));
      return null;
    }
    return node.asText();
  }

  private static String call(JsonNode item, List<Problem> problems) {
    if (!item.isObject()) {
      problems.add(new Problem("", "must be a JSON object"));
      return null;
    }
    JsonNode type = item.get("type");
    String call = type != null && type.isTextual() ? type.asText().toLowerCase(Locale.ROOT) : null;
    if (call == null || !SegmentMapper.CALLS.contains(call)) {
      problems.add(new Problem("type", type == null || type.isNull() ? "required"
          : "must be one of track, page, identify, screen, group, alias"));
      return null;
    }
    return call;
  }

  int size() {
    return messages.size();
  }

  /** The call of message {@code i}; null when it has none (its problems say why). */
  String call(int i) {
    return calls.get(i);
  }

  JsonNode message(int i) {
    return messages.get(i);
  }

  List<Problem> problems(int i) {
    return problems.get(i);
  }

  String sentAt() {
    return sentAt;
  }

  JsonNode context() {
    return context != null && context.isObject() ? context : null;
  }
}
