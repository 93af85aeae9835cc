package io.flightdeck.gateway.ingest.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Segment messages holding text PostgreSQL cannot store (a NUL character, refused in text and in jsonb strings) or
 * ids longer than a stream id may be: a 400 naming the message's own field, once, wherever in the value the NUL
 * is (also past where the gateway cuts a value), and nothing of the request stored.
 */
@ExtendWith(PostgresExtension.class)
class SegmentUnstorableTextIT {

  private static final String NUL = "must not contain the NUL character";
  /** Longer than any cut the gateway makes (metadata 2048, page texts 2048, titles and names 1024). */
  private static final String LONG = "x".repeat(3000);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();

  private static HttpTestClient.Response post(String path, JsonObject body) {
    String basic = Base64.getEncoder().encodeToString((TestGateway.WRITE_KEY + ":").getBytes(StandardCharsets.UTF_8));
    HttpRequest.Builder b = gateway.http().request(path).POST(HttpRequest.BodyPublishers.ofString(body.encode()))
        .header("Content-Type", "application/json").header("Authorization", "Basic " + basic);
    return gateway.http().send(b);
  }

  /** The details of a 400 invalid_event answer. */
  private static JsonArray invalid(HttpTestClient.Response r) {
    assertEquals(400, r.status(), r.body());
    JsonObject error = r.json().getJsonObject("error");
    assertEquals("invalid_event", error.getString("code"), r.body());
    return error.getJsonArray("details");
  }

  private static long rows(String streamId) {
    return gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = ?", streamId);
  }

