package io.flightdeck.gateway.ingest.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flightdeck.gateway.event.EventSchemas;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The type, schema version and data one Segment call becomes; see docs/SEGMENT.md for the table. */
final class SegmentData {

  /** Page properties that become fields of PageViewed itself rather than staying in data.properties. */
  private static final List<String> PAGE_FIELDS = List.of("path", "url", "title", "referrer");
  /**
   * PageViewed version 2's limits (characters) on pageId, url and referrer, and on title: a page's text is cut to
   * them, as the snippet cuts it, rather than the call refused (which, from a Segment library, drops its whole
   * batch) for a long URL or title. SegmentMapperTest checks them against the schema.
   */
  static final int PAGE_TEXT_MAX = 2048;
  static final int PAGE_TITLE_MAX = 1024;
  /** ScreenViewed version 1's limit (characters) on name, which a screen call's name is cut to likewise. */
  static final int SCREEN_NAME_MAX = 1024;
  /** {@code scheme://authority} or {@code //authority}, then the path (group 1); see {@link #browserUrlPath}. */
  private static final Pattern NETWORK_URL = Pattern.compile("(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*([^?#]*)");
  private static final Pattern ABSOLUTE_PATH = Pattern.compile("/[^?#]*");

  private final EventSchemas schemas;
  private final SegmentMessage m;
  private final JsonNode context;
  private final ObjectNode event;
  private final Map<String, String> sources;

  SegmentData(EventSchemas schemas, SegmentMessage m, JsonNode context, ObjectNode event,
              Map<String, String> sources) {
    this.schemas = schemas;
    this.m = m;
    this.context = context;
    this.event = event;
    this.sources = sources;
  }

  void map(String call, String userId) {
    switch (call) {
      case "track" -> track();
      case "page" -> page();
      case "screen" -> screen();
      case "identify" -> identify();
      case "group" -> group();
      case "alias" -> alias(userId);
      default -> throw new IllegalArgumentException("not a Segment call: " + call);
    }
  }

  /** The event's name is its type: a built-in type at its latest version, else a custom type (version 1). */
  private void track() {
    String name = m.string("event");
    if (name == null && !m.has("event")) {
      m.problem("event", "required");
    }
    if (name != null) {
      event.put("type", name);
      event.put("schemaVersion", schemas.latestVersion(name).orElse(1));
    }
    event.set("data", m.object("properties"));
    sources.put("type", "event");
    sources.put("data", "properties");
  }

  private void page() {
    ObjectNode properties = m.object("properties");
    String name = m.string("name");
    String category = m.string("category");
    JsonNode page = context.path("page");
    ObjectNode data = type("PageViewed", 2);
    data.put("pageId", cut(pageId(properties, page, name), PAGE_TEXT_MAX));
    for (String field : List.of("url", "title", "referrer")) {
      String own = SegmentMessage.text(properties, field);
      String value = own != null ? own : SegmentMessage.text(page, field);
      String source = own != null || value == null ? "properties." + field : "context.page." + field;
      // a NUL past the cut is refused too, as the same value shorter would be
      m.storable(source, value);
      data.put(field, cut(value, field.equals("title") ? PAGE_TITLE_MAX : PAGE_TEXT_MAX));
      sources.put("data." + field, source);
    }
    ObjectNode rest = properties.deepCopy();
    // only a string can become pageId, url, title or referrer: a value of another kind stays here, not lost
    PAGE_FIELDS.stream().filter(field -> properties.path(field).isTextual()).forEach(rest::remove);
    if (name != null) {
      rest.put("name", name);
    }
    if (category != null) {
      rest.put("category", category);
    }
    if (!rest.isEmpty()) {
      data.set("properties", rest);
    }
    sources.put("data.properties", "properties");
    sources.put("data", "properties");
  }

  /** {@code value} cut to {@code max} characters (code points, as the validator counts them; never inside a pair). */
  static String cut(String value, int max) {
    return value != null && value.length() > max && value.codePointCount(0, value.length()) > max
        ? value.substring(0, value.offsetByCodePoints(0, max)) : value;
  }

