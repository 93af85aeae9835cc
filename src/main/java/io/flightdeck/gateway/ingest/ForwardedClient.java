package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.config.HttpConfig;
import io.vertx.core.http.HttpServerRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The client address of a request, anonymized for storage: the connection's, or behind trusted proxies
 * ({@code http.trustProxyHeaders}) the one they wrote in {@code http.proxyHeader}. Proxies append, so a header's
 * entries left of the ones the trusted proxies added are whatever the client sent: the client is the entry
 * {@code http.trustedProxyHops} from the right, never the first one. Only the configured header is read, so a client
 * cannot override it by sending the other.
 */
public final class ForwardedClient {

  /** Takes every address from the connection. */
  public static final ForwardedClient CONNECTION = new ForwardedClient(null, 1);

  /** The header the trusted proxies write, null when none is trusted. */
  private final String header;
  private final int hops;

  private ForwardedClient(String header, int hops) {
    this.header = header;
    this.hops = hops;
  }

  public static ForwardedClient of(HttpConfig http) {
    return http.trustProxyHeaders() ? new ForwardedClient(http.proxyHeader(), http.trustedProxyHops()) : CONNECTION;
  }

  /** The anonymized address of the request's client, or {@code null} when it has none that is an IP literal. */
  public String anonymized(HttpServerRequest request) {
    List<String> entries = header == null ? List.of() : entries(request.headers().getAll(header),
        header.equals(HttpConfig.FORWARDED));
    if (entries.isEmpty()) {
      return ClientAddress.anonymize(request.remoteAddress());
    }
    return ClientAddress.anonymize(literal(pick(entries, hops)));
  }

  /** The entry {@code hops} from the right, or the leftmost when there are fewer. */
  static String pick(List<String> entries, int hops) {
    return entries.get(Math.max(0, entries.size() - hops));
  }

  /**
   * The node of each hop in header lines {@code lines} (in order, as one list; RFC 9110 section 5.3), empty
   * elements left out: an X-Forwarded-For entry, or a Forwarded element's {@code for} parameter ("" when it has
   * none: it is still a hop). Split at every comma and semicolon, quotes or not: a quote a client leaves open must not
   * swallow the elements a proxy appends after it, and no node a proxy writes holds either character.
   */
  static List<String> entries(List<String> lines, boolean rfc7239) {
    List<String> out = new ArrayList<>();
    for (String line : lines) {
      for (String element : line.split(",")) {
        if (!element.isBlank()) {
          out.add(rfc7239 ? forParameter(element) : element.trim());
        }
      }
    }
    return out;
  }

  private static String forParameter(String element) {
    for (String pair : element.split(";")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).trim().toLowerCase(Locale.ROOT).equals("for")) {
        return pair.substring(eq + 1).trim();
      }
    }
    return "";
  }

  /**
   * The address in a node: without quotes, brackets or port ({@code "[2001:db8::17]:4711"}, {@code 192.0.2.60:80});
   * an IPv6 address written bare keeps its colons, and its zone for {@link ClientAddress} to drop.
   */
  static String literal(String node) {
    String s = node.length() >= 2 && node.startsWith("\"") && node.endsWith("\"")
        ? node.substring(1, node.length() - 1).trim() : node;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      boolean port = close > 1 && (close == s.length() - 1 || s.charAt(close + 1) == ':');
      return port ? s.substring(1, close) : null;
    }
    int colon = s.indexOf(':');
    return colon >= 0 && colon == s.lastIndexOf(':') ? s.substring(0, colon) : s;
  }
}
