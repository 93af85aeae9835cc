package io.flightdeck.gateway.ingest.segment;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flightdeck.gateway.event.Problem;
import java.util.List;
import java.util.Map;

/**
 * A Segment message turned into an event in the shape {@code POST /v1/events} takes, or the problems that stop
 * it ({@code event} is then null).
 *
 * @param event the event, for the shared ingest pipeline to validate and store
 * @param sources for each field of the event, the message field it came from ({@code data} from
 *     {@code properties}), so that problems found later are reported in the client's terms
 * @param problems what is wrong with the message itself, in its own field names
 */
public record MappedMessage(ObjectNode event, Map<String, String> sources, List<Problem> problems) {

  static MappedMessage refused(List<Problem> problems) {
    return new MappedMessage(null, Map.of(), List.copyOf(problems));
  }

  /** The message field an event field came from: the longest mapped prefix replaced; as is when none matches. */
  public String sourceOf(String eventField) {
    String best = null;
    for (String prefix : sources.keySet()) {
      boolean matches = eventField.equals(prefix) || eventField.startsWith(prefix + ".")
          || eventField.startsWith(prefix + "[");
      if (matches && (best == null || prefix.length() > best.length())) {
        best = prefix;
      }
    }
    return best == null ? eventField : sources.get(best) + eventField.substring(best.length());
  }
}
