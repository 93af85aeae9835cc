package io.flightdeck.gateway.ingest;

import static io.flightdeck.gateway.ingest.IngestRequests.assertAppended;
import static io.flightdeck.gateway.ingest.IngestRequests.assertError;
import static io.flightdeck.gateway.ingest.IngestRequests.batch;
import static io.flightdeck.gateway.ingest.IngestRequests.batchOf;
import static io.flightdeck.gateway.ingest.IngestRequests.detail;
import static io.flightdeck.gateway.ingest.IngestRequests.details;
import static io.flightdeck.gateway.ingest.IngestRequests.post;
import static io.flightdeck.gateway.ingest.IngestRequests.postWith;
import static io.flightdeck.gateway.ingest.IngestRequests.rowsInStream;
import static io.flightdeck.gateway.ingest.IngestRequests.stream;
import static io.flightdeck.gateway.support.HttpTestClient.pageView;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code POST /v1/events} when it is refused: 400, 401, 413 and 415, each with the contract's error body. */
@ExtendWith(PostgresExtension.class)
class IngestErrorsIT {

  private static final int MAX_BODY_BYTES = 512 * 1024;
  /** The shipped demo site without its custom types ("*"), so that an unknown type is one this site refuses. */
  private static final String DEMO_WITHOUT_CUSTOM_TYPES = "[{\"id\":\"demo\",\"writeKey\":\"" + TestGateway.WRITE_KEY
      + "\",\"allowedOrigins\":[\"*\"],\"rateLimit\":{\"eventsPerSecond\":20000,\"burst\":40000}}]";

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_SITES", DEMO_WITHOUT_CUSTOM_TYPES));

  static HttpTestClient http() {
    return gateway.http();
  }

  // ---- 400 invalid_json

  static Stream<Arguments> invalidJson() {
    String s = stream("bad-json");
    return Stream.of(
        Arguments.of("malformed JSON", "{\"type\": \"PageViewed\", \"streamId\": "),
        Arguments.of("an object never closed", "{\"type\": \"PageViewed\""),
        Arguments.of("an empty body", ""),
        Arguments.of("nesting 33 deep", eventWithNesting(s, 33)),
        Arguments.of("a 65-digit number", eventWithNumber(s, "1".repeat(65))),
        Arguments.of("a duplicate key",
            "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"streamId\":\"other\",\"data\":{\"pageId\":\"/\"}}"),
        Arguments.of("a string of 32769 characters outside data",
            pageView(s, "/").put("metadata", new JsonObject().put("note", "x".repeat(32_769))).encode()),
        Arguments.of("a batch's stray data (no event's) with a string of 32769 characters, after the events",
            new JsonObject().put("events", new JsonArray().add(pageView(s, "/"))).put("data", "x".repeat(32_769))
                .encode()),
        Arguments.of("a batch's stray data object with a string of 32769 characters, before the events",
            new JsonObject().put("data", new JsonObject().put("note", "x".repeat(32_769)))
                .put("events", new JsonArray().add(pageView(s, "/"))).encode()),
        Arguments.of("only whitespace", "  \n\t "),
        Arguments.of("two JSON values", pageView(s, "/a").encode() + pageView(s, "/b").encode()),
        Arguments.of("text after the event", pageView(s, "/").encode() + " trailing"),
        Arguments.of("an escaped lone high surrogate in the streamId",
            "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\\ud800\",\"data\":{\"pageId\":\"/\"}}"),
        Arguments.of("an escaped lone low surrogate in data",
            "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"data\":{\"pageId\":\"/p\\uDC00\"}}"),
        Arguments.of("a low surrogate escape before its high one",
            "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"data\":{\"pageId\":\"\\ude00\\ud83d\"}}"),
        Arguments.of("an escaped lone surrogate in a field name",
            "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"data\":{\"pageId\":\"/\",\"k\\ud800\":1}}"),
        // the name limit is no data limit: a name over it after a string value in data was answered 413, "holds a
        // string of more than 32768 characters", and the same name first in data 400
        Arguments.of("a field name of 1025 characters in data, after a string value",
            pageView(s, "/").put("data", new JsonObject().put("pageId", "/").put("k".repeat(1025), "v")).encode()),
        Arguments.of("a field name of 1025 characters in data, first",
            pageView(s, "/").put("data", new JsonObject().put("k".repeat(1025), "v").put("pageId", "/")).encode()),
        // so were these, each found right after a string in an array
        Arguments.of("nesting 33 deep in data, each array after a string",
            pageView(s, "/").put("data", new JsonObject().put("pageId", "/").put("a", stringsNested(31))).encode()),
        Arguments.of("a 65-digit number in data, after a string in an array",
            "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"data\":{\"pageId\":\"/\",\"a\":[\"x\","
                + "1".repeat(65) + "]}}"));
  }

