package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wait for quiet storage before a phase: what it reads from the kernel, and that it is bounded. */
class QuietStorageTest {

  @Test
  @DisplayName("the kernel's dirty and writeback pages are read from /proc/meminfo's lines; quiet below the bounds")
  void readsMeminfo() {
    QuietStorage.Kernel k = QuietStorage.kernel(List.of("MemTotal:       24576000 kB", "Dirty:               188 kB",
        "Writeback:             0 kB", "WritebackTmp:          0 kB"));
    assertEquals(new QuietStorage.Kernel(188, 0), k);
    assertTrue(k.quiet());
    assertFalse(new QuietStorage.Kernel(QuietStorage.QUIET_DIRTY_MIB * 1024, 0).quiet(), "too much dirty");
    assertFalse(new QuietStorage.Kernel(0, 4096).quiet(), "writeback under way");
  }

  @Test
  @DisplayName("a kernel without /proc/meminfo's lines is not checked: only the probe decides")
  void noMeminfo() {
    QuietStorage.Kernel k = QuietStorage.kernel(List.of("MemTotal: 1 kB"));
    assertEquals(new QuietStorage.Kernel(-1, -1), k);
    assertTrue(k.quiet());
  }

  @Test
  @DisplayName("the wait ends at its limit, says the storage was not quiet then, is noted, and leaves no file")
  void boundedWait(@TempDir Path dir) throws Exception {
    QuietStorage quiet = new QuietStorage(dir, Duration.ZERO);
    QuietStorage.Wait wait = quiet.await("single_c64");
    assertFalse(wait.quiet(), "one flush cannot make " + QuietStorage.QUIET_FLUSHES + " in a row");
    assertEquals("single_c64", wait.phase());
    assertTrue(wait.state().startsWith("slowest of the last 1 flushes"), wait.state());
    assertEquals(List.of(wait), quiet.waits());
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(0, left.count(), "the probe's file is removed");
    }
  }

  @Test
  @DisplayName("a probe that cannot write ends the wait at once, not quiet, saying why")
  void probeFails(@TempDir Path dir) throws Exception {
    QuietStorage quiet = new QuietStorage(dir.resolve("missing"), Duration.ofSeconds(30));
    QuietStorage.Wait wait = quiet.await("cdb_c2");
    assertFalse(wait.quiet());
    assertTrue(wait.state().startsWith("the fsync probe failed: "), wait.state());
    assertEquals(List.of(wait), quiet.waits());
  }
}
