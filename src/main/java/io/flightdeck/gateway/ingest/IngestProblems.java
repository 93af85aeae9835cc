package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.event.Problem;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything wrong with the events of one request, by event index: becomes the 400 {@code invalid_event} (or,
 * when some event's data is over its size limit, the 413 {@code payload_too_large}) that stores nothing.
 */
public final class IngestProblems {

  /**
   * Names a validation problem's field the way the client wrote it: the Segment API reports the {@code type} an
   * event got as {@code event}, because that is the field the client sent.
   */
  @FunctionalInterface
  public interface FieldNames {
    FieldNames AS_IS = (index, field) -> field;

    String of(int index, String field);
  }

  private record Entry(Integer index, Problem problem) {
  }

  /**
   * Problems listed per event (and for the request itself); the rest of an event's are counted and summed up in one
   * more entry. An event may have any number of fields the schema does not know: without a limit, a 500 KB batch
   * of such events got a 3.7 MB answer (71,100 problems), built on the event loop and held until the client read it.
   */
  static final int LISTED_PER_EVENT = 10;

  private final List<Entry> entries = new ArrayList<>();
  /** Per event index (null for the request): problems found, listed or not. */
  private final Map<Integer, Integer> found = new HashMap<>();
  private final FieldNames fieldNames;
  private boolean tooLarge;

  public IngestProblems() {
    this(FieldNames.AS_IS);
  }

  public IngestProblems(FieldNames fieldNames) {
    this.fieldNames = fieldNames;
  }

  /** A problem as the client should read it ({@code index} null for the request itself). */
  public void add(Integer index, Problem problem) {
    if (found.merge(index, 1, Integer::sum) <= LISTED_PER_EVENT) {
      entries.add(new Entry(index, problem));
    }
  }

  /** A problem the validator found in event {@code index}, its field renamed for the client. */
  void addValidation(int index, Problem problem, boolean dataTooLarge) {
    add(index, new Problem(fieldNames.of(index, problem.field()), problem.problem()));
    tooLarge |= dataTooLarge;
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** Throws the error answer when there is any problem; does nothing otherwise. */
  public void throwIfAny() {
    if (entries.isEmpty()) {
      return;
    }
    // events are checked in more than one pass (shape, then validation): list each event's problems together
    List<Entry> sorted = new ArrayList<>(entries);
    sorted.sort(Comparator.comparing(Entry::index, Comparator.nullsFirst(Comparator.naturalOrder())));
    JsonArray details = new JsonArray(new ArrayList<>(sorted.size() + 1));
    for (int i = 0; i < sorted.size(); i++) {
      Entry e = sorted.get(i);
      details.add(detail(e.index(), e.problem()));
      boolean lastOfItsEvent = i + 1 == sorted.size() || !Objects.equals(sorted.get(i + 1).index(), e.index());
      int unlisted = found.get(e.index()) - LISTED_PER_EVENT;
      if (lastOfItsEvent && unlisted > 0) {
        details.add(detail(e.index(), new Problem("", "and " + unlisted + " more problem" + (unlisted == 1 ? "" : "s")
            + " not listed (at most " + LISTED_PER_EVENT + " are)")));
      }
    }
    if (tooLarge) {
      throw dataTooLarge(details);
    }
    int total = found.values().stream().mapToInt(Integer::intValue).sum();
    String message = total == 1 ? "the event is invalid; nothing was stored"
        : total + " problems; nothing was stored";
    throw new ApiError(400, "invalid_event", message, details, null);
  }

  /** The 413 for events whose data is over its size limit. */
  static ApiError dataTooLarge(JsonArray details) {
    return new ApiError(413, "payload_too_large", "an event's data is over its size limit; nothing was stored",
        details, null);
  }

  static JsonObject detail(Integer index, Problem p) {
    JsonObject d = new JsonObject();
    if (index != null) {
      d.put("index", index);
    }
    return d.put("field", p.field()).put("problem", p.problem());
  }
}
