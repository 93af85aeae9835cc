package io.flightdeck.gateway.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

  private static final String LABEL = "[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?";
  /** Groups: the scheme and {@code ://}, the host, the port (absent when none is written). */
  private static final Pattern ORIGIN = Pattern.compile(
      "(?i)(https?://)(\\[[0-9a-f:.]+]|" + LABEL + "(?:\\." + LABEL + ")*\\.?)(?::([0-9]{1,5}))?");

  static SiteConfig from(Section s, IngestConfig ingest) {
    String id = s.requiredString("id");
    if (!id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
      throw new ConfigException(s.key("id"), "must be 1-64 letters, digits, '.', '_' or '-'");
    }
    String writeKey = s.requiredString("writeKey");
    if (writeKey.length() < 8) {
      throw new ConfigException(s.key("writeKey"), "must be at least 8 characters");
    }
    GatewayConfig.sendable(s.key("writeKey"), writeKey);
    List<String> origins = new ArrayList<>();
    for (String origin : s.strings("allowedOrigins", List.of())) {
      if (!origin.equals("*") && !isOrigin(origin)) {
        throw new ConfigException(s.key("allowedOrigins"), "'" + origin + "' is not * or scheme://host[:port] as "
            + "browsers send it (a host name in ASCII, punycode for an international one, no wildcard; port 1-65535)");
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
   * Whether {@code origin} can be an {@code Origin} a browser sends: scheme, host (a DNS name, an IPv4 address or a
   * bracketed IPv6 address, as a browser's URL parser takes them) and an optional port, nothing else. Origins are
   * compared as strings, so anything looser (a wildcard such as {@code https://*.shop.example}, a query, user info, a
   * non-ASCII host, an address no browser parses such as {@code 256.0.0.1} or {@code [1::2::3]}) would be accepted
   * here and then match no page, refusing the site's own events with 403.
   */
  static boolean isOrigin(String origin) {
    Matcher m = ORIGIN.matcher(origin);
    if (!m.matches() || OriginHost.serialized(m.group(2).toLowerCase(Locale.ROOT)) == null) {
      return false;
    }
    int port = m.group(3) == null ? 1 : Integer.parseInt(m.group(3));
    return port >= 1 && port <= 65_535;
  }

  /**
   * An origin as browsers send it in {@code Origin} (RFC 6454 serialization, hosts as the WHATWG URL standard writes
   * them): scheme and host in lower case, an IP address in its one form ({@link OriginHost}), the scheme's default
   * port left out, any other without leading zeros. Origins are compared as strings, so
   * {@code https://Shop.example:443}, {@code https://shop.example:08443} or {@code http://[0:0:0:0:0:0:0:1]} in the
   * configuration would otherwise never match the {@code https://shop.example}, {@code https://shop.example:8443} or
   * {@code http://[::1]} a browser sends. Only for an origin {@link #isOrigin} takes.
   */
  static String serialized(String origin) {
    String lower = origin.toLowerCase(Locale.ROOT);
    Matcher m = ORIGIN.matcher(lower);
    if (!m.matches()) {
      return lower;
    }
    String base = m.group(1) + OriginHost.serialized(m.group(2));
    if (m.group(3) == null) {
      return base;
    }
    // the port as a number, as browsers write it: 08443 is 8443, and 0443 is https's default
    int port = Integer.parseInt(m.group(3));
    boolean defaultPort = port == (base.startsWith("https://") ? 443 : 80);
    return defaultPort ? base : base + ":" + port;
  }

  public boolean allowsOrigin(String origin) {
    return allowedOrigins.contains("*") || allowedOrigins.contains(origin);
  }
}
