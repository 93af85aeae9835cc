package io.flightdeck.gateway.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/** Typed, validated access to one section of the configuration; every failure names the full key. */
final class Section {

  private final JsonObject json;
  private final String path;

  Section(JsonObject json, String path) {
    this.json = json == null ? new JsonObject() : json;
    this.path = path;
  }

  String key(String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  Section section(String field) {
    Object value = json.getValue(field);
    if (value != null && !(value instanceof JsonObject)) {
      throw new ConfigException(key(field), "must be a section (a map of keys)");
    }
    return new Section((JsonObject) value, key(field));
  }

  String string(String field, String fallback) {
    Object value = json.getValue(field);
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
    Object value = json.getValue(field);
    if (value == null) {
      return fallback;
    }
    long n;
    if (value instanceof Number num && num.doubleValue() == Math.rint(num.doubleValue())) {
      n = num.longValue();
    } else if (value instanceof String s && s.trim().matches("-?\\d{1,18}")) {
      n = Long.parseLong(s.trim());
    } else {
      throw new ConfigException(key(field), "must be a whole number (got '" + value + "')");
    }
    if (n < min || n > max) {
      throw new ConfigException(key(field), "must be between " + min + " and " + max + " (got " + n + ")");
    }
    return n;
  }

  int integer(String field, int fallback, int min, int max) {
    return (int) number(field, fallback, min, max);
  }

  boolean bool(String field, boolean fallback) {
    Object value = json.getValue(field);
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
    Object value = json.getValue(field);
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
    Object value = json.getValue(field);
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
      out.add(new Section(obj, key(field) + "[" + i + "]"));
    }
    return out;
  }
}
