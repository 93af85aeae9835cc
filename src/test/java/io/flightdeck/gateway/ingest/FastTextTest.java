package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast paths answer exactly what the general parsers answer, wherever they answer at all: checked on named
 * edge cases and on many seeded random texts near the accepted shapes.
 */
class FastTextTest {

  /** What EventValidator checked ids with before the fast path: the reference for {@link FastText#isUuid}. */
  private static final Pattern UUID_TEXT =
      Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private static final String TIMESTAMP_CHARS = "0123456789-:.TZtz+ 1234567890";
  private static final String UUID_CHARS = "0123456789abcdefABCDEF-gG \u0660\uff21";

  @ParameterizedTest
  @ValueSource(strings = {
      "2026-11-22T10:15:30.120Z", "2026-11-22T10:15:30Z", "2026-11-22T10:15:30.1Z", "2026-11-22T10:15:30.123456789Z",
      "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00Z", "2000-02-29T00:00:00.5Z",
      "0000-01-01T00:00:00Z"})
  @DisplayName("browser-style UTC timestamps: the same instant as OffsetDateTime.parse")
  void utcTimestamps(String text) {
    Instant fast = FastText.utcTimestamp(text);
    assertNotNull(fast, text);
    assertEquals(OffsetDateTime.parse(text).toInstant(), fast, text);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      // valid RFC 3339, but not this shape: the general parser takes them
      "2026-11-22T10:15:30+02:00", "2026-11-22t10:15:30z", "2026-11-22T10:15Z", "2026-11-22T10:15:30.1234567890Z",
      // invalid: the general parser says why
      "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
      "2026-04-31T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T23:60:00Z", "2026-11-22T23:59:60Z",
      "2026-11-22T10:15:30.Z", "2026-11-22T10:15:30,120Z", "2026-11-22 10:15:30Z", "+2026-11-22T10:15:30Z",
      "2026-1-22T10:15:30.000Z", "２０２６-11-22T10:15:30Z", "2026-11-22T10:15:30.12a4Z", "", "Z"})
  @DisplayName("other texts are left to the general parser")
  void leftToTheGeneralParser(String text) {
    assertNull(FastText.utcTimestamp(text), text);
  }

  @Test
  @DisplayName("random texts: in the shape, the same answer as the general parser; near it, never a different one")
  void timestampsAgreeWithTheGeneralParser() {
    Random random = new Random(20261204L);
    int answered = 0;
    for (int i = 0; i < 200_000; i++) {
      String shaped = randomTimestamp(random);
      // fields out of range included: where the general parser takes the text, so must the fast path
      assertEquals(general(shaped), FastText.utcTimestamp(shaped), shaped);
      String near = mutate(shaped, TIMESTAMP_CHARS, random);
      Instant fast = FastText.utcTimestamp(near);
      if (fast != null) {
        answered++;
        assertEquals(general(near), fast, near);
      }
    }
    assertTrue(answered > 1_000, "the mutations reached the fast path's answers only " + answered + " times");
  }

  private static Instant general(String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  @Test
  @DisplayName("UUIDs: exactly the canonical 8-4-4-4-12 hexadecimal texts")
  void uuids() {
    assertTrue(FastText.isUuid("0195f3a4-7c1e-7d3b-9a40-1c2b3d4e5f60"));
    assertTrue(FastText.isUuid("0195F3A4-7C1E-7D3B-9A40-1C2B3D4E5F60"));
    assertFalse(FastText.isUuid("1-1-1-1-1"), "UUID.fromString takes it, the contract does not");
    assertFalse(FastText.isUuid("0195f3a4-7c1e-7d3b-9a40-1c2b3d4e5f6"));
    assertFalse(FastText.isUuid("0195f3a47c1e-7d3b-9a40-1c2b3d4e5f60-"));
    assertFalse(FastText.isUuid("0195f3a4-7c1e-7d3b-9a40-1c2b3d4e5fg0"));
    assertFalse(FastText.isUuid("0195f3a4-7c1e-7d3b-9a40-1c2b3d4e5f\u0660\u0660"));
    assertFalse(FastText.isUuid("\uff21195f3a4-7c1e-7d3b-9a40-1c2b3d4e5f60"));
    assertFalse(FastText.isUuid(""));
    Random random = new Random(4L);
    for (int i = 0; i < 200_000; i++) {
      String text = mutate(UUID.randomUUID().toString(), UUID_CHARS, random);
      assertEquals(UUID_TEXT.matcher(text).matches(), FastText.isUuid(text), text);
    }
  }

  /** A timestamp in the fast path's shape, with fields that are sometimes out of range. */
  private static String randomTimestamp(Random r) {
    String fraction = switch (r.nextInt(4)) {
      case 0 -> "";
      default -> "." + digits(r, 1 + r.nextInt(10));
    };
    return String.format("%04d-%02d-%02dT%02d:%02d:%02d%sZ", r.nextInt(10_000), r.nextInt(14), r.nextInt(33),
        r.nextInt(26), r.nextInt(62), r.nextInt(62), fraction);
  }

  private static String digits(Random r, int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append((char) ('0' + r.nextInt(10)));
    }
    return b.toString();
  }

  /** One to three edits: a character replaced, inserted or deleted, drawn from {@code alphabet}. */
  private static String mutate(String text, String alphabet, Random r) {
    StringBuilder b = new StringBuilder(text);
    for (int edits = 1 + r.nextInt(3); edits > 0; edits--) {
      int at = b.length() == 0 ? 0 : r.nextInt(b.length());
      char c = alphabet.charAt(r.nextInt(alphabet.length()));
      switch (r.nextInt(3)) {
        case 0 -> {
          if (b.length() > 0) {
            b.setCharAt(at, c);
          }
        }
        case 1 -> b.insert(at, c);
        default -> {
          if (b.length() > 0) {
            b.deleteCharAt(at);
          }
        }
      }
    }
    return b.toString();
  }
}
