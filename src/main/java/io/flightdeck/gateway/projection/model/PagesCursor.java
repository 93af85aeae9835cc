package io.flightdeck.gateway.projection.model;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Where a walk through the page stats stopped: the last row's day, views and page key, in the walk's order. Its
 * {@link #text} is {@code GET /v1/pages}' {@code next}, passed back as {@code after}. It names the page by its key
 * (the SHA-256 of its id, see {@link PageKey}), not the id, so a cursor is short however long the page id.
 */
public record PagesCursor(Order order, LocalDate day, long views, byte[] key) {

  /** The orders of a day's rows: most viewed first (the default), or by page id, which no count changes. */
  public enum Order { VIEWS, PAGE }

  private static final HexFormat HEX = HexFormat.of();
  private static final int KEY_BYTES = 32;

  /** The cursor as the answer's {@code next} says it: {@code v.<day>.<views>.<key>} or {@code p.<day>.<key>}. */
  public String text() {
    return order == Order.VIEWS ? "v." + day + "." + views + "." + HEX.formatHex(key)
        : "p." + day + "." + HEX.formatHex(key);
  }

  /** The cursor a {@code next} stands for; empty when {@code text} is none of them. */
  public static Optional<PagesCursor> parse(String text) {
    String[] parts = text.split("\\.", -1);
    try {
      if (parts.length == 4 && parts[0].equals("v")) {
        return of(Order.VIEWS, parts[1], Long.parseLong(parts[2]), parts[3]);
      }
      if (parts.length == 3 && parts[0].equals("p")) {
        return of(Order.PAGE, parts[1], 0, parts[2]);
      }
    } catch (IllegalArgumentException | DateTimeParseException e) {
      // NumberFormatException from the views, IllegalArgumentException from the hex: none
    }
    return Optional.empty();
  }

  private static Optional<PagesCursor> of(Order order, String day, long views, String key) {
    LocalDate date = LocalDate.parse(day);
    // as an answer writes them: YYYY-MM-DD of a year PostgreSQL holds, a count, 32 bytes in hex
    if (day.length() != 10 || date.getYear() < 1 || views < 0 || key.length() != KEY_BYTES * 2) {
      return Optional.empty();
    }
    return Optional.of(new PagesCursor(order, date, views, HEX.parseHex(key)));
  }
}
