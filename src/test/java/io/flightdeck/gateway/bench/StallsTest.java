package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stalls a phase's window reports: GC pauses read from the gateway's GC log, and the fsync probe. */
class StallsTest {

  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSxx")
      .withZone(ZoneOffset.UTC);

  private static String pause(Instant end, String what, String millis) {
    return "[" + TIME.format(end) + "] GC(7) Pause " + what + " " + millis + "ms";
  }

  @Test
  @DisplayName("every stop-the-world pause in a G1 log is read, with when it ended; concurrent phases are not")
  void readsPauses() {
    Instant t = Instant.parse("2026-12-04T18:31:20.861Z");
    List<Stalls.Pause> pauses = Stalls.pauses(List.of(
        "[2026-12-04T18:31:19.007+0000] Using G1",
        pause(t, "Young (Normal) (G1 Evacuation Pause) 140M->20M(211M)", "10.519"),
        "[2026-12-04T18:31:21.000+0000] GC(8) Concurrent Mark Cycle 36.222ms",
        pause(t.plusSeconds(1), "Remark 21M->21M(80M)", "24.104"),
        "[2026-12-04T18:31:22.000+0100] GC(9) Pause Cleanup 21M->21M(80M) 0.040ms",
        "garbage"));
    assertEquals(List.of(new Stalls.Pause(t, 10.519), new Stalls.Pause(t.plusSeconds(1), 24.104),
        new Stalls.Pause(Instant.parse("2026-12-04T17:31:22Z"), 0.040)), pauses);
  }

  @Test
  @DisplayName("only the pauses that ended inside the window count; the probe flushed inside it")
  void countsTheWindowOnly(@TempDir Path dir) throws Exception {
    Stalls stalls = new Stalls(dir);
    Instant before = Instant.now().minus(Duration.ofMinutes(1));
    stalls.begin();
    Thread.sleep(20);
    Instant inside = Instant.now();
    Thread.sleep(200);
    stalls.end();
    Path log = dir.resolve("gateway-gc.log");
    Files.write(log, List.of(
        pause(before, "Young (Normal) (G1 Evacuation Pause) 100M->10M(200M)", "50.000"),
        pause(inside, "Young (Normal) (G1 Evacuation Pause) 100M->10M(200M)", "7.500"),
        pause(inside, "Remark 21M->21M(80M)", "2.500"),
        pause(Instant.now().plus(Duration.ofMinutes(1)), "Young (Normal) (G1 Evacuation Pause) 1M->1M(2M)",
            "90.000")));

    Stalls.Result r = stalls.result(log);
    assertNull(r.gcUnavailable());
    assertEquals(2, r.gcPauses());
    assertEquals(10.0, r.gcTotalMs(), 1e-9);
    assertEquals(7.5, r.gcMaxMs(), 1e-9);
    assertNull(r.probeUnavailable());
    assertTrue(r.probeMicros().getTotalCount() >= 1, "the probe flushed " + r.probeMicros().getTotalCount());
    assertTrue(r.probeMs(50) > 0, "a flush takes time: " + r.probeMs(50));
    assertTrue(Files.notExists(dir.resolve("fsync-probe.bin")), "the probe's file is removed");
  }

  @Test
  @DisplayName("a GC log that cannot be read is reported as such, not as no pauses")
  void missingLog(@TempDir Path dir) {
    Stalls stalls = new Stalls(dir);
    stalls.begin();
    stalls.end();
    Stalls.Result r = stalls.result(dir.resolve("absent-gc.log"));
    assertEquals(-1, r.gcPauses());
    assertTrue(r.gcUnavailable().startsWith("cannot read "), r.gcUnavailable());
  }
}
