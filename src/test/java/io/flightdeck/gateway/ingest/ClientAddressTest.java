package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** Client addresses are stored anonymized: the part that identifies one machine never reaches the store. */
class ClientAddressTest {

  /** An IPv4 literal as Java prints one, the reference the fast path is checked against. */
  private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  private static final Pattern IPV4 = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "203.0.113.77, 203.0.113.0",
      "192.168.1.255, 192.168.1.0",
      "127.0.0.1, 127.0.0.0",
      "10.0.0.0, 10.0.0.0",
      "255.255.255.255, 255.255.255.0"})
  @DisplayName("an IPv4 address loses its last octet")
  void ipv4(String address, String stored) {
    assertEquals(stored, ClientAddress.anonymize(address));
  }

  @Test
  @DisplayName("the IPv4 fast path takes exactly the strings the IPv4 pattern takes, and answers like InetAddress")
  void dottedQuadAgreesWithThePatternAndInetAddress() throws Exception {
    Random random = new Random(42);
    String[] parts = {"0", "00", "01", "1", "9", "10", "99", "100", "199", "249", "250", "255", "256", "299", "300",
        "999", "1000", "", "a", "-1", " 1", "+1"};
    for (int i = 0; i < 100_000; i++) {
      int octets = 3 + random.nextInt(3);
      StringBuilder b = new StringBuilder();
      for (int j = 0; j < octets; j++) {
        if (j > 0) {
          b.append(random.nextInt(20) == 0 ? ":" : ".");
        }
        b.append(random.nextBoolean() ? parts[random.nextInt(parts.length)] : Integer.toString(random.nextInt(256)));
      }
      String s = b.toString();
      boolean quad = ClientAddress.isDottedQuad(s);
      assertEquals(IPV4.matcher(s).matches(), quad, s);
      if (quad) {
        byte[] bytes = InetAddress.getByName(s).getAddress();
        bytes[3] = 0;
        assertEquals(InetAddress.getByAddress(bytes).getHostAddress(), ClientAddress.anonymize(s), s);
      }
    }
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "2001:db8:1234:5678:9abc:def0:1234:5678, 2001:db8:1234::",
      "2001:0DB8:ABCD:0012:0000:0000:0000:0001, 2001:db8:abcd::",
      "2001:db8::1, 2001:db8::",
      "2001:0:1234::5, 2001:0:1234::",
      "::1, ::",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ffff:ffff:ffff::"})
  @DisplayName("an IPv6 address keeps its first 48 bits and loses the last 80, written in short form")
  void ipv6(String address, String stored) {
    assertEquals(stored, ClientAddress.anonymize(address));
  }

  @Test
  @DisplayName("an IPv4-mapped IPv6 address is anonymized as the IPv4 address it carries")
  void ipv4MappedIpv6() {
    assertEquals("203.0.113.0", ClientAddress.anonymize("::ffff:203.0.113.77"));
    assertEquals("198.51.100.0", ClientAddress.anonymize("::FFFF:c633:6414"));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "fe80::1ff:fe23:4567:890a%eth0, fe80::",
      "fe80::1ff:fe23:4567:890a%3, fe80::",
      "2001:db8:1234:5678::1%en0, 2001:db8:1234::"})
  @DisplayName("a zone id is dropped along with the host part")
  void zoneIds(String address, String stored) {
    assertEquals(stored, ClientAddress.anonymize(address));
  }

  @ParameterizedTest(name = "\"{0}\"")
  @NullAndEmptySource
  @ValueSource(strings = {"example.com", "dead.beef", "cafe.example", "localhost", "unknown", " ", "1.2.3.4.5",
      "256.1.1.1", "203.0.113.77:8080", "2001:db8::1::2", "[2001:db8::1]", "g:1", "203.0.113.77, 10.0.0.1"})
  @DisplayName("anything that is not an IP address literal is stored as no address, and is never looked up")
  void notALiteral(String value) {
    assertNull(ClientAddress.anonymize(value));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "[2001:db8:cafe::17], 2001:db8:cafe::",
      "2001:db8:cafe::17, 2001:db8:cafe::",
      "fe80::1%eth0, fe80::",
      "203.0.113.77, 203.0.113.0",
      "[unknown], ",
      "_hidden, "})
  @DisplayName("a forwarded client address, which Vert.x knows only as text, is anonymized from that text")
  void forwardedAddresses(String host, String stored) {
    assertEquals(stored, ClientAddress.anonymize(SocketAddress.inetSocketAddress(0, host)));
  }
}
