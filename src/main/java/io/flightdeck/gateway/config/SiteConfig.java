package io.flightdeck.gateway.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A website that may send events.
 *
 * @param id short name, stored in each event's metadata as {@code site}
 * @param writeKey the key its snippet sends; public by nature, so it only identifies, it does not authorize reads
 * @param allowedOrigins browser origins allowed to post ({@code *} allows any)
 * @param eventsPerSecond sustained rate limit in events
 * @param burst events that may arrive at once above the sustained rate
 * @param customEvents the event types it may send beyond the built-in ones (none unless configured)
 */
public record SiteConfig(String id, String writeKey, List<String> allowedOrigins, long eventsPerSecond, long burst,
                         CustomEventsConfig customEvents) {

  public static final String DEMO_WRITE_KEY = "demo-write-key";

  static SiteConfig from(Section s, IngestConfig ingest) {
    String id = s.requiredString("id");
    if (!id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
      throw new ConfigException(s.key("id"), "must be 1-64 letters, digits, '.', '_' or '-'");
    }
    String writeKey = s.requiredString("writeKey");
    if (writeKey.length() < 8) {
      throw new ConfigException(s.key("writeKey"), "must be at least 8 characters");
    }
    List<String> origins = new ArrayList<>();
    for (String origin : s.strings("allowedOrigins", List.of())) {
      if (!origin.equals("*") && !origin.matches("(?i)https?://[^/\\s]+")) {
        throw new ConfigException(s.key("allowedOrigins"), "'" + origin + "' is not * or scheme://host[:port]");
      }
      origins.add(serialized(origin));
    }
    Section limit = s.section("rateLimit");
    long perSecond = limit.number("eventsPerSecond", 2000, 1, 10_000_000);
    long burst = limit.number("burst", Math.max(perSecond, 2L * ingest.maxBatchEvents()), 1, 100_000_000);
    if (burst < ingest.maxBatchEvents()) {
      throw new ConfigException(limit.key("burst"),
          "must be at least ingest.maxBatchEvents (" + ingest.maxBatchEvents() + ") or a full batch is never allowed");
    }
    return new SiteConfig(id, writeKey, origins, perSecond, burst,
        CustomEventsConfig.from(s.section("customEvents"), ingest));
  }

  /**
   * An origin as browsers send it in {@code Origin} (RFC 6454 serialization): scheme and host in lower case, the
   * scheme's default port left out. Origins are compared as strings, so {@code https://Shop.example:443} in the
   * configuration would otherwise never match the {@code https://shop.example} a browser sends.
   */
  static String serialized(String origin) {
    String lower = origin.toLowerCase(Locale.ROOT);
    if (lower.startsWith("https://") && lower.endsWith(":443")) {
      return lower.substring(0, lower.length() - 4);
    }
    if (lower.startsWith("http://") && lower.endsWith(":80")) {
      return lower.substring(0, lower.length() - 3);
    }
    return lower;
  }

  public boolean allowsOrigin(String origin) {
    return allowedOrigins.contains("*") || allowedOrigins.contains(origin);
  }
}