  private static String unique(String label) {
    return label + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static Arguments nul(String path, String field, Function<String, JsonObject> message) {
    return Arguments.of(path + " " + field, path, field, message);
  }

  static Stream<Arguments> nulFields() {
    return Stream.of(
        nul("/v1/track", "messageId", u -> track(u).put("messageId", "m-\u0000-1")),
        nul("/v1/track", "messageId", u -> track(u).put("messageId", LONG + "\u0000")),
        nul("/v1/track", "userId", u -> track("a\u0000" + u)),
        nul("/v1/identify", "anonymousId", u -> new JsonObject().put("anonymousId", "a\u0000" + u)),
        nul("/v1/identify", "anonymousId", u -> new JsonObject().put("userId", u).put("anonymousId", "a\u0000")),
        nul("/v1/track", "context.userAgent", u -> track(u).put("context", userAgent("Mozilla\u0000"))),
        nul("/v1/track", "context.userAgent", u -> track(u).put("context", userAgent(LONG + "\u0000"))),
        nul("/v1/track", "context.library", u -> track(u).put("context",
            new JsonObject().put("library", new JsonObject().put("name", LONG + "\u0000")))),
        nul("/v1/track", "originalTimestamp", u -> track(u).put("originalTimestamp", LONG + "\u0000")),
        nul("/v1/track", "event", u -> track(u).put("event", "Signed\u0000Up")),
        nul("/v1/page", "properties.url", u -> new JsonObject().put("userId", u)
            .put("properties", new JsonObject().put("url", "https://shop.example/" + LONG + "\u0000"))),
        nul("/v1/page", "context.page.referrer", u -> new JsonObject().put("userId", u).put("context",
            new JsonObject().put("page", new JsonObject().put("referrer", "https://a.example/" + LONG + "\u0000")))),
        nul("/v1/page", "properties.title", u -> new JsonObject().put("userId", u)
            .put("properties", new JsonObject().put("title", LONG + "\u0000"))),
        nul("/v1/page", "name", u -> new JsonObject().put("userId", u).put("name", "Pricing\u0000")),
        nul("/v1/screen", "name", u -> new JsonObject().put("userId", u).put("name", LONG + "\u0000")),
        nul("/v1/group", "groupId", u -> new JsonObject().put("userId", u).put("groupId", "g\u0000")),
        nul("/v1/alias", "previousId", u -> new JsonObject().put("userId", u).put("previousId", "p\u0000")),
        nul("/v1/identify", "traits.name", u -> new JsonObject().put("userId", u)
            .put("traits", new JsonObject().put("name", "Ada\u0000"))));
  }

  private static JsonObject track(String userId) {
    return new JsonObject().put("userId", userId).put("event", "Signed Up");
  }

  private static JsonObject userAgent(String userAgent) {
    return new JsonObject().put("userAgent", userAgent);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("nulFields")
  @DisplayName("a NUL character anywhere in a text the gateway stores, even past where it cuts the value, is one 400 "
      + "naming the message's field, and nothing is stored")
  void nulIsRefusedNamingTheField(String name, String path, String field, Function<String, JsonObject> message) {
    String user = unique("nul");

    JsonArray details = invalid(post(path, message.apply(user)));

    assertEquals(1, details.size(), details.encode());
    assertEquals(new JsonObject().put("index", 0).put("field", field).put("problem", NUL), details.getJsonObject(0));
    assertEquals(0L, rows(user));
  }

  @Test
  @DisplayName("a batch whose last message has a NUL past the cut of its user agent is refused whole, naming that "
      + "message; none of its messages is stored, and the same batch without the NUL is stored")
  void batchWithOneNulStaysAtomic() {
    String user = unique("nul-batch");
    JsonArray batch = new JsonArray()
        .add(track(user).put("type", "track"))
        .add(new JsonObject().put("type", "page").put("userId", user).put("name", "Home"))
        .add(new JsonObject().put("type", "identify").put("userId", user)
            .put("context", userAgent(LONG + "\u0000")));

    JsonArray details = invalid(post("/v1/batch", new JsonObject().put("batch", batch)));

    assertEquals(new JsonArray().add(new JsonObject().put("index", 2).put("field", "context.userAgent")
        .put("problem", NUL)), details);
    assertEquals(0L, rows(user));
    batch.getJsonObject(2).put("context", userAgent(LONG));
    assertEquals(200, post("/v1/batch", new JsonObject().put("batch", batch)).status());
    assertEquals(3L, rows(user));
  }

  static Stream<Arguments> longIds() {
    String over = "u".repeat(201);
    return Stream.of(
        Arguments.of("/v1/track", "userId", track(over)),
        Arguments.of("/v1/identify", "anonymousId", new JsonObject().put("anonymousId", over)),
        Arguments.of("/v1/identify", "userId", new JsonObject().put("userId", "\uD83D\uDE00".repeat(201))),
        Arguments.of("/v1/alias", "userId", new JsonObject().put("userId", over).put("previousId", "p")),
        Arguments.of("/v1/alias", "previousId", new JsonObject().put("userId", unique("a")).put("previousId", over)),
        Arguments.of("/v1/group", "groupId", new JsonObject().put("userId", unique("g")).put("groupId", over)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("longIds")
  @DisplayName("an id over 200 characters that would be a stream id or an id in data is one 400 naming the field")
  void longIdIsRefusedNamingTheField(String path, String field, JsonObject message) {
    JsonArray details = invalid(post(path, message));

    assertEquals(1, details.size(), details.encode());
    assertEquals(field, details.getJsonObject(0).getString("field"), details.encode());
    assertTrue(details.getJsonObject(0).getString("problem").contains("200 characters"), details.encode());
  }

  @Test
  @DisplayName("a stream id of 200 characters, 199 of them emoji (399 UTF-16 units), is stored: ids are counted in "
      + "characters, as the store counts them")
  void streamIdOf200EmojiIsStored() {
    String user = "\uD83D\uDE00".repeat(199) + UUID.randomUUID().toString().charAt(0);

    assertEquals(200, post("/v1/identify", new JsonObject().put("userId", user)).status());

    assertEquals(1L, rows(user));
  }

  @Test
  @DisplayName("a messageId over 200 characters is no stream id: it is stored, the event id its hash, the metadata "
      + "cut to 2048 characters, and a retry is still one event")
  void longMessageIdIsStored() {
    String user = unique("long-message-id");
    String messageId = LONG + user;

    assertEquals(200, post("/v1/track", track(user).put("messageId", messageId)).status());
    assertEquals(200, post("/v1/track", track(user).put("messageId", messageId)).status());

    assertEquals(1L, rows(user));
    assertEquals(LONG.substring(0, 2048), gateway.db().query(
        "SELECT metadata->>'segment.messageId' FROM events WHERE stream_id = ?", user).get(0).get(0));
  }
}
