package io.flightdeck.gateway.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The host of an allowed origin as browsers write it in {@code Origin}: the WHATWG URL standard's host parser and
 * serializer, for the IP addresses it rewrites. Origins are compared as strings, so an address written another way
 * ({@code [0:0:0:0:0:0:0:1]}, {@code 127.000.000.001}) would otherwise never match the {@code [::1]} or
 * {@code 127.0.0.1} a page sends, and one the parser refuses ({@code 256.0.0.1}, {@code shop.123}) no page can have.
 */
final class OriginHost {

  private OriginHost() {
  }

  /**
   * {@code host} (lower case, a bracketed IPv6 address or dot-separated labels) as serialized in an origin; null when
   * a browser's URL parser refuses it. A DNS name is kept as it is.
   */
  static String serialized(String host) {
    if (host.startsWith("[")) {
      int[] pieces = ipv6(host.substring(1, host.length() - 1));
      return pieces == null ? null : "[" + ipv6Text(pieces) + "]";
    }
    List<String> parts = new ArrayList<>(Arrays.asList(host.split("\\.", -1)));
    if (parts.size() > 1 && parts.get(parts.size() - 1).isEmpty()) {
      parts.remove(parts.size() - 1);
    }
    // the standard's "ends in a number": such a host is an IPv4 address or nothing
    if (ipv4Number(parts.get(parts.size() - 1)) < 0) {
      return host;
    }
    return ipv4(parts);
  }

  /** The URL standard's IPv4 parser: 1 to 4 numbers, each decimal, octal (leading 0) or hex (0x); null if none. */
  private static String ipv4(List<String> parts) {
    if (parts.size() > 4) {
      return null;
    }
    long address = 0;
    for (int i = 0; i < parts.size(); i++) {
      long n = ipv4Number(parts.get(i));
      boolean last = i == parts.size() - 1;
      // every number but the last is one byte; the last fills the bytes that are left
      if (n < 0 || (!last && n > 255) || (last && n >= 1L << (8 * (5 - parts.size())))) {
        return null;
      }
      address = last ? (address << (8 * (5 - parts.size()))) | n : (address << 8) | n;
    }
    return (address >>> 24) + "." + ((address >>> 16) & 255) + "." + ((address >>> 8) & 255) + "." + (address & 255);
  }

  /** One IPv4 number, or -1 when {@code part} is none (or larger than any address could hold). */
  private static long ipv4Number(String part) {
    int radix = 10;
    String digits = part;
    if (part.startsWith("0x")) {
      radix = 16;
      digits = part.substring(2);
    } else if (part.length() > 1 && part.startsWith("0")) {
      radix = 8;
      digits = part.substring(1);
    }
    int base = radix;
    if (part.isEmpty() || !digits.chars().allMatch(c -> Character.digit(c, base) >= 0)) {
      return -1;
    }
    // leading zeros say nothing; more than 12 significant digits is past 2^32 in every radix
    String significant = digits.replaceFirst("^0+", "");
    return significant.isEmpty() ? 0 : significant.length() > 12 ? Long.MAX_VALUE : Long.parseLong(significant, radix);
  }

  /** The URL standard's IPv6 parser: eight 16-bit pieces, or null when {@code text} is no address. */
  private static int[] ipv6(String text) {
    int compress = text.indexOf("::");
    if (compress >= 0 && text.indexOf("::", compress + 1) >= 0) {
      return null;
    }
    String left = compress < 0 ? text : text.substring(0, compress);
    String right = compress < 0 ? "" : text.substring(compress + 2);
    // a dotted IPv4 address may only end the whole address
    List<Integer> head = compress >= 0 && left.isEmpty() ? List.of() : pieces(left, compress < 0);
    List<Integer> tail = right.isEmpty() ? List.of() : pieces(right, true);
    if (head == null || tail == null || (compress < 0 ? head.size() != 8 : head.size() + tail.size() > 7)) {
      return null;
    }
    int[] pieces = new int[8];
    for (int i = 0; i < head.size(); i++) {
      pieces[i] = head.get(i);
    }
    for (int i = 0; i < tail.size(); i++) {
      pieces[8 - tail.size() + i] = tail.get(i);
    }
    return pieces;
  }

  /**
   * Colon-separated pieces of 1 to 4 hex digits, the last of them possibly (with {@code ipv4Last}) a dotted IPv4
   * address, which is two pieces; null when {@code text} is not that.
   */
  private static List<Integer> pieces(String text, boolean ipv4Last) {
    String[] split = text.split(":", -1);
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < split.length; i++) {
      String piece = split[i];
      if (ipv4Last && i == split.length - 1 && piece.contains(".")) {
        int[] v4 = embeddedIpv4(piece);
        if (v4 == null) {
          return null;
        }
        out.add(v4[0] << 8 | v4[1]);
        out.add(v4[2] << 8 | v4[3]);
      } else if (piece.matches("[0-9a-f]{1,4}")) {
        out.add(Integer.parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  }

  /** An IPv4 address inside an IPv6 one: four decimal numbers 0-255 without leading zeros, as the parser takes. */
  private static int[] embeddedIpv4(String text) {
    String[] split = text.split("\\.", -1);
    if (split.length != 4) {
      return null;
    }
    int[] bytes = new int[4];
    for (int i = 0; i < 4; i++) {
      if (!split[i].matches("0|[1-9][0-9]{0,2}") || Integer.parseInt(split[i]) > 255) {
        return null;
      }
      bytes[i] = Integer.parseInt(split[i]);
    }
    return bytes;
  }

  /** The URL standard's IPv6 serializer: hex without leading zeros, the first longest run of 2+ zeros as "::". */
  private static String ipv6Text(int[] pieces) {
    int start = -1;
    int length = 1;
    for (int i = 0; i < 8; i++) {
      int run = 0;
      while (i + run < 8 && pieces[i + run] == 0) {
        run++;
      }
      if (run > length) {
        start = i;
        length = run;
      }
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == start) {
        out.append(i == 0 ? "::" : ":");
        i += length - 1;
        continue;
      }
      out.append(Integer.toHexString(pieces[i]));
      if (i < 7) {
        out.append(':');
      }
    }
    return out.toString();
  }
}
