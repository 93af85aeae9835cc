package io.flightdeck.gateway.ingest;

import io.vertx.core.net.SocketAddress;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** Anonymizes client addresses before they are stored: IPv4 loses its last octet, IPv6 its last 80 bits. */
public final class ClientAddress {

  /** Hex digits, colons and dots with at least one colon, starting with a hex digit or a colon. */
  private static final Pattern IPV6 = Pattern.compile("(?=.*:)[0-9A-Fa-f:][0-9A-Fa-f:.]*");

  private ClientAddress() {
  }

  /**
   * The anonymized address of a connection's peer, or {@code null} when it has none that is an IP literal: its IP
   * address, else the text of its host (bracketed or not). Behind a trusted proxy the client's address is read from
   * the proxy's header instead ({@link ForwardedClient}).
   */
  public static String anonymize(SocketAddress client) {
    if (client == null) {
      return null;
    }
    return anonymize(client.hostAddress() != null ? client.hostAddress() : unbracketed(client.host()));
  }

  private static String unbracketed(String host) {
    boolean bracketed = host != null && host.length() > 2 && host.startsWith("[") && host.endsWith("]");
    return bracketed ? host.substring(1, host.length() - 1) : host;
  }

  /** The anonymized address, or {@code null} when {@code literal} is not an IP address literal. */
  public static String anonymize(String literal) {
    if (literal == null) {
      return null;
    }
    String unzoned = stripZone(literal);
    if (isDottedQuad(unzoned)) {
      // what every request over IPv4 takes: the answer InetAddress would give, without two InetAddresses
      return unzoned.substring(0, unzoned.lastIndexOf('.') + 1) + "0";
    }
    // InetAddress resolves anything that is not a literal (a blocking DNS lookup), so only literals may pass:
    // IPv4 ones were taken above
    if (!IPV6.matcher(unzoned).matches()) {
      return null;
    }
    try {
      // only IP literals reach here, so this never performs a DNS lookup
      InetAddress address = InetAddress.getByName(unzoned);
      byte[] bytes = address.getAddress();
      if (address instanceof Inet4Address) {
        bytes[3] = 0;
      } else if (address instanceof Inet6Address) {
        for (int i = 6; i < 16; i++) {
          bytes[i] = 0;
        }
      }
      return format(InetAddress.getByAddress(bytes));
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** Whether {@code s} is four decimal octets (0 to 255, no leading zeros) joined by dots, as Java prints IPv4. */
  static boolean isDottedQuad(String s) {
    int octets = 0;
    int i = 0;
    int n = s.length();
    while (i < n && octets < 4) {
      int start = i;
      int value = 0;
      while (i < n && i - start < 3 && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
        value = value * 10 + (s.charAt(i) - '0');
        i++;
      }
      int digits = i - start;
      if (digits == 0 || value > 255 || (digits > 1 && s.charAt(start) == '0')) {
        return false;
      }
      octets++;
      if (octets < 4) {
        if (i >= n || s.charAt(i) != '.') {
          return false;
        }
        i++;
      }
    }
    return octets == 4 && i == n;
  }

  private static String stripZone(String literal) {
    int zone = literal.indexOf('%');
    return zone < 0 ? literal : literal.substring(0, zone);
  }

  private static String format(InetAddress address) {
    if (address instanceof Inet4Address) {
      return address.getHostAddress();
    }
    return compressIpv6(address.getHostAddress());
  }

  /** Java prints 2001:db8:0:0:0:0:0:0; people and databases write 2001:db8::. */
  static String compressIpv6(String full) {
    String[] groups = full.split(":");
    int bestStart = -1;
    int bestLen = 0;
    for (int i = 0; i < groups.length; ) {
      if (groups[i].equals("0")) {
        int j = i;
        while (j < groups.length && groups[j].equals("0")) {
          j++;
        }
        if (j - i > bestLen && j - i > 1) {
          bestStart = i;
          bestLen = j - i;
        }
        i = j;
      } else {
        i++;
      }
    }
    if (bestStart < 0) {
      return full;
    }
    String head = String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart));
    String tail = String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLen, groups.length));
    return head + "::" + tail;
  }
}
