package io.flightdeck.gateway.config;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * The interface a listener binds ({@code http.host}, {@code metrics.host}). Vert.x only finds out that one is wrong
 * when it listens, after the store was prepared, and then says "Failed to resolve" or "Cannot assign requested
 * address" without the key: an exit with code 1 that names nothing to fix. So the form is checked with the other
 * values, and that the address resolves and is one of this machine's right after loading ({@link #checkBindable}).
 */
final class BindHost {

  private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
  private static final Pattern HOST_NAME = Pattern.compile(LABEL + "(?:\\." + LABEL + ")*\\.?");
  /** An IPv6 literal, without brackets (as Vert.x takes it), with an optional zone such as %eth0. */
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:][0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?");

  private BindHost() {
  }

  /** The field as an interface to bind: an IPv4 or IPv6 address or a host name. */
  static String from(Section s, String field) {
    String host = s.string(field, "0.0.0.0");
    boolean form = host.contains(":") ? ipv6(host) : host.length() <= 253 && HOST_NAME.matcher(host).matches();
    if (!form) {
      throw new ConfigException(s.key(field), "must be an IP address or a host name to bind, such as 0.0.0.0, "
          + "127.0.0.1 or :: (got '" + host + "')");
    }
    return host;
  }

  private static boolean ipv6(String host) {
    if (!IPV6.matcher(host).matches()) {
      return false;
    }
    try {
      // a text with ':' that starts with a hex digit or ':' is parsed as a literal, never looked up
      InetAddress.getByName(host);
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /**
   * Resolves {@code host} and binds a throw-away socket to it (on a port the system picks): a name that does not
   * resolve, or an address that is not this machine's, fails here with the key instead of at listen. Blocking.
   */
  static void checkBindable(String key, String host) {
    InetAddress address;
    try {
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new ConfigException(key, "'" + host + "' does not resolve to an address");
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(address, 0));
    } catch (IOException e) {
      throw new ConfigException(key, "cannot bind '" + host + "' (" + address.getHostAddress() + "): " + e.getMessage()
          + "; it must be an address of this machine, or 0.0.0.0 for all");
    }
  }
}