  /** The first of properties.path, context.page.path, the path of properties.url or context.page.url, name, "/". */
  private String pageId(JsonNode properties, JsonNode page, String name) {
    String[][] candidates = {
        {SegmentMessage.text(properties, "path"), "properties.path"},
        {SegmentMessage.text(page, "path"), "context.page.path"},
        {urlPath(SegmentMessage.text(properties, "url")), "properties.url"},
        {urlPath(SegmentMessage.text(page, "url")), "context.page.url"},
        {name == null || name.isEmpty() ? null : name, "name"}};
    for (String[] candidate : candidates) {
      if (candidate[0] != null) {
        m.storable(candidate[1], candidate[0]);
        sources.put("data.pageId", candidate[1]);
        return candidate[0];
      }
    }
    return "/";
  }

  /** The path of a URL ("/" for a bare origin); null when it is no hierarchical URL. */
  static String urlPath(String url) {
    if (url == null) {
      return null;
    }
    try {
      URI uri = new URI(url);
      if (uri.isOpaque()) {
        return null;
      }
      String path = uri.getRawPath();
      return path == null || path.isEmpty() ? "/" : path;
    } catch (URISyntaxException e) {
      return browserUrlPath(url);
    }
  }

  /**
   * The path of a URL that {@link URI} refuses but a browser writes: {@code location.href} (WHATWG URL) leaves
   * {@code | { } [ ] ^ `} unescaped, so {@code https://shop.example/a?q=x|y} is no RFC 3986 URI. Read as RFC 3986's
   * own parsing regex does: after {@code scheme://authority} (or {@code //authority}), up to {@code ?} or {@code #};
   * a text starting with {@code /} is a path. Null for anything else.
   */
  private static String browserUrlPath(String url) {
    Matcher network = NETWORK_URL.matcher(url);
    if (network.lookingAt()) {
      return network.group(1).isEmpty() ? "/" : network.group(1);
    }
    Matcher absolute = ABSOLUTE_PATH.matcher(url);
    return absolute.lookingAt() ? absolute.group() : null;
  }

  /**
   * ScreenViewed has no field of its own for the category analytics-swift's and analytics-kotlin's
   * {@code screen(title, category)} send: it is kept under {@code data.properties}, as a page's is, over a property
   * of that name. An empty one says nothing: analytics-kotlin sends {@code ""} when the app gives none.
   */
  private void screen() {
    ObjectNode data = type("ScreenViewed", 1);
    data.put("name", cut(m.string("name"), SCREEN_NAME_MAX));
    ObjectNode properties = m.object("properties");
    String category = m.string("category");
    if (category != null && !category.isEmpty()) {
      properties.put("category", category);
    }
    data.set("properties", properties);
    sources.put("data.name", "name");
    sources.put("data.properties", "properties");
    sources.put("data", "properties");
  }

  private void identify() {
    type("Identified", 1).set("traits", m.object("traits"));
    sources.put("data.traits", "traits");
    sources.put("data", "traits");
  }

  private void group() {
    String groupId = m.requiredId("groupId");
    ObjectNode data = type("GroupAssigned", 1);
    data.put("groupId", groupId);
    data.set("traits", m.object("traits"));
    sources.put("data.groupId", "groupId");
    sources.put("data.traits", "traits");
    sources.put("data", "traits");
  }

  private void alias(String userId) {
    String previousId = m.requiredId("previousId");
    ObjectNode data = type("Aliased", 1);
    data.put("previousId", previousId);
    data.put("userId", userId);
    sources.put("data.previousId", "previousId");
    sources.put("data.userId", "userId");
  }

  /** Sets the event's type and version; answers its (empty) data to fill. */
  private ObjectNode type(String type, int version) {
    event.put("type", type);
    event.put("schemaVersion", version);
    return event.putObject("data");
  }
}
