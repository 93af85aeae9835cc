package io.flightdeck.gateway.ingest;

import static io.flightdeck.gateway.ingest.IngestRequests.assertAppended;
import static io.flightdeck.gateway.ingest.IngestRequests.post;
import static io.flightdeck.gateway.ingest.IngestRequests.storedMetadata;
import static io.flightdeck.gateway.ingest.IngestRequests.stream;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The stored {@code clientIp} behind a trusted proxy ({@code http.trustProxyHeaders: true}). */
@ExtendWith(PostgresExtension.class)
class ForwardedClientIpIT {

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_HTTP_TRUST_PROXY_HEADERS", "true"));

  @ParameterizedTest(name = "{0}: {1} is stored as {2}")
  @CsvSource(delimiter = '|', value = {
      "X-Forwarded-For | 203.0.113.7 | 203.0.113.0",
      "X-Forwarded-For | 203.0.113.7, 10.0.0.1 | 203.0.113.0",
      "X-Forwarded-For | 2001:db8:1:2:3:4:5:6 | 2001:db8:1::",
      "X-Forwarded-For | 2001:db8::1 | 2001:db8::",
      "X-Forwarded-For | ::ffff:203.0.113.7 | 203.0.113.0",
      "Forwarded | for=192.0.2.60;proto=http | 192.0.2.0",
      "Forwarded | for=\"[2001:db8:cafe::17]:4711\" | 2001:db8:cafe::",
      "Forwarded | for=\"[2001:db8:cafe::17]\" | 2001:db8:cafe::",
      "X-Forwarded-For | [2001:db8:cafe::17]:4711 | 2001:db8:cafe::",
      "X-Forwarded-For | fe80::1%eth0 | fe80::",
  })
  @DisplayName("behind a trusted proxy the forwarded client address is stored anonymized, IPv6 ones included")
  void forwardedAddressIsStoredAnonymized(String header, String value, String stored) {
    HttpTestClient http = gateway.http();
    JsonObject event = HttpTestClient.pageView(stream("forwarded"), "/");

    assertAppended(http.send(post(http, event.encode()).header(header, value)), 1);

    assertEquals(stored, storedMetadata(gateway.db(), event.getString("id")).getString("clientIp"));
  }
}
