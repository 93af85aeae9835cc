package io.flightdeck.gateway.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Applies {@code FLIGHTDECK_*} environment variables on top of the YAML file. Every key in the file has one
 * variable: the dotted path, camelCase split into words, upper-cased and joined with underscores
 * ({@code db.poolSize} is {@code FLIGHTDECK_DB_POOL_SIZE}). A value is parsed as the type the file gives the key;
 * lists and sections take JSON.
 */
final class EnvOverrides {

  static final String PREFIX = "FLIGHTDECK_";

  /**
   * Variables that are read by something else than the config file, so they must not be reported as typos:
   * logback.xml reads FLIGHTDECK_LOG_FORMAT and FLIGHTDECK_ACCESS_LOG_LEVEL (both documented in docs/API.md), the
   * tests and the benchmark their database URLs.
   */
  private static final Set<String> NOT_CONFIG_KEYS = Set.of("FLIGHTDECK_CONFIG", "FLIGHTDECK_TEST_DB_URL",
      "FLIGHTDECK_LOG_FORMAT", "FLIGHTDECK_ACCESS_LOG_LEVEL", "FLIGHTDECK_BENCH_DB_URL");

  /** The appenders logback.xml defines, which FLIGHTDECK_LOG_FORMAT names. */
  private static final Set<String> LOG_FORMATS = Set.of("text", "json");
  /** The level names logback reads (in any letter case); any other it takes silently as DEBUG. */
  private static final List<String> LOG_LEVELS = List.of("OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL");

  /** A whole number as an operator writes one: digits, with an optional sign. */
  private static final Pattern WHOLE_NUMBER = Pattern.compile("[-+]?[0-9]+");

  /** Jackson's complaint about an unquoted word, which it quotes whole. */
  private static final Pattern UNRECOGNIZED_TOKEN = Pattern.compile("Unrecognized token '[^']*'");

  private static final JsonFactory STRICT = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private EnvOverrides() {
  }

  /** Applies the overrides in place and returns the variables that matched no key (likely typos). */
  static List<String> apply(JsonObject config, Map<String, String> env) {
    List<String> unknown = unknown(config, env);
    checkLogVariables(env);
    applySection(config, config.copy(), "", env);
    return unknown;
  }

  /**
   * The variables that match no key of {@code config} (likely typos), sorted; found before any value is parsed, so
   * that they can be reported also when a value stops start-up (a misspelt variable and a refused one often go
   * together: the refused value is the default the misspelt one meant to change).
   */
  static List<String> unknown(JsonObject config, Map<String, String> env) {
    Set<String> variables = new HashSet<>();
    collectVariables(config, "", variables);
    List<String> unknown = new ArrayList<>();
    for (String name : env.keySet()) {
      if (name.startsWith(PREFIX) && !variables.contains(name) && !NOT_CONFIG_KEYS.contains(name)) {
        unknown.add(name);
      }
    }
    unknown.sort(String::compareTo);
    return unknown;
  }

  /** The variable of every key of {@code section}, nested sections' keys included (not the items of lists). */
  private static void collectVariables(JsonObject section, String prefix, Set<String> out) {
    for (String field : section.fieldNames()) {
      String key = prefix.isEmpty() ? field : prefix + "." + field;
      out.add(variableName(key));
      if (section.getValue(field) instanceof JsonObject nested) {
        collectVariables(nested, key, out);
      }
    }
  }

  /**
   * logback.xml takes FLIGHTDECK_LOG_FORMAT as the name of an appender, as given: any other value (JSON, jsonl, an
   * empty one) names none, and the process ran without writing a single line, logback's own complaint silenced with
   * the rest. A level it does not know it takes as DEBUG. Both are refused here like any bad configuration value.
   */
  static void checkLogVariables(Map<String, String> env) {
    String format = env.get("FLIGHTDECK_LOG_FORMAT");
    if (format != null && !LOG_FORMATS.contains(format)) {
      throw new ConfigException("FLIGHTDECK_LOG_FORMAT", "must be text or json (got '" + format + "')");
    }
    String level = env.get("FLIGHTDECK_ACCESS_LOG_LEVEL");
    if (level != null && !level.isEmpty() && !LOG_LEVELS.contains(level.toUpperCase(Locale.ROOT))) {
      throw new ConfigException("FLIGHTDECK_ACCESS_LOG_LEVEL", "must be one of " + String.join(", ", LOG_LEVELS)
          + " (got '" + level + "')");
    }
  }

  static String variableName(String dottedKey) {
    StringBuilder sb = new StringBuilder(PREFIX);
    for (int i = 0; i < dottedKey.length(); i++) {
      char c = dottedKey.charAt(i);
      if (c == '.') {
        sb.append('_');
      } else if (Character.isUpperCase(c)) {
        sb.append('_').append(c);
      } else {
        sb.append(Character.toUpperCase(c));
      }
    }
    return sb.toString();
  }

