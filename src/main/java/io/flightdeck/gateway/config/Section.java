package io.flightdeck.gateway.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Typed, validated access to one section of the configuration; every failure names the full key. The sections of
 * one configuration remember which keys were asked for, so that the ones nothing asked for (a misspelt key, a key
 * of another version) can be reported: {@link #unread()}.
 */
final class Section {

  private final JsonObject json;
  private final String path;
  /** Every key any section of this configuration was asked for, whole (e.g. {@code sites[0].rateLimit.burst}). */
  private final Set<String> asked;

  Section(JsonObject json, String path) {
    this(json, path, new HashSet<>());
  }

  private Section(JsonObject json, String path, Set<String> asked) {
    this.json = json == null ? new JsonObject() : json;
    this.path = path;
    this.asked = asked;
  }

  String key(String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  /**
   * The keys under this section that no one asked for once the whole configuration was read, in the file's order:
   * a section nothing asked for counts as one key; inside one that was asked for (or a list of sections), each key.
   */
  List<String> unread() {
    List<String> out = new ArrayList<>();
    collectUnread(json, path, out);
    return out;
  }

  /**
   * The keys of {@code json} that {@code known} lacks, named as {@link #unread()} names them. With the bundled
   * defaults as {@code known} (they hold every key the gateway reads, as ConfigTest checks), these are the unread keys
   * of a configuration whose reading stopped at a bad value, where a key not asked for yet may only not have been
   * reached: a list's items are compared with the known list's first item.
   */
  static List<String> absentFrom(JsonObject json, JsonObject known) {
    List<String> out = new ArrayList<>();
    collectAbsent(json, known, "", out);
    return out;
  }

  private static void collectAbsent(JsonObject section, JsonObject known, String at, List<String> out) {
    for (String field : section.fieldNames()) {
      String key = at.isEmpty() ? field : at + "." + field;
      Object value = section.getValue(field);
      Object shape = known.getValue(field);
      if (field.contains(".") || !known.containsKey(field)) {
        out.add(field.contains(".") ? dotted(at, field) : key);
      } else if (value instanceof JsonObject nested && shape instanceof JsonObject nestedShape) {
        collectAbsent(nested, nestedShape, key, out);
      } else if (value instanceof JsonArray items && shape instanceof JsonArray shapes && !shapes.isEmpty()
          && shapes.getValue(0) instanceof JsonObject itemShape) {
        for (int i = 0; i < items.size(); i++) {
          if (items.getValue(i) instanceof JsonObject item) {
            collectAbsent(item, itemShape, key + "[" + i + "]", out);
          }
        }
      }
    }
  }

  private void collectUnread(JsonObject section, String at, List<String> out) {
    for (String field : section.fieldNames()) {
      String key = at.isEmpty() ? field : at + "." + field;
      if (field.contains(".")) {
        // "http.port: 9090" on one line is one key with a dot in its name, which YAML does not nest: no key the
        // gateway reads has a dot, but its path would read like one that was asked for (http.port)
        out.add(dotted(at, field));
        continue;
      }
      if (!asked.contains(key)) {
        out.add(key);
        continue;
      }
      Object value = section.getValue(field);
      if (value instanceof JsonObject nested) {
        collectUnread(nested, key, out);
      } else if (value instanceof JsonArray items) {
        for (int i = 0; i < items.size(); i++) {
          if (items.getValue(i) instanceof JsonObject item) {
            collectUnread(item, key + "[" + i + "]", out);
          }
        }
      }
    }
  }

  /** A key with a dot in its name, under {@code at}, quoted so that it does not read as a nested key. */
  private static String dotted(String at, String field) {
    return at.isEmpty() ? "\"" + field + "\"" : at + ".\"" + field + "\"";
  }

  /** The field's value, noted as asked for. */
  private Object value(String field) {
    asked.add(key(field));
    return json.getValue(field);
  }

  Section section(String field) {
    Object value = value(field);
    if (value != null && !(value instanceof JsonObject)) {
      throw new ConfigException(key(field), "must be a section (a map of keys)");
    }
    return new Section((JsonObject) value, key(field), asked);
  }

  String string(String field, String fallback) {
    Object value = value(field);
    if (value == null) {
      return fallback;
    }
    if (!(value instanceof String s)) {
      throw new ConfigException(key(field), "must be a string");
    }
    return s;
  }

  String requiredString(String field) {
    String value = string(field, null);
    if (value == null || value.isBlank()) {
      throw new ConfigException(key(field), "is required and must not be empty");
    }
    return value;
  }

  long number(String field, long fallback, long min, long max) {
    return number(field, fallback, min, max, "");
  }

  /** The same, with {@code why} (": ...", or empty) after the range when one is out of it. */
  long number(String field, long fallback, long min, long max, String why) {
    Object value = value(field);
    if (value == null) {
      return fallback;
    }
    long n;
    if (value instanceof Number num && num.doubleValue() == Math.rint(num.doubleValue())) {
      // past a long (YAML and JSON give a BigInteger), longValue() would keep the low 64 bits: 2^64 + 8080 is 8080
      if (Math.abs(num.doubleValue()) >= 0x1p63) {
        throw outOfRange(field, min, max, num, why);
      }
      n = num.longValue();
    } else if (value instanceof String s && s.trim().matches("-?\\d{1,18}")) {
      n = Long.parseLong(s.trim());
    } else {
      throw new ConfigException(key(field), "must be a whole number (got '" + value + "')");
    }
    if (n < min || n > max) {
      throw outOfRange(field, min, max, n, why);
    }
    return n;
  }

  private ConfigException outOfRange(String field, long min, long max, Number got, String why) {
    return new ConfigException(key(field), "must be between " + min + " and " + max + " (got " + got + ")" + why);
  }

  int integer(String field, int fallback, int min, int max) {
    return (int) number(field, fallback, min, max);
  }

  boolean bool(String field, boolean fallback) {
    Object value = value(field);
    if (value == null) {
      return fallback;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    if (value instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(key(field), "must be true or false (got '" + value + "')");
  }

  List<String> strings(String field, List<String> fallback) {
    Object value = value(field);
    if (value == null) {
      return fallback;
    }
    if (!(value instanceof JsonArray array)) {
      throw new ConfigException(key(field), "must be a list of strings");
    }
    List<String> out = new ArrayList<>();
    for (Object item : array) {
      if (!(item instanceof String s) || s.isBlank()) {
        throw new ConfigException(key(field), "must be a list of non-empty strings");
      }
      out.add(s);
    }
    return List.copyOf(out);
  }

  List<Section> sections(String field) {
    Object value = value(field);
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array)) {
      throw new ConfigException(key(field), "must be a list");
    }
    List<Section> out = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      Object item = array.getValue(i);
      if (!(item instanceof JsonObject obj)) {
        throw new ConfigException(key(field) + "[" + i + "]", "must be a section (a map of keys)");
      }
      out.add(new Section(obj, key(field) + "[" + i + "]", asked));
    }
    return out;
  }
}