  /** {@code ["x",["x",...["x",1]...]]}, {@code depth} arrays deep, each opened right after a string. */
  private static JsonArray stringsNested(int depth) {
    JsonArray array = new JsonArray().add("x").add(1);
    for (int i = 1; i < depth; i++) {
      array = new JsonArray().add("x").add(array);
    }
    return array;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidJson")
  @DisplayName("a body that is not acceptable JSON is refused with 400 invalid_json, its message free of the parser's "
      + "internals (Jackson's class and feature names, its '[Source: REDACTED ...]')")
  void invalidJsonIsRefused(String what, String body) {
    HttpTestClient.Response r = http().send(post(http(), body));

    String message = assertError(r, 400, "invalid_json").getString("message");
    assertFalse(message.contains("Source:") || message.contains("StreamRead") || message.contains("`")
        || message.contains("REDACTED"), message);
  }

  @Test
  @DisplayName("a string over the string limit inside an event's data is data over its size limit: 413, nothing stored")
  void longStringInDataIsPayloadTooLarge() {
    String s = stream("long-string-data");
    JsonObject big = pageView(s, "/").put("data", new JsonObject().put("pageId", "/").put("note", "x".repeat(32_769)));

    JsonObject single = assertError(http().send(post(http(), big.encode())), 413, "payload_too_large");
    JsonObject batch = assertError(http().send(post(http(), new JsonObject().put("events",
        new io.vertx.core.json.JsonArray().add(pageView(s, "/ok")).add(big)).encode())), 413, "payload_too_large");

    assertEquals(new JsonObject().put("index", 0).put("field", "data"),
        withoutProblem(single.getJsonArray("details").getJsonObject(0)));
    assertEquals(new JsonObject().put("index", 1).put("field", "data"),
        withoutProblem(batch.getJsonArray("details").getJsonObject(0)));
    assertEquals(0L, rowsInStream(gateway.db(), s));
  }

  private static JsonObject withoutProblem(JsonObject detail) {
    JsonObject copy = detail.copy();
    copy.remove("problem");
    return copy;
  }

  @Test
  @DisplayName("an event with more than 10 problems lists 10 and sums up the rest in one more entry; the message "
      + "counts them all; a 500 KB batch of such events gets an answer smaller than itself; nothing stored")
  void problemsListedPerEventAreLimited() {
    String s = stream("many-problems");
    JsonObject noisy = pageView(s, "/");
    for (int i = 0; i < 300; i++) {
      noisy.put("u" + i, 0);
    }
    JsonObject twoWrong = pageView(s, "/").put("schemaVersion", 0).put("colour", "blue");
    JsonArray batch = new JsonArray().add(noisy).add(twoWrong);

    JsonObject error = assertError(http().send(post(http(), new JsonObject().put("events", batch).encode())), 400,
        "invalid_event");

    assertEquals("302 problems; nothing was stored", error.getString("message"));
    JsonArray details = error.getJsonArray("details");
    assertEquals(13, details.size(), details.encodePrettily());
    for (int i = 0; i < 10; i++) {
      assertEquals(new JsonObject().put("index", 0).put("field", "u" + i).put("problem", "unknown field"),
          details.getJsonObject(i));
    }
    assertEquals(new JsonObject().put("index", 0).put("field", "")
        .put("problem", "and 290 more problems not listed (at most 10 are)"), details.getJsonObject(10));
    assertEquals(1, details.getJsonObject(11).getInteger("index"));
    assertEquals(1, details.getJsonObject(12).getInteger("index"));

    // as many such events as fit in the body limit: before, a 3.7 MB answer to this 500 KB request
    JsonArray hostile = new JsonArray();
    for (int i = 0; hostile.encode().length() < 480_000; i++) {
      hostile.add(noisy.copy().put("streamId", s + "-" + i));
    }
    String body = new JsonObject().put("events", hostile).encode();
    HttpTestClient.Response r = http().send(post(http(), body));
    assertError(r, 400, "invalid_event");
    assertTrue(r.body().length() < body.length(), r.body().length() + " bytes answered " + body.length());
    assertEquals(0L, rowsInStream(gateway.db(), s));
  }

  @Test
  @DisplayName("a body exactly at the JSON limits (nesting 32 deep, a 64-digit number, a 1024-byte name) is accepted")
  void jsonAtTheLimitsIsAccepted() {
    String s = stream("json-limits");

    assertAppended(http().send(post(http(), eventWithNesting(s, 32))), 1);
    assertAppended(http().send(post(http(), eventWithNumber(s, "1".repeat(64)))), 1);
    assertAppended(http().send(post(http(),
        pageView(s, "/").put("data", new JsonObject().put("pageId", "/").put("k".repeat(1024), "v")).encode())), 1);
    assertEquals(3L, rowsInStream(gateway.db(), s));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"1e400, 1e400", "-1E+999, -1e999", "1e-400, 1e-400", "-1e-999, -1e-999", "1.50, 1.50", "0e5, 0",
      "0.1000000000000000000001, 0.1000000000000000000001",
      "123456789012345678901234567890.5, 123456789012345678901234567890.5"})
  @DisplayName("a number in data is stored and read back as the number written, never as Infinity, 0 or a rounded double")
  void numbersInDataAreStoredAsWritten(String written, String stored) throws Exception {
    String s = stream("number-as-written");

    assertAppended(http().send(post(http(), eventWithNumber(s, written))), 1);

    List<Object> row = gateway.db().query("SELECT jsonb_typeof(data->'n'), (data->>'n')::numeric = ?::numeric,"
        + " (data->>'n')::numeric::text = ?::numeric::text FROM events WHERE stream_id = ?", stored, stored, s).get(0);
    assertEquals(List.of("number", true, true), row, "stored as " + gateway.db().query(
        "SELECT left(data->>'n', 80) FROM events WHERE stream_id = ?", s));
    HttpTestClient.Response read = http().send(http().request("/v1/streams/" + s + "/events")
        .header("Authorization", "Bearer " + TestGateway.READ_TOKEN).GET());
    assertEquals(200, read.status(), "read back: " + read.body().substring(0, Math.min(300, read.body().length())));
    JsonNode n = EXACT.readTree(read.body()).path("events").path(0).path("data").path("n");
    assertTrue(n.isBigDecimal() || n.isBigInteger() || n.isIntegralNumber(), "read back as " + n);
    assertEquals(0, n.decimalValue().compareTo(new BigDecimal(stored)), "read back as " + n);
    if (written.equals("1.50")) {
      assertTrue(read.body().contains("\"n\":1.50"), "the trailing zero is kept: " + read.body());
    }
  }

