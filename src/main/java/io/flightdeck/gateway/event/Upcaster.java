package io.flightdeck.gateway.event;

import io.vertx.core.json.JsonObject;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Turns the {@code data} of one event type from {@code fromVersion} into the shape of {@code fromVersion + 1}.
 *
 * @param type the event type it applies to
 * @param fromVersion the version it reads; it produces {@code fromVersion + 1}
 * @param step the transformation; it receives its own copy of the data and may change and return it
 */
public record Upcaster(String type, int fromVersion, UnaryOperator<JsonObject> step) {

  public Upcaster {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(step, "step");
    if (fromVersion < 1) {
      throw new IllegalArgumentException("fromVersion must be at least 1, was " + fromVersion);
    }
  }

  public int toVersion() {
    return fromVersion + 1;
  }

  /** {@code data} at {@link #toVersion()}; {@code data} itself is left as it was. */
  public JsonObject apply(JsonObject data) {
    // the caller's object may be shared (a cached row, another reader's envelope): the step only sees a copy
    return step.apply(data.copy());
  }
}
