package io.flightdeck.gateway.ingest;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * Fast paths for timestamps and ids in the shapes nearly all clients send (an event's {@code occurredAt} and
 * {@code id}, a Segment message's {@code timestamp}, {@code sentAt} and {@code messageId}). Each answers only what
 * the general check would answer the same way, and leaves everything else to it. {@code java.time}'s
 * {@code OffsetDateTime.parse} alone took 6 % of the gateway's CPU under single-event load (JFR).
 */
public final class FastText {

  private static final int[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
      1_000_000_000};

  private FastText() {
  }

  /**
   * The instant of a UTC timestamp as browsers write it ({@code Date.toISOString()}:
   * {@code 2026-11-22T10:15:30.120Z}), with 0 to 9 fraction digits; null for any other text, valid or not, which
   * the caller then gives to {@code OffsetDateTime.parse}. Where this answers, that parser answers the same instant.
   */
  public static Instant utcTimestamp(String s) {
    int n = s.length();
    if (n < 20 || n > 30 || s.charAt(n - 1) != 'Z' || s.charAt(4) != '-' || s.charAt(7) != '-'
        || s.charAt(10) != 'T' || s.charAt(13) != ':' || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 7);
    int day = digits(s, 8, 10);
    int hour = digits(s, 11, 13);
    int minute = digits(s, 14, 16);
    int second = digits(s, 17, 19);
    if ((year | month | day | hour | minute | second) < 0) {
      return null;
    }
    int nanos = 0;
    if (n > 20) {
      int fraction = n - 21;
      if (s.charAt(19) != '.' || fraction < 1) {
        return null;
      }
      int value = digits(s, 20, n - 1);
      if (value < 0) {
        return null;
      }
      nanos = value * POW10[9 - fraction];
    }
    try {
      return LocalDateTime.of(year, month, day, hour, minute, second, nanos).toInstant(ZoneOffset.UTC);
    } catch (DateTimeException e) {
      // 2026-02-30, hour 24, second 60, ...: the general parser says what is wrong
      return null;
    }
  }

  /**
   * Refuses a time with a point and no digit after it ({@code 10:15:30.Z}), which the JDK's ISO parser takes and
   * RFC 3339 does not: for every time parsed with {@code java.time} where {@link #utcTimestamp} did not read it.
   */
  public static void requireFractionDigit(String timestamp) {
    int dot = timestamp.indexOf('.');
    if (dot >= 0 && (dot + 1 == timestamp.length() || timestamp.charAt(dot + 1) < '0'
        || timestamp.charAt(dot + 1) > '9')) {
      throw new DateTimeParseException("a fraction needs a digit", timestamp, dot);
    }
  }

  /**
   * {@code timestamp} with the fraction of its seconds cut to nine digits, the most {@code java.time} reads; RFC 3339
   * sets no limit, and the instant is kept to the microsecond anyway. The digits are cut from the local time, and
   * an offset is whole seconds, so the instant is cut down as well. Any other text is answered as it is.
   */
  public static String fractionToNanos(String timestamp) {
    int dot = timestamp.indexOf('.');
    if (dot < 0) {
      return timestamp;
    }
    int end = dot + 1;
    while (end < timestamp.length() && timestamp.charAt(end) >= '0' && timestamp.charAt(end) <= '9') {
      end++;
    }
    return end - dot - 1 <= 9 ? timestamp : timestamp.substring(0, dot + 10) + timestamp.substring(end);
  }

  /**
   * Whether {@code s} is a UUID in its canonical text form: 8-4-4-4-12 hexadecimal digits, either case. (The
   * JDK's {@code UUID.fromString} also takes shorter groups, so it cannot check this itself.)
   */
  public static boolean isUuid(String s) {
    if (s.length() != 36) {
      return false;
    }
    for (int i = 0; i < 36; i++) {
      char c = s.charAt(i);
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') {
          return false;
        }
      } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }

  /** The ASCII digits {@code [from, to)} as a number (at most 9 of them), or -1 if any is not one. */
  private static int digits(String s, int from, int to) {
    int value = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
