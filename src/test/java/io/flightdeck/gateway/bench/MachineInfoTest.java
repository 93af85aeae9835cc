package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The kernel writeback settings the report's machine table shows, and which count as a database host's. */
class MachineInfoTest {

  @Test
  @DisplayName("a fixed background threshold of at most 64 MiB is small; the stock ratio and big ones are not")
  void smallThreshold() {
    assertTrue(new MachineInfo.Writeback(16L << 20, 0, 3000).small());
    assertTrue(new MachineInfo.Writeback(64L << 20, 0, 3000).small());
    assertFalse(new MachineInfo.Writeback(256L << 20, 0, 3000).small());
    assertFalse(new MachineInfo.Writeback(0, 10, 3000).small(), "the stock setting: 10 % of memory");
    assertFalse(new MachineInfo.Writeback(-1, -1, -1).small(), "not readable");
  }

  @Test
  @DisplayName("the table names the setting in force: the bytes when set, else the ratio")
  void describes() {
    assertEquals("vm.dirty_background_bytes = 16777216 (16 MiB), vm.dirty_expire_centisecs = 3000",
        new MachineInfo.Writeback(16L << 20, 0, 3000).describe());
    assertEquals("vm.dirty_background_ratio = 10 % (vm.dirty_background_bytes = 0), vm.dirty_expire_centisecs = 3000",
        new MachineInfo.Writeback(0, 10, 3000).describe());
    assertEquals("n/a", new MachineInfo.Writeback(-1, -1, -1).describe());
  }

  @Test
  @DisplayName("this machine's settings are read from /proc/sys/vm")
  void readsThisMachine() {
    MachineInfo.Writeback w = MachineInfo.collect().writeback();
    assertTrue(w.backgroundBytes() >= 0 && w.expireCentisecs() > 0, w.describe());
    // each file whole: a kernel answers a second read with end-of-file, which once left "1" of "10"
    assertEquals(w.backgroundRatio(), (int) Long.parseLong(read("dirty_background_ratio")), w.describe());
    assertEquals(w.expireCentisecs(), (int) Long.parseLong(read("dirty_expire_centisecs")), w.describe());
  }

  private static String read(String vmSetting) {
    try (InputStream in = Files.newInputStream(Path.of("/proc/sys/vm", vmSetting))) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
