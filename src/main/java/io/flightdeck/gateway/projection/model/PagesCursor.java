package io.flightdeck.gateway.projection.model;

import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Where a walk through the page stats stopped: the last row's day, views and page key, in the walk's order. Its
 * {@link #text} is {@code GET /v1/pages}' {@code next}, passed back as {@code after}. It names the page by its key
 * (the SHA-256 of its id, see {@link PageKey}), not the id, so a cursor is short however long the page id.
 *
 * <p>It also carries {@code rebuilt}: when the last rebuild of page-stats began, as the answer that gave it read
 * it. A rebuild empties the table and refills it from the store, so a cursor from before it may stand at a row not
 * refilled yet (its page id, which orders a day's rows, cannot be looked up: the rest of the day would be left out)
 * and counts go down (most viewed first, rows already walked would come again). Such a cursor is {@link Expired}.
 */
public record PagesCursor(Order order, LocalDate day, long views, long rebuilt, byte[] key) {

  /** The orders of a day's rows: most viewed first (the default), or by page id, which no count changes. */
  public enum Order { VIEWS, PAGE }

  /** The {@code rebuilt} of a cursor written before cursors carried one: not checked. */
  public static final long UNSTAMPED = -1;

  /** A cursor from before a rebuild of page-stats began: the walk cannot go on from it, only start again. */
  public static final class Expired extends RuntimeException {
    Expired() {
      super("the page stats were rebuilt since this cursor was given", null, false, false);
    }
  }

  private static final HexFormat HEX = HexFormat.of();
  private static final int KEY_BYTES = 32;

  /**
   * The cursor as the answer's {@code next} says it: {@code v.<day>.<views>.<rebuilt>.<key>} or
   * {@code p.<day>.<rebuilt>.<key>}.
   */
  public String text() {
    return order == Order.VIEWS ? "v." + day + "." + views + "." + rebuilt + "." + HEX.formatHex(key)
        : "p." + day + "." + rebuilt + "." + HEX.formatHex(key);
  }

  /**
   * The cursor a {@code next} stands for; empty when {@code text} is none of them. The forms without
   * {@code rebuilt} ({@code v.<day>.<views>.<key>}, {@code p.<day>.<key>}) are those of earlier releases.
   */
  public static Optional<PagesCursor> parse(String text) {
    // as an answer writes it: Long.parseLong alone would also take a sign and other scripts' digits
    if (!text.chars().allMatch(c -> c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z'
        || c >= 'A' && c <= 'Z')) {
      return Optional.empty();
    }
    String[] parts = text.split("\\.", -1);
    try {
      if (parts.length == 5 && parts[0].equals("v")) {
        return of(Order.VIEWS, parts[1], Long.parseLong(parts[2]), stamp(parts[3]), parts[4]);
      }
      if (parts.length == 4 && parts[0].equals("p")) {
        return of(Order.PAGE, parts[1], 0, stamp(parts[2]), parts[3]);
      }
      if (parts.length == 4 && parts[0].equals("v")) {
        return of(Order.VIEWS, parts[1], Long.parseLong(parts[2]), UNSTAMPED, parts[3]);
      }
      if (parts.length == 3 && parts[0].equals("p")) {
        return of(Order.PAGE, parts[1], 0, UNSTAMPED, parts[2]);
      }
    } catch (IllegalArgumentException | DateTimeParseException e) {
      // NumberFormatException from the views or the stamp, IllegalArgumentException from the hex: none
    }
    return Optional.empty();
  }

  /**
   * Fails with {@link Expired} when a rebuild of page-stats began after this cursor was given: {@code rebuilt} is
   * the current {@link #stampOf} of the projection's last rebuild.
   */
  void requireCurrent(long rebuilt) {
    if (this.rebuilt != UNSTAMPED && this.rebuilt != rebuilt) {
      throw new Expired();
    }
  }

  /** The stamp of a rebuild that began at {@code started} (microseconds since 1970); 0 for none. */
  static long stampOf(OffsetDateTime started) {
    if (started == null) {
      return 0;
    }
    return Math.addExact(Math.multiplyExact(started.toEpochSecond(), 1_000_000L), started.getNano() / 1_000);
  }

  private static long stamp(String text) {
    long stamp = Long.parseLong(text);
    if (stamp < 0) {
      throw new IllegalArgumentException("a stamp is never negative");
    }
    return stamp;
  }

  private static Optional<PagesCursor> of(Order order, String day, long views, long rebuilt, String key) {
    LocalDate date = LocalDate.parse(day);
    // as an answer writes them: YYYY-MM-DD of a year PostgreSQL holds, a count, 32 bytes in hex
    if (day.length() != 10 || date.getYear() < 1 || views < 0 || key.length() != KEY_BYTES * 2) {
      return Optional.empty();
    }
    return Optional.of(new PagesCursor(order, date, views, rebuilt, HEX.parseHex(key)));
  }
}
