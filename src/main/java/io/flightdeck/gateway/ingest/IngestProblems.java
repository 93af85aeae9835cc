package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.api.ApiError;
import io.flightdeck.gateway.event.Problem;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

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

  private final List<Entry> entries = new ArrayList<>();
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
    entries.add(new Entry(index, problem));
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
    JsonArray details = new JsonArray(new ArrayList<>(sorted.size()));
    for (Entry e : sorted) {
      details.add(detail(e.index(), e.problem()));
    }
    if (tooLarge) {
      throw dataTooLarge(details);
    }
    String message = sorted.size() == 1 ? "the event is invalid; nothing was stored"
        : sorted.size() + " problems; nothing was stored";
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