  /** Reads numbers as written, to see what the gateway answered rather than a double's rounding of it. */
  private static final ObjectMapper EXACT = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1e-9999999999", "1e2147483648", "1e99999999999", "1e-2147483648"})
  @DisplayName("a number whose exponent no decimal can hold is refused with 400 invalid_json, before the write key is "
      + "looked at, wherever it is in the body; nothing stored")
  void numberOutOfRangeIsInvalidJson(String written) {
    String s = stream("number-out-of-range");
    String outsideData = "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"data\":{\"pageId\":\"/\"},\"x\":"
        + written + "}";

    JsonObject error = assertError(http().send(post(http(), outsideData)), 400, "invalid_json");
    assertError(http().send(post(http(), eventWithNumber(s, written))), 400, "invalid_json");
    assertError(http().send(post(http(), "{\"events\":[" + eventWithNumber(s, written) + "]}")), 400, "invalid_json");
    assertError(http().send(postWith(http(), "/v1/events", outsideData, "Content-Type", "application/json")), 400,
        "invalid_json");
    assertTrue(error.getString("message").contains("number out of range"), error.encode());
    assertEquals(0L, rowsInStream(gateway.db(), s));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1e1000", "1e999999999", "-1e-1000", "1E-999999999", "0.0e-1000", "0e999999999",
      "1e2147483647", "-12E+2147483647", "1e-2147483647"})
  @DisplayName("a number in data of more than 1000 digits written out is refused with 400 naming it; nothing stored")
  void numbersTooLongWrittenOutAreRefused(String written) {
    String s = stream("number-too-long");

    HttpTestClient.Response r = http().send(post(http(), eventWithNumber(s, written)));

    assertError(r, 400, "invalid_event");
    assertTrue(detail(r, 0, "data.n").getString("problem").contains("1000 digits"), r.body());
    assertEquals(0L, rowsInStream(gateway.db(), s));
  }

  @Test
  @DisplayName("a number at the edge of a decimal's range outside data (schemaVersion, metadata, an unknown field) is "
      + "refused with 400 invalid_event naming each field; nothing stored")
  void edgeOfRangeNumbersOutsideDataAreRefused() {
    String s = stream("number-edge");
    String body = "{\"type\":\"PageViewed\",\"streamId\":\"" + s + "\",\"data\":{\"pageId\":\"/\"},"
        + "\"schemaVersion\":1e2147483647,\"metadata\":{\"m\":-1e-2147483647},\"x\":12e2147483647}";

    HttpTestClient.Response r = http().send(post(http(), body));

    assertError(r, 400, "invalid_event");
    assertEquals("must be a positive integer", detail(r, 0, "schemaVersion").getString("problem"));
    assertEquals("must be a string", detail(r, 0, "metadata.m").getString("problem"));
    assertEquals("unknown field", detail(r, 0, "x").getString("problem"));
    assertEquals(0L, rowsInStream(gateway.db(), s));
  }

  /** A PageViewed event whose body nests {@code depth} levels deep: event, data, then arrays. */
  private static String eventWithNesting(String streamId, int depth) {
    int arrays = depth - 2;
    String nest = "[".repeat(arrays) + "]".repeat(arrays);
    return "{\"type\":\"PageViewed\",\"streamId\":\"" + streamId + "\",\"data\":{\"pageId\":\"/deep\",\"nest\":" + nest
        + "}}";
  }

  private static String eventWithNumber(String streamId, String digits) {
    return "{\"type\":\"PageViewed\",\"streamId\":\"" + streamId + "\",\"data\":{\"pageId\":\"/n\",\"n\":" + digits
        + "}}";
  }

  // ---- 400 invalid_event

  static Stream<Arguments> invalidEvents() {
    return Stream.of(
        invalid("an unknown type", e -> e.put("type", "PageTeleported"), "type", "unknown type 'PageTeleported'"),
        invalid("a missing type", e -> remove(e, "type"), "type", "required"),
        invalid("a missing streamId", e -> remove(e, "streamId"), "streamId", "required"),
        invalid("a missing data.pageId", e -> e.put("data", new JsonObject()), "data.pageId", "required"),
        invalid("missing data", e -> remove(e, "data"), "data", "required"),
        invalid("a streamId that is a number", e -> e.put("streamId", 42), "streamId", "must be a string"),
        invalid("an empty streamId", e -> e.put("streamId", ""), "streamId", "must be 1 to 200 characters"),
        invalid("a streamId of 201 characters", e -> e.put("streamId", "s".repeat(201)), "streamId",
            "must be 1 to 200 characters"),
        invalid("a pageId that is a number", e -> e.put("data", new JsonObject().put("pageId", 7)), "data.pageId",
            null),
        invalid("data that is not an object", e -> e.put("data", "/home"), "data", "must be an object"),
        invalid("formData with a non-string value", e -> e.put("type", "FormSubmitted").put("data",
            new JsonObject().put("formId", "signup").put("formData", new JsonObject().put("age", 42))),
            "data.formData.age", null),
        invalid("an unknown top-level field", e -> e.put("colour", "blue"), "colour", "unknown field"),
        invalid("an id that is not a UUID", e -> e.put("id", "not-a-uuid"), "id", "must be a UUID"),
        invalid("the nil UUID as id", e -> e.put("id", "00000000-0000-0000-0000-000000000000"), "id", null),
        invalid("the max UUID as id", e -> e.put("id", "FFFFFFFF-ffff-ffff-ffff-ffffffffffff"), "id", null),
        invalid("an occurredAt that is not a timestamp", e -> e.put("occurredAt", "yesterday"), "occurredAt", null),
        invalid("an occurredAt without a time zone", e -> e.put("occurredAt", "2026-11-22T10:15:30"), "occurredAt",
            null),
        invalid("a metadata value that is not a string", e -> e.put("metadata", new JsonObject().put("visits", 3)),
            "metadata.visits", "must be a string"),
        invalid("metadata that is not an object", e -> e.put("metadata", "spring"), "metadata", null),
        invalid("a NUL character inside data", e -> e.put("data", new JsonObject().put("pageId", "/a\u0000b")),
            "data.pageId", "must not contain the NUL character"),
        invalid("a schemaVersion the type does not have", e -> e.put("schemaVersion", 3), "schemaVersion",
            "no version 3 of PageViewed"),
        invalid("a streamId of '..'", e -> e.put("streamId", ".."), "streamId",
            "must not be '.' or '..' (no URL can name that stream)"),
        invalid("a streamId of '.'", e -> e.put("streamId", "."), "streamId",
            "must not be '.' or '..' (no URL can name that stream)"),
        invalid("an occurredAt within year 9999 but after its last whole second",
            e -> e.put("occurredAt", "9999-12-31T23:59:59.5Z"), "occurredAt",
            "must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"),
        invalid("an occurredAt of 1969 in UTC though 1970 where it was written",
            e -> e.put("occurredAt", "1970-01-01T00:30:00+01:00"), "occurredAt",
            "must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"),
        invalid("an occurredAt with a point and no fraction digit", e -> e.put("occurredAt", "2026-11-22T10:15:30.Z"),
            "occurredAt", null),
        invalid("an occurredAt with an offset and a point and no fraction digit",
            e -> e.put("occurredAt", "2026-11-22T10:15:30.+01:00"), "occurredAt", null));
  }

  private static Arguments invalid(String what, UnaryOperator<JsonObject> change, String field, String problem) {
    return Arguments.of(what, change, field, problem);
  }

  private static JsonObject remove(JsonObject event, String field) {
    event.remove(field);
    return event;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidEvents")
  @DisplayName("an invalid event is refused with 400 invalid_event naming the field and the problem, and is not stored")
  void invalidEventIsRefused(String what, UnaryOperator<JsonObject> change, String field, String problem) {
    String streamId = stream("invalid");
    JsonObject event = change.apply(pageView(streamId, "/home"));

    HttpTestClient.Response r = http().send(post(http(), event.encode()));

    assertError(r, 400, "invalid_event");
    JsonObject detail = detail(r, 0, field);
    if (problem != null) {
      assertEquals(problem, detail.getString("problem"), r.body());
    } else {
      assertFalse(detail.getString("problem").isBlank(), r.body());
    }
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "an overlong '/' (C0 AF) | C0AF",
      "an overlong NUL (C0 80) | C080",
      "a three-byte overlong (E0 80 AF) | E080AF",
      "an encoded surrogate (ED A0 80) | EDA080",
      "a code point over U+10FFFF (F4 90 80 80) | F4908080",
      "a stray continuation byte (80) | 80",
      "a sequence cut short (E2 82) | E282"})
  @DisplayName("a body that is not well-formed UTF-8 is refused with 400 invalid_json, and nothing is stored")
  void malformedUtf8IsRefused(String what, String hex) {
    String streamId = stream("utf8");
    byte[] head = ("{\"type\":\"PageViewed\",\"streamId\":\"" + streamId + "\",\"data\":{\"pageId\":\"/a")
        .getBytes(StandardCharsets.UTF_8);
    byte[] tail = "b\"}}".getBytes(StandardCharsets.UTF_8);
    byte[] bad = java.util.HexFormat.of().parseHex(hex);
    byte[] body = new byte[head.length + bad.length + tail.length];
    System.arraycopy(head, 0, body, 0, head.length);
    System.arraycopy(bad, 0, body, head.length, bad.length);
    System.arraycopy(tail, 0, body, head.length + bad.length, tail.length);

    HttpTestClient.Response r = http().send(post(http(), body));

    assertError(r, 400, "invalid_json");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"UTF-16BE", "UTF-16LE", "UTF-16", "UTF-32BE", "UTF-32LE"})
  @DisplayName("a valid event sent as UTF-16 or UTF-32 (even all ASCII, which Jackson would detect) is refused with "
      + "400 invalid_json, and nothing is stored")
  void utf16And32AreRefused(String charset) {
    String streamId = stream("utf16");

    HttpTestClient.Response r = http().send(post(http(), pageView(streamId, "/home").encode()
        .getBytes(java.nio.charset.Charset.forName(charset))));

    assertError(r, 400, "invalid_json");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @ParameterizedTest(name = "Content-Encoding: {0}")
  @ValueSource(strings = {"br", "deflate", "compress", "zstd", "gzip, gzip", "identity, br"})
  @DisplayName("a content coding other than gzip is refused with 415 and Accept-Encoding: gzip, and nothing is stored")
  void unsupportedContentCodingIsRefused(String coding) {
    String streamId = stream("coding");

    HttpTestClient.Response r = http().send(post(http(), pageView(streamId, "/home").encode())
        .header("Content-Encoding", coding));

    assertError(r, 415, "unsupported_media_type");
    assertEquals("gzip", r.header("Accept-Encoding"), r.headers().toString());
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a body labelled gzip that is not gzip is refused with 400 invalid_json, and nothing is stored")
  void corruptGzipIsRefused() {
    String streamId = stream("bad-gzip");
    byte[] gzipped = HttpTestClient.gzip(pageView(streamId, "/home").encode());
    byte[] truncated = java.util.Arrays.copyOf(gzipped, gzipped.length - 12);

    assertError(http().send(post(http(), pageView(streamId, "/home").encode()).header("Content-Encoding", "gzip")),
        400, "invalid_json");
    assertError(http().send(post(http(), truncated).header("Content-Encoding", "gzip")), 400, "invalid_json");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "text after the member | 67617262616765212121",
      "one stray byte | 1f",
      "the start of a gzip header | 1f8b08",
      "a zero byte of padding | 00",
      "a second member cut short | 1f8b0800000000000003"})
  @DisplayName("a gzip body with anything but whole gzip members in it (bytes after the last one) is refused with 400 "
      + "invalid_json, never decoded as if they were not there; nothing is stored")
  void bytesAfterGzipMemberAreRefused(String what, String hex) {
    String streamId = stream("gzip-trailing");
    byte[] gzipped = HttpTestClient.gzip(pageView(streamId, "/home").encode());
    byte[] after = java.util.HexFormat.of().parseHex(hex);
    byte[] body = java.util.Arrays.copyOf(gzipped, gzipped.length + after.length);
    System.arraycopy(after, 0, body, gzipped.length, after.length);

    HttpTestClient.Response r = http().send(post(http(), body).header("Content-Encoding", "gzip"));

    assertError(r, 400, "invalid_json");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a gzip body whose CRC-32 or length does not match its data is refused with 400 invalid_json")
  void gzipTrailerMismatchIsRefused() {
    String streamId = stream("gzip-crc");
    byte[] gzipped = HttpTestClient.gzip(pageView(streamId, "/home").encode());
    byte[] badCrc = gzipped.clone();
    badCrc[gzipped.length - 8] ^= 1;
    byte[] badLength = gzipped.clone();
    badLength[gzipped.length - 4] ^= 1;

    assertError(http().send(post(http(), badCrc).header("Content-Encoding", "gzip")), 400, "invalid_json");
    assertError(http().send(post(http(), badLength).header("Content-Encoding", "gzip")), 400, "invalid_json");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a gzip body over the body limit once decoded (a few KB inflating to megabytes) is refused with 413")
  void gzipBombIsRefused() {
    String streamId = stream("bomb");
    String padding = " ".repeat(4 * 1024 * 1024);
    byte[] bomb = HttpTestClient.gzip(pageView(streamId, "/home").encode() + padding);
    assertTrue(bomb.length < 64 * 1024, "the compressed body is well under the limit: " + bomb.length);

    HttpTestClient.Response r = http().send(post(http(), bomb).header("Content-Encoding", "gzip"));

    assertError(r, 413, "payload_too_large");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("escaped surrogate pairs and characters outside the BMP are stored as sent")
  void surrogatePairsAreStoredAsSent() {
    String streamId = stream("emoji") + "-\uD83D\uDE00";
    String body = "{\"type\":\"PageViewed\",\"streamId\":\"" + stream("emoji-escaped") + "\","
        + "\"data\":{\"pageId\":\"/\\ud83d\\ude00/\uD83C\uDF89\"}}";

    JsonArray escaped = assertAppended(http().send(post(http(), body)), 1);
    JsonArray raw = assertAppended(http().postEvents(pageView(streamId, "/\uD83D\uDE00")), 1);

    assertEquals("/\uD83D\uDE00/\uD83C\uDF89",
        IngestRequests.storedData(gateway.db(), escaped.getJsonObject(0).getString("id")).getString("pageId"));
    assertEquals(1L, rowsInStream(gateway.db(), streamId));
    assertEquals("/\uD83D\uDE00",
        IngestRequests.storedData(gateway.db(), raw.getJsonObject(0).getString("id")).getString("pageId"));
  }

  @ParameterizedTest(name = "a batch of {0}")
  @ValueSource(ints = {1, 2})
  @DisplayName("a writeKey on an event inside a batch is refused (it belongs on the batch), and nothing is stored")
  void writeKeyOnBatchedEventIsRefused(int size) {
    String streamId = stream("batched-key");
    JsonObject[] events = new JsonObject[size];
    for (int i = 0; i < size; i++) {
      events[i] = pageView(streamId, "/" + i);
    }
    events[size - 1].put("writeKey", "nope");

    HttpTestClient.Response r = http().send(post(http(), batch(events).encode()));

    assertError(r, 400, "invalid_event");
    assertEquals("belongs on the batch, not on each event", detail(r, size - 1, "writeKey").getString("problem"));
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a streamId of exactly 200 characters is accepted")
  void streamIdOf200IsAccepted() {
    String streamId = stream("long") + "-";
    streamId = streamId + "x".repeat(200 - streamId.length());

    assertAppended(http().postEvents(pageView(streamId, "/")), 1);
    assertEquals(1L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a batch with one invalid event is refused naming that event's index, and none of its events is stored")
  void batchWithOneInvalidEventStoresNothing() {
    String streamId = stream("batch");
    JsonObject[] events = new JsonObject[6];
    for (int i = 0; i < events.length; i++) {
      events[i] = pageView(streamId, "/" + i);
    }
    events[3].put("data", new JsonObject());

    HttpTestClient.Response r = http().postEvents(batch(events));

    assertError(r, 400, "invalid_event");
    assertEquals(new JsonArray().add(new JsonObject().put("index", 3).put("field", "data.pageId")
        .put("problem", "required")), details(r));
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
    assertEquals(0L,
        gateway.db().queryLong("SELECT count(*) FROM events WHERE id = ?::uuid", events[0].getString("id")));
  }

  @Test
  @DisplayName("a batch with several invalid events lists each problem with its event's index")
  void batchListsEveryProblem() {
    String streamId = stream("batch");
    JsonObject ok = pageView(streamId, "/ok");
    JsonObject badType = pageView(streamId, "/x").put("type", "Nope");
    JsonObject alsoOk = pageView(streamId, "/ok-too");
    JsonObject badId = pageView(streamId, "/y").put("id", "123");

    HttpTestClient.Response r = http().postEvents(batch(ok, badType, alsoOk, badId));

    assertError(r, 400, "invalid_event");
    detail(r, 1, "type");
    detail(r, 3, "id");
    assertEquals(2, details(r).size(), r.body());
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  // ---- 401

  @Test
  @DisplayName("an event without a write key anywhere is refused with 401 missing_write_key")
  void missingWriteKey() {
    String streamId = stream("no-key");

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events", pageView(streamId, "/").encode(),
        "Content-Type", "application/json"));

    assertError(r, 401, "missing_write_key");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("an event whose write key header, query parameter and body field are all empty is refused with 401 "
      + "missing_write_key")
  void allWriteKeySourcesEmpty() {
    String streamId = stream("empty-keys");
    String event = pageView(streamId, "/").put("writeKey", "").encode();

    assertError(http().send(postWith(http(), "/v1/events?writeKey=", event, "Content-Type", "application/json",
        "X-Write-Key", "")), 401, "missing_write_key");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("an event with a write key no site has is refused with 401 unknown_write_key, wherever the key is")
  void unknownWriteKey() {
    String streamId = stream("bad-key");
    String event = pageView(streamId, "/").encode();

    assertError(http().send(postWith(http(), "/v1/events", event, "Content-Type", "application/json",
        "X-Write-Key", "not-a-known-key")), 401, "unknown_write_key");
    assertError(http().send(postWith(http(), "/v1/events?writeKey=not-a-known-key", event,
        "Content-Type", "application/json")), 401, "unknown_write_key");
    assertError(http().send(postWith(http(), "/v1/events",
        new JsonObject(event).put("writeKey", "not-a-known-key").encode(), "Content-Type", "text/plain")),
        401, "unknown_write_key");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  // ---- 413

  @Test
  @DisplayName("a body over 512 KiB sent with Content-Length is refused with 413 payload_too_large")
  void bodyOverLimitWithContentLength() {
    String streamId = stream("big");
    byte[] body = bigBatch(streamId);

    HttpTestClient.Response r = http().send(post(http(), body));

    assertError(r, 413, "payload_too_large");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a body over 512 KiB sent chunked, without a Content-Length, is refused with 413 payload_too_large")
  void bodyOverLimitChunked() {
    String streamId = stream("big-chunked");
    byte[] body = bigBatch(streamId);

    // a publisher of unknown length makes the JDK client use chunked transfer encoding
    HttpTestClient.Response r = http().send(http().request("/v1/events")
        .header("Content-Type", "application/json")
        .header("X-Write-Key", TestGateway.WRITE_KEY)
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))));

    assertError(r, 413, "payload_too_large");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  /** A valid batch of fewer than 500 events, each with small data, that adds up to more than 512 KiB. */
  private static byte[] bigBatch(String streamId) {
    JsonArray events = new JsonArray();
    String filler = "y".repeat(2000);
    for (int i = 0; i < 300; i++) {
      events.add(pageView(streamId, "/" + i).put("data", new JsonObject().put("pageId", "/" + i).put("note", filler)));
    }
    byte[] body = new JsonObject().put("events", events).encode().getBytes(StandardCharsets.UTF_8);
    assertTrue(body.length > MAX_BODY_BYTES, "the body is over the limit: " + body.length);
    return body;
  }

  @Test
  @DisplayName("a batch of 501 events is refused with 413 payload_too_large and nothing of it is stored")
  void batchOf501() {
    String streamId = stream("501");

    HttpTestClient.Response r = http().postEvents(batchOf(streamId, 501));

    assertError(r, 413, "payload_too_large");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a batch of exactly 500 events is accepted and stored whole")
  void batchOf500() {
    String streamId = stream("500");

    assertAppended(http().postEvents(batchOf(streamId, 500)), 500);
    assertEquals(500L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("an event whose data is over 32 KiB is refused with 413 payload_too_large and not stored")
  void dataOverLimit() {
    String streamId = stream("big-data");
    // three strings, each under the 32768-character string limit, add up to more than 32 KiB of data
    JsonObject data = new JsonObject().put("pageId", "/big")
        .put("a", "a".repeat(12_000)).put("b", "b".repeat(12_000)).put("c", "c".repeat(12_000));
    JsonObject small = pageView(streamId, "/small");

    HttpTestClient.Response r = http().postEvents(batch(small, pageView(streamId, "/big").put("data", data)));

    assertError(r, 413, "payload_too_large");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  // ---- 415

  @Test
  @DisplayName("a form-encoded body is refused with 415 unsupported_media_type")
  void formEncodedIsRefused() {
    String streamId = stream("form");

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events", pageView(streamId, "/").encode(),
        "Content-Type", "application/x-www-form-urlencoded", "X-Write-Key", TestGateway.WRITE_KEY));

    assertError(r, 415, "unsupported_media_type");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a body without a Content-Type is refused with 415 unsupported_media_type")
  void missingContentTypeIsRefused() {
    String streamId = stream("no-type");

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events", pageView(streamId, "/").encode(),
        "X-Write-Key", TestGateway.WRITE_KEY));

    assertError(r, 415, "unsupported_media_type");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"x-no-such-charset", "\"\"", "utf-8; charset=latin1", "***", "Shift_JIS", "UTF-7"})
  @DisplayName("a text/plain body in a charset the gateway does not decode (or two different charsets) is refused "
      + "with 415 unsupported_media_type, and nothing is stored")
  void unknownCharsetIsRefused(String charset) {
    String streamId = stream("charset");

    HttpTestClient.Response r = http().send(postWith(http(), "/v1/events", pageView(streamId, "/").encode(),
        "Content-Type", "text/plain; charset=" + charset, "X-Write-Key", TestGateway.WRITE_KEY));

    assertError(r, 415, "unsupported_media_type");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a text/plain body that is not well-formed in the charset it names is refused with 400 invalid_json")
  void bodyMalformedInItsCharsetIsRefused() {
    String streamId = stream("charset-malformed");
    byte[] utf16 = pageView(streamId, "/").encode().getBytes(StandardCharsets.UTF_16BE);
    byte[] cut = java.util.Arrays.copyOf(utf16, utf16.length + 1);

    HttpTestClient.Response r = http().send(post(http(), cut).setHeader("Content-Type", "text/plain;charset=utf-16be"));

    assertError(r, 400, "invalid_json");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }

  @Test
  @DisplayName("a text/plain body in another charset that is over the body limit once in UTF-8 is refused with 413, "
      + "as a gzip body is once decoded")
  void bodyOverTheLimitOnceUtf8IsRefused() {
    String streamId = stream("charset-large");
    // some 300,000 bytes in ISO-8859-1, 600,000 once in UTF-8: each \u00e9 is one byte there, two here
    JsonObject[] events = new JsonObject[150];
    for (int i = 0; i < events.length; i++) {
      events[i] = pageView(streamId, "/").put("metadata", new JsonObject().put("a", "\u00e9".repeat(2000)));
    }
    byte[] bytes = batch(events).encode().getBytes(StandardCharsets.ISO_8859_1);
    assertTrue(bytes.length < MAX_BODY_BYTES, "the body as sent is under the limit: " + bytes.length);

    HttpTestClient.Response r = http().send(post(http(), bytes)
        .setHeader("Content-Type", "text/plain; charset=ISO-8859-1"));

    assertError(r, 413, "payload_too_large");
    assertEquals(0L, rowsInStream(gateway.db(), streamId));
  }
}