  /**
   * Applies the variables of the keys {@code shape} has (the file as loaded) to {@code section}. A section's own
   * variable (JSON) replaces it first, and its keys' variables still apply on top: the more specific one wins,
   * where it used to be ignored and reported as matching no key.
   */
  private static void applySection(JsonObject section, JsonObject shape, String prefix, Map<String, String> env) {
    for (String field : shape.fieldNames()) {
      String key = prefix.isEmpty() ? field : prefix + "." + field;
      Object current = shape.getValue(field);
      String variable = variableName(key);
      String raw = env.get(variable);
      if (raw != null) {
        section.put(field, parse(key, variable, raw, current));
      }
      if (current instanceof JsonObject nestedShape && section.getValue(field) instanceof JsonObject nested) {
        applySection(nested, nestedShape, key, env);
      }
    }
  }

  private static Object parse(String key, String variable, String raw, Object current) {
    String value = raw.trim();
    try {
      if (current instanceof Integer || current instanceof Long) {
        return wholeNumber(key, variable, raw, value);
      }
      if (current instanceof Number) {
        return Double.parseDouble(value);
      }
      if (current instanceof Boolean) {
        if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
          throw new ConfigException(key, "must be true or false (from " + variable + ", got '" + raw + "')");
        }
        return Boolean.parseBoolean(value);
      }
      if (current instanceof JsonArray || current instanceof JsonObject) {
        refuseDuplicateKeys(key, variable, value);
        return json(key, variable, value, current instanceof JsonArray);
      }
      return raw;
    } catch (NumberFormatException e) {
      throw new ConfigException(key, "must be a number (from " + variable + ", got '" + raw + "')");
    } catch (DecodeException e) {
      throw new ConfigException(key, "must be JSON (from " + variable + "): " + jsonProblem(e));
    }
  }

  /**
   * A whole number as written: one past a long stays whole (a BigInteger), so that the section refuses it as out of
   * its key's range, as it does in the file; "must be a number" said of 1.5 or of 99999999999999999999 sent the
   * operator looking for what was not a number.
   */
  private static Number wholeNumber(String key, String variable, String raw, String value) {
    if (!WHOLE_NUMBER.matcher(value).matches()) {
      throw new ConfigException(key, "must be a whole number (from " + variable + ", got '" + raw + "')");
    }
    BigInteger n = new BigInteger(value);
    return n.bitLength() < 64 ? (Number) n.longValue() : n;
  }

  /**
   * A list's or a section's JSON. Parsed as any JSON first: an object given for a list (FLIGHTDECK_SITES without
   * its brackets) was refused as "must be JSON", with Jackson's words about deserializing a java.util.ArrayList.
   */
  private static Object json(String key, String variable, String value, boolean list) {
    Object parsed = Json.decodeValue(value);
    if (list ? parsed instanceof JsonArray : parsed instanceof JsonObject) {
      return parsed;
    }
    String got = parsed instanceof JsonObject ? "an object" : parsed instanceof JsonArray ? "a list"
        : parsed == null ? "null" : "a single value";
    throw new ConfigException(key, (list ? "must be a JSON list ([...])" : "must be a JSON object ({...})")
        + ", got " + got + " (from " + variable + ")");
  }

  /**
   * What is wrong with a variable's JSON, without the text of the token at fault: Jackson quotes an unquoted value
   * whole ("Unrecognized token 'Zx9kQ2mPr7Lw44'"), and a section's JSON holds tokens, passwords and write keys. The
   * line goes to stderr and from there to log stores; the rest of the message says what to fix.
   */
  static String jsonProblem(DecodeException e) {
    String message = ConfigException.firstLine(e.getMessage()).replaceFirst("^Failed to decode:", "");
    return UNRECOGNIZED_TOKEN.matcher(message).replaceAll("Unrecognized token (not shown)");
  }

  /**
   * The JSON parser keeps the last of two equal keys without a word, as YAML's does; the file refuses them
   * (ConfigLoader), and so does a variable: FLIGHTDECK_SITES with writeKey given twice ran on one of them unawares.
   */
  private static void refuseDuplicateKeys(String key, String variable, String json) {
    try (JsonParser parser = STRICT.createParser(json)) {
      while (parser.nextToken() != null) {
        // reading is the check
      }
    } catch (JsonParseException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
        throw new ConfigException(key, "gives a key twice (from " + variable + "): " + e.getOriginalMessage());
      }
      // any other problem is reported by the parse that follows, as before
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
