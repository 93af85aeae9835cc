package io.flightdeck.gateway.config;

import io.flightdeck.gateway.event.EventSchemas;
import java.util.List;

/**
 * Event types a site may send beyond the built-in ones: custom types, such as the names of Segment track calls
 * ({@code "Order Completed"}). The gateway has no schema for them, so their {@code data} is only checked to be a
 * JSON object within {@code maxDataBytes}.
 *
 * @param allowed the type names the site may send; {@code "*"} among them allows any name on the Segment API (a track
 *     call's name is free text), while {@code POST /v1/events} takes only the names listed, so an unknown type there
 *     is refused as the contract says; empty allows none
 * @param maxDataBytes one custom event's {@code data}, serialized (413 above); at most {@code ingest.maxDataBytes}
 */
public record CustomEventsConfig(List<String> allowed, int maxDataBytes) {

  /** Any name at all; still 1 to 200 characters without control characters, like every type. */
  public static final String ANY = "*";
  static final int DEFAULT_MAX_DATA_BYTES = 8192;
  private static final int MAX_NAME_LENGTH = 200;

  public CustomEventsConfig {
    allowed = List.copyOf(allowed);
  }

  /** No custom types, for sites that do not configure any. */
  public static CustomEventsConfig none(int maxDataBytes) {
    return new CustomEventsConfig(List.of(), maxDataBytes);
  }

  static CustomEventsConfig from(Section s, IngestConfig ingest) {
    List<String> allowed = s.strings("allowed", List.of());
    for (String name : allowed) {
      if (!name.equals(ANY) && !validName(name)) {
        throw new ConfigException(s.key("allowed"), "'" + name + "' is not * or a type name of 1 to "
            + MAX_NAME_LENGTH + " characters without control characters");
      }
      // ingest refuses such a name every time as a misspelt built-in type: listing it could never take effect
      String builtIn = EventSchemas.builtInTypeIgnoringCase(name).orElse(name);
      if (!builtIn.equals(name)) {
        throw new ConfigException(s.key("allowed"), "'" + name + "' is the built-in type " + builtIn
            + " in another letter case, which ingest refuses as a typo; a built-in type needs no allowing");
      }
    }
    int maxDataBytes = s.integer("maxDataBytes", Math.min(DEFAULT_MAX_DATA_BYTES, ingest.maxDataBytes()), 64,
        Integer.MAX_VALUE);
    if (maxDataBytes > ingest.maxDataBytes()) {
      // said in words: lowering ingest.maxDataBytes alone stops on this key of the shipped file, and "between 64 and
      // 4096" would not say why
      throw new ConfigException(s.key("maxDataBytes"), "must be at most ingest.maxDataBytes (" + ingest.maxDataBytes()
          + "), got " + maxDataBytes + ": lower both together");
    }
    return new CustomEventsConfig(allowed, maxDataBytes);
  }

  /** Whether the site may send {@code type}: any name on the Segment API when {@code "*"} is allowed. */
  public boolean allows(String type) {
    return allowed.contains(ANY) || allowed.contains(type);
  }

  /**
   * The same without {@code "*"}: what {@code POST /v1/events} allows. Its clients name their types themselves, and
   * the contract refuses an unknown one (400): there, a misspelt type must not be stored as one more custom type.
   */
  public CustomEventsConfig namedOnly() {
    return allowed.contains(ANY)
        ? new CustomEventsConfig(allowed.stream().filter(name -> !name.equals(ANY)).toList(), maxDataBytes)
        : this;
  }

  private static boolean validName(String name) {
    int length = name.codePointCount(0, name.length());
    return length >= 1 && length <= MAX_NAME_LENGTH && name.chars().noneMatch(Character::isISOControl);
  }
}
