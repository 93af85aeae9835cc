package io.flightdeck.gateway.ingest;

import static io.flightdeck.gateway.ingest.IngestRequests.assertAppended;
import static io.flightdeck.gateway.ingest.IngestRequests.assertError;
import static io.flightdeck.gateway.ingest.IngestRequests.postWith;
import static io.flightdeck.gateway.ingest.IngestRequests.rowsInStream;
import static io.flightdeck.gateway.ingest.IngestRequests.storedMetadata;
import static io.flightdeck.gateway.ingest.IngestRequests.stream;
import static io.flightdeck.gateway.support.HttpTestClient.pageView;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Browser origins: which pages may post events for which site, and the CORS answers browsers need. */
@ExtendWith(PostgresExtension.class)
class CorsIT {

  private static final String SHOP_KEY = "shop-write-key";
  private static final String SHOP = "https://shop.example";
  private static final String EVIL = "https://evil.example";
  private static final String SHOP_SITE = "{\"id\":\"shop\",\"writeKey\":\"" + SHOP_KEY + "\","
      + "\"allowedOrigins\":[\"" + SHOP + "\"],\"rateLimit\":{\"eventsPerSecond\":1000,\"burst\":1000}}";
  private static final String DEMO_SITE = "{\"id\":\"demo\",\"writeKey\":\"" + TestGateway.WRITE_KEY + "\","
      + "\"allowedOrigins\":[\"*\"]}";

  @RegisterExtension
  static final ClassGateway gateway =
      ClassGateway.with(Map.of("FLIGHTDECK_SITES", "[" + DEMO_SITE + "," + SHOP_SITE + "]"));

  static HttpTestClient http() {
    return gateway.http();
  }

  private static HttpTestClient.Response postFrom(HttpTestClient client, String origin, String writeKey,
                                                  JsonObject event) {
    return client.send(postWith(client, "/v1/events", event.encode(),
        "Content-Type", "application/json", "X-Write-Key", writeKey, "Origin", origin));
  }

