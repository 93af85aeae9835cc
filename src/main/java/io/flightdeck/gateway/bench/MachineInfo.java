package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The machine the figures belong to, read from /proc and the JVM once at start. Blocking: call from main. */
record MachineInfo(int cores, String cpuModel, String memory, long memoryMb, String kernel, String os, String java,
                   String loadAverage, Writeback writeback) {

  /** A background writeback threshold at most this big counts as a database host's (see {@link Writeback}). */
  static final long SMALL_BACKGROUND_BYTES = 64L << 20;
  /** More than any /proc file {@link #read} is given holds. */
  private static final int PROC_FILE_BYTES = 4096;

  /**
   * When the kernel starts writing dirty page-cache pages back in the background: at {@code backgroundBytes}
   * (when not 0) or else {@code backgroundRatio} % of the memory it can use for them, and for any page dirty
   * longer than {@code expireCentisecs}. With a threshold of gigabytes, writes that nobody forces to disk (a
   * PostgreSQL 15 backend extending a table or index, for one, writes the new blocks as zeros through the page
   * cache) pile up and go out in bursts of 100 MB and more that fill the disk's queue, and every WAL fsync waits
   * behind them. -1 where /proc/sys/vm cannot be read.
   */
  record Writeback(long backgroundBytes, int backgroundRatio, int expireCentisecs) {

    boolean small() {
      return backgroundBytes > 0 && backgroundBytes <= SMALL_BACKGROUND_BYTES;
    }

    String describe() {
      if (backgroundRatio < 0 && backgroundBytes < 0) {
        return "n/a";
      }
      String threshold = backgroundBytes > 0
          ? "vm.dirty_background_bytes = " + backgroundBytes + " (" + BenchText.num("%.0f MiB", backgroundBytes
              / 1048576.0) + ")"
          : "vm.dirty_background_ratio = " + backgroundRatio + " % (vm.dirty_background_bytes = 0)";
      return threshold + ", vm.dirty_expire_centisecs = " + expireCentisecs;
    }
  }

  static MachineInfo collect() {
    Optional<Long> memKib = firstValue(Path.of("/proc/meminfo"), "MemTotal")
        .map(m -> Long.parseLong(m.replace("kB", "").trim()));
    return new MachineInfo(
        Runtime.getRuntime().availableProcessors(),
        firstValue(Path.of("/proc/cpuinfo"), "model name").orElse(System.getProperty("os.arch")),
        memKib.map(k -> BenchText.num("%.1f GiB", k / 1024.0 / 1024.0)).orElse("n/a"),
        memKib.map(k -> k / 1024).orElse(0L),
        read(Path.of("/proc/sys/kernel/osrelease")).orElse(System.getProperty("os.version")),
        prettyName().orElse(System.getProperty("os.name")),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
        read(Path.of("/proc/loadavg")).map(MachineInfo::firstThree).orElse("n/a"),
        new Writeback(number("dirty_background_bytes"), (int) number("dirty_background_ratio"),
            (int) number("dirty_expire_centisecs")));
  }

  /** A number from /proc/sys/vm; -1 when it cannot be read. */
  private static long number(String vmSetting) {
    try {
      return read(Path.of("/proc/sys/vm", vmSetting)).map(Long::parseLong).orElse(-1L);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static Optional<String> firstValue(Path file, String key) {
    return lines(file).stream()
        .filter(l -> l.startsWith(key))
        .map(l -> l.substring(l.indexOf(':') + 1).trim())
        .findFirst();
  }

  private static Optional<String> prettyName() {
    return lines(Path.of("/etc/os-release")).stream()
        .filter(l -> l.startsWith("PRETTY_NAME="))
        .map(l -> l.substring("PRETTY_NAME=".length()).replace("\"", ""))
        .findFirst();
  }

  private static String firstThree(String loadavg) {
    String[] f = loadavg.trim().split("\\s+");
    return f[0] + " " + f[1] + " " + f[2] + " (1, 5, 15 min)";
  }

  /**
   * A small /proc file, read in one call: the kernel answers a read of a /proc/sys file that does not start at
   * offset 0 with end-of-file, and {@code Files.readString} of a file whose size says 0 reads its first byte alone
   * ("1" of "10").
   */
  private static Optional<String> read(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return Optional.of(new String(in.readNBytes(PROC_FILE_BYTES), StandardCharsets.UTF_8).trim());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      return List.of();
    }
  }
}
