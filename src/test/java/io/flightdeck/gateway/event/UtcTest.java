package io.flightdeck.gateway.event;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class UtcTest {

  private static void assertSameAsAtOffset(Instant i) {
    assertEquals(i.atOffset(ZoneOffset.UTC), Utc.of(i), i.toString());
    assertEquals(i.atOffset(ZoneOffset.UTC).toLocalDate(), Utc.day(i), i.toString());
  }

  @Test
  void edgesOfDaysAndEpoch() {
    for (Instant i : List.of(Instant.EPOCH, Instant.EPOCH.minusNanos(1), Instant.EPOCH.plusNanos(1),
        Instant.parse("2026-12-03T23:59:59.999999999Z"), Instant.parse("2026-12-04T00:00:00Z"),
        Instant.parse("1969-12-31T00:00:00Z"), Instant.parse("1969-12-30T23:59:59.5Z"),
        Instant.parse("2000-02-29T12:00:00.123Z"), Instant.parse("9999-12-31T23:59:59.999999999Z"),
        Instant.parse("-9999-01-01T00:00:00Z"))) {
      assertSameAsAtOffset(i);
    }
  }

  @Test
  void randomInstants() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int n = 0; n < 100_000; n++) {
      long seconds = r.nextLong(-200_000_000_000L, 200_000_000_000L);
      assertSameAsAtOffset(Instant.ofEpochSecond(seconds, r.nextInt(1_000_000_000)));
    }
  }

  @Test
  @DisplayName("micros cuts a time down to its microsecond, before 1970 and 2000 too, never up into the next")
  void microsCutsDown() {
    assertEquals(Instant.parse("1990-06-15T10:00:00Z"), Utc.micros(Instant.parse("1990-06-15T10:00:00.0000005Z")));
    assertEquals(Instant.parse("1969-12-31T23:59:59.999999Z"),
        Utc.micros(Instant.parse("1969-12-31T23:59:59.999999999Z")));
    assertEquals(Instant.parse("2026-12-07T10:24:07.540416Z"),
        Utc.micros(Instant.parse("2026-12-07T10:24:07.5404169Z")));
    Instant exact = Instant.parse("2026-12-07T10:24:07.540416Z");
    assertEquals(exact, Utc.micros(exact));
  }
}
