package io.flightdeck.gateway.event;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * An instant in UTC, as the store's timestamptz parameters and the read models' days take it, without
 * {@code Instant.atOffset(ZoneOffset.UTC)}: on Java 17 that builds a new {@code ZoneRules}, and a
 * {@code ConcurrentHashMap} with it, for every call (about 1 % of the gateway's CPU under single-event load, JFR),
 * once per event in the append and again in each projection.
 */
public final class Utc {

  private static final long SECONDS_PER_DAY = 86_400;

  private Utc() {
  }

  /** The same value as {@code instant.atOffset(ZoneOffset.UTC)}. */
  public static OffsetDateTime of(Instant instant) {
    return OffsetDateTime.of(LocalDateTime.ofEpochSecond(instant.getEpochSecond(), instant.getNano(), ZoneOffset.UTC),
        ZoneOffset.UTC);
  }

  /**
   * {@code instant} cut down to the microsecond, PostgreSQL's precision, for a timestamptz parameter. The pg client
   * cuts a finer time toward its epoch, 2000-01-01: up for a time before it, so 1990-06-15T23:59:59.9999999Z went in
   * as the next day, and 1990-06-15T10:00:00.0000005Z as a microsecond after itself.
   */
  public static Instant micros(Instant instant) {
    int sub = instant.getNano() % 1000;
    return sub == 0 ? instant : instant.minusNanos(sub);
  }

  /** The UTC day of {@code instant}, as {@code instant.atOffset(ZoneOffset.UTC).toLocalDate()}. */
  public static LocalDate day(Instant instant) {
    return LocalDate.ofEpochDay(Math.floorDiv(instant.getEpochSecond(), SECONDS_PER_DAY));
  }
}