  private static HttpTestClient.Response preflight(HttpTestClient client, String origin) {
    return client.send(client.request("/v1/events")
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type, x-write-key")
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
  }

  @Test
  @DisplayName("a page on an origin the site does not allow is refused with 403 origin_not_allowed")
  void disallowedOriginIsRefused() {
    String streamId = stream("shopper");

    HttpTestClient.Response r = postFrom(http(), EVIL, SHOP_KEY, pageView(streamId, "/cart"));

    assertError(r, 403, "origin_not_allowed");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a page on an origin the site allows posts its event and may read the answer")
  void allowedOriginIsAccepted() {
    JsonObject event = pageView(stream("shopper"), "/cart");

    HttpTestClient.Response r = postFrom(http(), SHOP, SHOP_KEY, event);

    assertAppended(r, 1);
    assertEquals(SHOP, r.header("Access-Control-Allow-Origin"), r.headers().toString());
    assertEquals("shop", storedMetadata(gateway.db(), event.getString("id")).getString("site"));
  }

  @Test
  @DisplayName("a site that allows any origin accepts events from any page")
  void wildcardSiteAcceptsAnyOrigin() {
    JsonObject event = pageView(stream("visitor"), "/anywhere");

    HttpTestClient.Response r = postFrom(http(), "https://blog.example", TestGateway.WRITE_KEY, event);

    assertAppended(r, 1);
    assertEquals("https://blog.example", r.header("Access-Control-Allow-Origin"), r.headers().toString());
  }

  @Test
  @DisplayName("a CORS preflight from an allowed origin is answered 204 with the methods, headers and origin allowed")
  void preflightFromAllowedOrigin() {
    HttpTestClient.Response r = preflight(http(), SHOP);

    assertEquals(204, r.status(), r.body());
    assertEquals(SHOP, r.header("Access-Control-Allow-Origin"), r.headers().toString());
    assertTrue(tokens(r, "Access-Control-Allow-Methods").contains("post"), r.headers().toString());
    assertTrue(tokens(r, "Access-Control-Allow-Headers").containsAll(List.of("content-type", "x-write-key")),
        r.headers().toString());
  }

  @ParameterizedTest(name = "OPTIONS {0}")
  @CsvSource(delimiter = '|', value = {"/v1/events | GET, HEAD, OPTIONS, POST", "/v1/track | OPTIONS, POST"})
  @DisplayName("OPTIONS without Origin is no preflight: 204 with the path's methods in Allow and no CORS headers")
  void optionsWithoutOriginListsTheMethods(String path, String allow) {
    HttpTestClient.Response r =
        http().send(http().request(path).method("OPTIONS", HttpRequest.BodyPublishers.noBody()));

    assertEquals(204, r.status(), r.body());
    assertEquals(allow, r.header("Allow"), r.headers().toString());
    assertNull(r.header("Access-Control-Allow-Origin"), r.headers().toString());
  }

  @Test
  @DisplayName("from an origin no site allows, a CORS preflight is refused with 403 origin_not_allowed, and every "
      + "refusal of a POST is readable by that origin: its origin (403), a wrong write key (401), a body that is not "
      + "JSON (400), a media type (415), a body too large (413); nothing is stored")
  void refusalsToAnOriginNoSiteAllowsAreReadable() throws Exception {
    try (TestGateway restricted = TestGateway.start(gateway.db(), Map.of("FLIGHTDECK_SITES", "[" + SHOP_SITE + "]"))) {
      HttpTestClient client = restricted.http();

      assertError(preflight(client, EVIL), 403, "origin_not_allowed");
      assertEquals(204, preflight(client, SHOP).status(), "the allowed origin still passes");

      String streamId = stream("stranger");
      HttpTestClient.Response origin = postFrom(client, EVIL, SHOP_KEY, pageView(streamId, "/cart"));
      assertError(origin, 403, "origin_not_allowed");
      // no site allows it, yet the page may read the refusal: a browser would otherwise show it a network failure,
      // and the snippet would keep the events and send them again
      assertReadableBy(EVIL, origin);

      HttpTestClient.Response unknownKey = postFrom(client, EVIL, "no-such-key", pageView(streamId, "/cart"));
      assertError(unknownKey, 401, "unknown_write_key");
      assertReadableBy(EVIL, unknownKey);

      HttpTestClient.Response noKey = client.send(postWith(client, "/v1/events", pageView(streamId, "/").encode(),
          "Content-Type", "text/plain", "Origin", EVIL));
      assertError(noKey, 401, "missing_write_key");
      assertReadableBy(EVIL, noKey);

      HttpTestClient.Response notJson = client.send(postWith(client, "/v1/events", "{\"type\":",
          "Content-Type", "text/plain", "X-Write-Key", SHOP_KEY, "Origin", EVIL));
      assertError(notJson, 400, "invalid_json");
      assertReadableBy(EVIL, notJson);

      HttpTestClient.Response mediaType = client.send(postWith(client, "/v1/events", "<xml/>",
          "Content-Type", "application/xml", "X-Write-Key", SHOP_KEY, "Origin", EVIL));
      assertError(mediaType, 415, "unsupported_media_type");
      assertReadableBy(EVIL, mediaType);

      HttpTestClient.Response tooLarge = client.send(postWith(client, "/v1/events", "x".repeat(600 * 1024),
          "Content-Type", "text/plain", "X-Write-Key", SHOP_KEY, "Origin", EVIL));
      assertError(tooLarge, 413, "payload_too_large");
      assertReadableBy(EVIL, tooLarge);

      HttpTestClient.Response segment = client.send(postWith(client, "/v1/track", "{}",
          "Content-Type", "text/plain", "Origin", EVIL));
      assertEquals(401, segment.status(), segment.body());
      assertReadableBy(EVIL, segment);

      assertEquals(0L, rowsInStream(gateway.db(), streamId));
      HttpTestClient.Response allowed = postFrom(client, SHOP, SHOP_KEY, pageView(streamId, "/cart"));
      assertAppended(allowed, 1);
      assertReadableBy(SHOP, allowed);
    }
  }

  @ParameterizedTest
  @CsvSource({"/v1/events", "/v1/track", "/v1/batch", "/v1/events/", "/v1/track/"})
  @DisplayName("a tracking request refused for its query string (an escape that is not UTF-8) is readable by the page")
  void badQueryRefusalIsReadable(String path) {
    String streamId = stream("query");
    HttpTestClient client = http();

    // the query check runs before any route's handler; its 400 must carry the CORS headers like every refusal
    HttpTestClient.Response r = client.send(postWith(client, path + "?writeKey=%C0%AF",
        pageView(streamId, "/").encode(), "Content-Type", "text/plain", "X-Write-Key", SHOP_KEY, "Origin", SHOP));

    assertError(r, 400, "invalid_parameter");
    assertReadableBy(SHOP, r);
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  private static void assertReadableBy(String origin, HttpTestClient.Response r) {
    assertEquals(origin, r.header("Access-Control-Allow-Origin"), r.status() + " " + r.headers());
    assertEquals("Retry-After, X-RateLimit-Reset", r.header("Access-Control-Expose-Headers"), r.headers().toString());
    assertTrue(tokens(r, "Vary").contains("origin"), r.headers().toString());
    assertNull(r.header("Access-Control-Allow-Credentials"), r.headers().toString());
  }

  private static List<String> tokens(HttpTestClient.Response r, String header) {
    String value = r.header(header);
    assertNotNull(value, header + " is sent: " + r.headers());
    return Arrays.stream(value.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT)).toList();
  }
}
