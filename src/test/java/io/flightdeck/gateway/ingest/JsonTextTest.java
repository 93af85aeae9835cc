package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.api.ApiError;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JsonTextTest {

  @Test
  void wellFormedUtf8PassesAndEveryMalformedFormIsRefused() {
    assertDoesNotThrow(() -> JsonText.requireUtf8("plain ascii".getBytes(StandardCharsets.UTF_8)));
    assertDoesNotThrow(() -> JsonText.requireUtf8("é € \uD83D\uDE00 \uFFFF \uDBFF\uDFFF".getBytes(StandardCharsets.UTF_8)));
    for (String hex : new String[] {"C0AF", "C180", "E080AF", "F08080AF", "EDA080", "EDBFBF", "F4908080", "F5", "FF",
        "80", "E282", "C3"}) {
      byte[] bytes = java.util.HexFormat.of().parseHex("41" + hex + "42");
      ApiError e = assertThrows(ApiError.class, () -> JsonText.requireUtf8(bytes), hex);
      assertEquals("invalid_json", e.code(), hex);
    }
  }

  @Test
  void aNulByteIsRefusedWhereverItIs() {
    for (String hex : new String[] {"00", "4100", "0041", "41004200", "C3A900", "00C3A9"}) {
      byte[] bytes = java.util.HexFormat.of().parseHex(hex);
      ApiError e = assertThrows(ApiError.class, () -> JsonText.requireUtf8(bytes), hex);
      assertEquals("invalid_json", e.code(), hex);
    }
    String json = "{\"type\":\"PageViewed\"}";
    for (java.nio.charset.Charset utf16or32 : new java.nio.charset.Charset[] {StandardCharsets.UTF_16BE,
        StandardCharsets.UTF_16LE, java.nio.charset.Charset.forName("UTF-32BE"), java.nio.charset.Charset.forName("UTF-32LE")}) {
      assertThrows(ApiError.class, () -> JsonText.requireUtf8(json.getBytes(utf16or32)), utf16or32.name());
    }
  }

  /** Random bytes: refused exactly when the JDK finds them malformed or they hold a NUL byte. */
  @Test
  void agreesWithTheJdkOnRandomBytes() {
    Random random = new Random(42);
    for (int i = 0; i < 100_000; i++) {
      byte[] bytes = new byte[random.nextInt(12)];
      random.nextBytes(bytes);
      boolean jdk = isWellFormed(bytes) && !holdsNul(bytes);
      boolean ours = true;
      try {
        JsonText.requireUtf8(bytes);
      } catch (ApiError e) {
        ours = false;
      }
      assertEquals(jdk, ours, java.util.HexFormat.of().formatHex(bytes));
    }
  }

  private static boolean holdsNul(byte[] bytes) {
    for (byte b : bytes) {
      if (b == 0) {
        return true;
      }
    }
    return false;
  }

  private static boolean isWellFormed(byte[] bytes) {
    try {
      StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes));
      return true;
    } catch (java.nio.charset.CharacterCodingException e) {
      return false;
    }
  }

  @Test
  void surrogateEscapesAreFoundWhateverTheirCase() {
    assertTrue(JsonText.maySurrogateEscape(bytes("\"\\ud800\"")));
    assertTrue(JsonText.maySurrogateEscape(bytes("\"\\uDFFF\"")));
    assertTrue(JsonText.maySurrogateEscape(bytes("\"\\uD83D\\uDE00\"")));
    assertFalse(JsonText.maySurrogateEscape(bytes("\"\\u00e9 \\ud7ff \\ue000 \\u0d80\"")));
  }

  @Test
  void onlyUnpairedSurrogatesAreRefused() throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    String[] paired = {"{\"a\":\"\\ud83d\\ude00\"}", "[\"x\\uDBFF\\uDFFF\"]", "{\"\\ud83c\\udf89\":[1,\"\"]}"};
    for (String json : paired) {
      assertDoesNotThrow(() -> JsonText.requirePairedSurrogates(bytes(json), mapper.readTree(json)), json);
    }
    String[] unpaired = {"{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\\ud83d\"}", "[[\"\\udc00x\"]]", "{\"k\\ud800\":1}",
        "{\"a\":\"\\ud83d\\u0041\"}", "{\"a\":\"x\\ud800\"}"};
    for (String json : unpaired) {
      ApiError e = assertThrows(ApiError.class,
          () -> JsonText.requirePairedSurrogates(bytes(json), mapper.readTree(json)), json);
      assertEquals("invalid_json", e.code(), json);
    }
  }

  @Test
  void unpairedSurrogateEscapesAreReplacedInPlaceAndPairsKept() throws Exception {
    String[][] cases = {
        {"{\"a\":\"\\ud83d\"}", "{\"a\":\"\\uFFFD\"}"},
        {"{\"a\":\"\\ude00\\ud83d\"}", "{\"a\":\"\\uFFFD\\uFFFD\"}"},
        {"{\"k\\uD800\":\"\\ud83d\\u0041\"}", "{\"k\\uFFFD\":\"\\uFFFD\\u0041\"}"},
        {"[\"\\ud83d\\ude00\",\"\\uDBFF\\uDFFF\"]", "[\"\\ud83d\\ude00\",\"\\uDBFF\\uDFFF\"]"},
        // an escaped backslash, then the text ud83d: no escape at all
        {"[\"\\\\ud83d\",\"\\\\\\ud83d\"]", "[\"\\\\ud83d\",\"\\\\\\uFFFD\"]"},
        {"[\"\\u00e9\\\"\\ud7ff\\ue000\"]", "[\"\\u00e9\\\"\\ud7ff\\ue000\"]"},
        // cut off or malformed: left for the parse to refuse
        {"[\"\\ud83d", "[\"\\uFFFD"}, {"[\"\\ud8", "[\"\\ud8"}, {"[\"\\uD8zz\"]", "[\"\\uD8zz\"]"}};
    ObjectMapper mapper = new ObjectMapper();
    for (String[] c : cases) {
      byte[] body = bytes(c[0]);
      JsonText.replaceUnpairedSurrogates(body);
      assertEquals(c[1], new String(body, StandardCharsets.UTF_8), c[0]);
      if (c[1].endsWith("]") && !c[1].contains("zz")) {
        assertFalse(JsonText.holdsUnpairedSurrogate(mapper.readTree(body)), c[1]);
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
