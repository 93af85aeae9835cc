package io.flightdeck.gateway.event;

import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Every upcaster, by (type, from-version): brings stored events of an old version to the current shape when
 * they are read. The stored rows keep the version they were written with. Immutable, so one instance is shared
 * by every reader on every thread.
 */
public final class Upcasters {

  private static final Upcasters BUILT_IN = new Upcasters(List.of(
      new Upcaster("PageViewed", 1, addingNullable(text("url", 2048), text("title", 1024), text("referrer", 2048))),
      new Upcaster("ButtonClicked", 1, addingNullable(text("label", 1024), text("pageId", 2048))),
      new Upcaster("FormSubmitted", 1, addingNullable(text("pageId", 2048)))));

  /** A property a new version adds as an optional string of at most {@code maxLength} characters, or null. */
  private record NullableText(String key, int maxLength) {
  }

  private final List<Upcaster> upcasters;
  /** type → fromVersion → upcaster; two lookups without allocating a key, since this runs for every event read. */
  private final Map<String, Map<Integer, Upcaster>> byType;

  /** A registry of {@code upcasters}; at most one per (type, fromVersion). */
  public Upcasters(List<Upcaster> upcasters) {
    this.upcasters = List.copyOf(upcasters);
    Map<String, Map<Integer, Upcaster>> index = new HashMap<>();
    for (Upcaster u : this.upcasters) {
      Upcaster clash = index.computeIfAbsent(u.type(), t -> new HashMap<>()).putIfAbsent(u.fromVersion(), u);
      if (clash != null) {
        throw new IllegalArgumentException("two upcasters for " + u.type() + " version " + u.fromVersion());
      }
    }
    Map<String, Map<Integer, Upcaster>> frozen = new HashMap<>();
    index.forEach((type, steps) -> frozen.put(type, Map.copyOf(requireUnbroken(type, steps))));
    this.byType = Map.copyOf(frozen);
  }

  /** The upcasters of the built-in types: version 1 to 2 of PageViewed, ButtonClicked and FormSubmitted. */
  public static Upcasters builtIn() {
    return BUILT_IN;
  }

  /** Every registered upcaster, in the order given. */
  public List<Upcaster> upcasters() {
    return upcasters;
  }

  /**
   * {@code event} at the newest version its upcasters reach; the same instance when none applies (a current
   * version, or a type without upcasters).
   */
  public EventEnvelope upcast(EventEnvelope event) {
    Map<Integer, Upcaster> steps = byType.get(event.type());
    if (steps == null || !steps.containsKey(event.schemaVersion())) {
      return event;
    }
    JsonObject data = event.data();
    int version = event.schemaVersion();
    for (Upcaster step = steps.get(version); step != null; step = steps.get(version)) {
      data = step.apply(data);
      version = step.toVersion();
    }
    return new EventEnvelope(event.id(), event.position(), event.streamId(), event.streamVersion(), event.type(),
        version, data, event.metadata(), event.occurredAt(), event.recordedAt());
  }

  /**
   * The version readers see for {@code type}: one past its newest upcaster, or 1 for a type without any
   * (then nothing is upcast and events keep the version they were written with).
   */
  public int currentVersion(String type) {
    Map<Integer, Upcaster> steps = byType.get(type);
    if (steps == null) {
      return 1;
    }
    return steps.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
  }

  /** A hole in a chain (1→2, 3→4) would leave version-2 events short of the current version, silently. */
  private static Map<Integer, Upcaster> requireUnbroken(String type, Map<Integer, Upcaster> steps) {
    int min = steps.keySet().stream().mapToInt(Integer::intValue).min().orElseThrow();
    int max = steps.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
    if (max - min + 1 != steps.size()) {
      throw new IllegalArgumentException("the upcasters of " + type + " skip a version: " + steps.keySet());
    }
    return steps;
  }

  private static NullableText text(String key, int maxLength) {
    return new NullableText(key, maxLength);
  }

  /**
   * A step that adds each of {@code fields} the data lacks, as JSON null. Version 1 allowed any extra property, so
   * an old event may already carry one of these names: a string within the new schema's length is kept (it meant
   * the same thing), anything else reads as null so every reader can rely on string-or-null. The stored row keeps
   * the original either way.
   */
  private static UnaryOperator<JsonObject> addingNullable(NullableText... fields) {
    return data -> {
      for (NullableText field : fields) {
        Object value = data.getValue(field.key());
        if (!(value instanceof String s) || s.codePointCount(0, s.length()) > field.maxLength()) {
          data.putNull(field.key());
        }
      }
      return data;
    };
  }
}
