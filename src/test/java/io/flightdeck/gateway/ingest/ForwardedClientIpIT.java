package io.flightdeck.gateway.ingest;

import static io.flightdeck.gateway.ingest.IngestRequests.assertAppended;
import static io.flightdeck.gateway.ingest.IngestRequests.post;
import static io.flightdeck.gateway.ingest.IngestRequests.storedMetadata;
import static io.flightdeck.gateway.ingest.IngestRequests.stream;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The stored {@code clientIp} behind a trusted proxy ({@code http.trustProxyHeaders: true}): the address the proxy
 * added to its header ({@code http.proxyHeader}), counted {@code http.trustedProxyHops} entries from the right, so
 * nothing a client writes in a header of its own can choose it.
 */
@ExtendWith(PostgresExtension.class)
class ForwardedClientIpIT {

  // three gateways on the one database: the first starts first and closes last
  @RegisterExtension
  @Order(1)
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_HTTP_TRUST_PROXY_HEADERS", "true"));
  @RegisterExtension
  @Order(2)
  static final ClassGateway twoHops = ClassGateway.with(Map.of("FLIGHTDECK_HTTP_TRUST_PROXY_HEADERS", "true",
      "FLIGHTDECK_HTTP_TRUSTED_PROXY_HOPS", "2"));
  @RegisterExtension
  @Order(3)
  static final ClassGateway rfc7239 = ClassGateway.with(Map.of("FLIGHTDECK_HTTP_TRUST_PROXY_HEADERS", "true",
      "FLIGHTDECK_HTTP_PROXY_HEADER", "Forwarded"));

  /** Posts one page view with {@code headers} (name, value, ...) and answers its stored clientIp (null: none). */
  private static String storedClientIp(ClassGateway to, String... headers) {
    HttpTestClient http = to.http();
    JsonObject event = HttpTestClient.pageView(stream("forwarded"), "/");
    HttpRequest.Builder request = post(http, event.encode());
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    assertAppended(http.send(request), 1);
    return storedMetadata(gateway.db(), event.getString("id")).getString("clientIp");
  }

  @ParameterizedTest(name = "X-Forwarded-For: {0} is stored as {1}")
  @CsvSource(delimiter = '|', value = {
      "203.0.113.7 | 203.0.113.0",
      "198.51.100.9, 203.0.113.7 | 203.0.113.0",
      "198.51.100.9 , 203.0.113.7 | 203.0.113.0",
      "198.51.100.9,203.0.113.7 | 203.0.113.0",
      "203.0.113.7:4711 | 203.0.113.0",
      "2001:db8:1:2:3:4:5:6 | 2001:db8:1::",
      "2001:db8::1 | 2001:db8::",
      "::ffff:203.0.113.7 | 203.0.113.0",
      "[2001:db8:cafe::17]:4711 | 2001:db8:cafe::",
      "[2001:db8:cafe::17] | 2001:db8:cafe::",
      "fe80::1%eth0 | fe80::",
      "198.51.100.9, [fe80::1%eth0]:80 | fe80::",
  })
  @DisplayName("behind one trusted proxy the last X-Forwarded-For entry, the one the proxy added, is stored anonymized")
  void lastForwardedForEntryIsStored(String value, String stored) {
    assertEquals(stored, storedClientIp(gateway, "X-Forwarded-For", value));
  }

  @Test
  @DisplayName("X-Forwarded-For sent on several lines is one list: the last line's last entry is the proxy's")
  void severalForwardedForLinesAreOneList() {
    assertEquals("203.0.113.0",
        storedClientIp(gateway, "X-Forwarded-For", "198.51.100.9", "X-Forwarded-For", "203.0.113.7"));
  }

  @Test
  @DisplayName("a Forwarded header a client sends does not override the X-Forwarded-For entry the proxy added")
  void clientForwardedHeaderIsIgnored() {
    assertEquals("203.0.113.0",
        storedClientIp(gateway, "Forwarded", "for=198.51.100.9", "X-Forwarded-For", "203.0.113.7"));
  }

  @Test
  @DisplayName("an entry the proxy added that is no IP address stores no clientIp, not an entry the client wrote")
  void proxyEntryNotAnAddress() {
    assertNull(storedClientIp(gateway, "X-Forwarded-For", "198.51.100.9, unknown"));
  }

  @Test
  @DisplayName("without the proxy's header the address of the connection is stored")
  void noHeaderStoresTheConnectionsAddress() {
    assertEquals("127.0.0.0", storedClientIp(gateway));
  }

  @ParameterizedTest(name = "X-Forwarded-For: {0} is stored as {1}")
  @CsvSource(delimiter = '|', value = {
      "198.51.100.9, 203.0.113.7, 10.0.0.1 | 203.0.113.0",
      "203.0.113.7 , 10.0.0.1 | 203.0.113.0",
      "203.0.113.7 | 203.0.113.0",
  })
  @DisplayName("behind two trusted proxies the second entry from the right is stored; with fewer, the leftmost")
  void twoTrustedProxies(String value, String stored) {
    assertEquals(stored, storedClientIp(twoHops, "X-Forwarded-For", value));
  }

  @ParameterizedTest(name = "Forwarded: {0} is stored as {1}")
  @CsvSource(delimiter = '|', value = {
      "for=192.0.2.60;proto=http | 192.0.2.0",
      "for=\"[2001:db8:cafe::17]:4711\" | 2001:db8:cafe::",
      "for=\"[2001:db8:cafe::17]\" | 2001:db8:cafe::",
      "for=198.51.100.9, for=192.0.2.60 | 192.0.2.0",
      "for=198.51.100.9,For=\"192.0.2.60:80\";by=10.0.0.1 | 192.0.2.0",
  })
  @DisplayName("with http.proxyHeader Forwarded the last Forwarded element's for= is stored anonymized")
  void lastForwardedElementIsStored(String value, String stored) {
    assertEquals(stored, storedClientIp(rfc7239, "Forwarded", value));
  }

  @Test
  @DisplayName("with http.proxyHeader Forwarded an X-Forwarded-For a client sends is ignored")
  void clientForwardedForIsIgnored() {
    assertEquals("192.0.2.0",
        storedClientIp(rfc7239, "X-Forwarded-For", "198.51.100.9", "Forwarded", "for=192.0.2.60"));
    assertEquals("127.0.0.0", storedClientIp(rfc7239, "X-Forwarded-For", "198.51.100.9"));
  }
}
