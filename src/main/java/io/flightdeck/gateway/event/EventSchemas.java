package io.flightdeck.gateway.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The event types the gateway knows, one JSON Schema per (type, version), loaded from {@code schemas/} on the
 * classpath. Ingest validates {@code data} against the schema of the version the client names.
 */
public final class EventSchemas {

  /**
   * Built-in (type, version) pairs; each has {@code schemas/<type>.v<version>.json}. Grouped by type, oldest
   * first, because {@link #describe()} lists them in this order. Every version but a type's latest needs an
   * upcaster in {@link Upcasters#builtIn()}: ingest accepts old versions, readers only ever see the latest.
   * ScreenViewed, Identified, GroupAssigned and Aliased are what the Segment-compatible API's screen, identify,
   * group and alias calls become.
   */
  static final List<TypeVersion> BUILT_IN = List.of(
      new TypeVersion("PageViewed", 1),
      new TypeVersion("PageViewed", 2),
      new TypeVersion("ButtonClicked", 1),
      new TypeVersion("ButtonClicked", 2),
      new TypeVersion("FormSubmitted", 1),
      new TypeVersion("FormSubmitted", 2),
      new TypeVersion("ScreenViewed", 1),
      new TypeVersion("Identified", 1),
      new TypeVersion("GroupAssigned", 1),
      new TypeVersion("Aliased", 1));

  public record TypeVersion(String type, int version) {
  }

  private record Entry(TypeVersion key, JsonSchema schema, JsonNode source) {
  }

  private final Map<TypeVersion, Entry> schemas = new LinkedHashMap<>();
  /** Each type's latest version: ingest asks for every event, so a lookup rather than a scan of the schemas. */
  private final Map<String, Integer> latest = new HashMap<>();

  private EventSchemas() {
  }

  public static EventSchemas builtIn() {
    ObjectMapper mapper = new ObjectMapper();
    JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().pathType(PathType.JSON_PATH).build();
    EventSchemas registry = new EventSchemas();
    for (TypeVersion tv : BUILT_IN) {
      String resource = "schemas/" + tv.type() + ".v" + tv.version() + ".json";
      try (InputStream in = EventSchemas.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("missing schema resource " + resource);
        }
        JsonNode source = mapper.readTree(in);
        registry.schemas.put(tv, new Entry(tv, factory.getSchema(source, config), source));
        registry.latest.merge(tv.type(), tv.version(), Math::max);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + resource, e);
      }
    }
    return registry;
  }

  /**
   * The built-in type spelled like {@code type} but for letter case, or {@code type} itself when built in; without
   * loading any schema, for the configuration's checks.
   */
  public static Optional<String> builtInTypeIgnoringCase(String type) {
    return BUILT_IN.stream().map(TypeVersion::type).filter(t -> t.equalsIgnoreCase(type)).findFirst();
  }

  public boolean knowsType(String type) {
    return latest.containsKey(type);
  }

  /**
   * The built-in type spelled like {@code type} but for letter case ({@code PageViewed} for {@code pageviewed}):
   * such a name is a typo, never a custom type.
   */
  public Optional<String> typeIgnoringCase(String type) {
    return schemas.keySet().stream().map(TypeVersion::type).filter(t -> t.equalsIgnoreCase(type)).findFirst();
  }

  /** Every built-in type's name. */
  public Set<String> types() {
    return Collections.unmodifiableSet(latest.keySet());
  }

  public Optional<Integer> latestVersion(String type) {
    return Optional.ofNullable(latest.get(type));
  }

  public boolean knows(String type, int version) {
    return schemas.containsKey(new TypeVersion(type, version));
  }

  /** Problems of {@code data} against the schema of (type, version); empty when valid. */
  public List<Problem> validate(String type, int version, JsonNode data) {
    Entry entry = schemas.get(new TypeVersion(type, version));
    if (entry == null) {
      return List.of(new Problem("schemaVersion", "no version " + version + " of " + type));
    }
    Set<ValidationMessage> messages = entry.schema().validate(data);
    List<Problem> problems = new ArrayList<>(messages.size());
    for (ValidationMessage m : messages) {
      problems.add(toProblem(m));
    }
    problems.sort(Comparator.comparing(Problem::field).thenComparing(Problem::problem));
    return problems;
  }

  private static Problem toProblem(ValidationMessage m) {
    StringBuilder field = new StringBuilder("data");
    var location = m.getInstanceLocation();
    for (int i = 0; i < location.getNameCount(); i++) {
      Object element = location.getElement(i);
      if (element instanceof Integer index) {
        field.append('[').append(index).append(']');
      } else {
        field.append('.').append(element);
      }
    }
    if ("required".equals(m.getType()) && m.getProperty() != null) {
      return new Problem(field + "." + m.getProperty(), "required");
    }
    // the library's message starts with the JSON path it already gave us; keep the part after it
    String message = m.getMessage();
    int colon = message.indexOf(": ");
    return new Problem(field.toString(), colon >= 0 ? message.substring(colon + 2) : message);
  }

  /** {@code GET /v1/schemas}: every (type, version) with its schema, each type's versions oldest first. */
  public JsonObject describe() {
    JsonArray list = new JsonArray();
    for (Entry e : schemas.values()) {
      list.add(new JsonObject()
          .put("type", e.key().type())
          .put("version", e.key().version())
          .put("schema", new JsonObject(e.source().toString())));
    }
    return new JsonObject().put("schemas", list);
  }
}
