package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Before a phase: waits until the storage is quiet again after the phases before it (the CHECKPOINT that flushed
 * their pages, the kernel's writeback, the discards of the files of dropped databases), so no phase's window pays
 * for an earlier phase's I/O. Quiet means {@value #QUIET_FLUSHES} {@link FsyncProbe} flushes in a row, each under
 * {@value #QUIET_FLUSH_MS} ms (on the idle machine none of 100,000 took longer), while the kernel holds under
 * {@value #QUIET_DIRTY_MIB} MiB of dirty pages and under 1 MiB in writeback ({@code /proc/meminfo}; not checked
 * where there is none). Bounded: at the limit the phase starts anyway, and {@link #waits()} says it was not quiet.
 */
final class QuietStorage {

  /** How long each wait may last at most: in a full run, and in a smoke run. */
  static final Duration LIMIT = Duration.ofSeconds(30);
  static final Duration LIMIT_SMOKE = Duration.ofSeconds(2);
  static final int QUIET_FLUSHES = 50;
  static final long QUIET_FLUSH_MS = 5;
  static final long QUIET_DIRTY_MIB = 32;
  static final long QUIET_WRITEBACK_KIB = 1024;
  private static final long PAUSE_MS = 10;
  private static final Path MEMINFO = Path.of("/proc/meminfo");

  /**
   * One wait: before which phase, how long, whether the storage was quiet when it ended, and how the storage
   * looked then (the slowest of the last flushes, the kernel's dirty and writeback pages).
   */
  record Wait(String phase, double seconds, boolean quiet, String state) {
  }

  /** The kernel's dirty and writeback pages, in KiB; -1 each where /proc/meminfo cannot be read. */
  record Kernel(long dirtyKib, long writebackKib) {

    boolean quiet() {
      return dirtyKib < 0 || dirtyKib < QUIET_DIRTY_MIB * 1024 && writebackKib < QUIET_WRITEBACK_KIB;
    }
  }

  private final Path dir;
  private final Duration limit;
  private final List<Wait> waits = new CopyOnWriteArrayList<>();

  /** The limit of each wait for a run with {@code --smoke} or without. */
  static Duration limit(boolean smoke) {
    return smoke ? LIMIT_SMOKE : LIMIT;
  }

  /** Probes the file system {@code dir} is on, waiting at most {@code limit} each time. */
  QuietStorage(Path dir, Duration limit) {
    this.dir = dir;
    this.limit = limit;
  }

  /** Every wait so far, in order. */
  List<Wait> waits() {
    return List.copyOf(waits);
  }

  /**
   * Waits until quiet or the limit; notes and answers the wait. A probe that cannot write ends the wait at once,
   * not quiet, with the reason as its state: the phase runs anyway, as with a slow disk. Blocks: a worker thread.
   */
  Wait await(String phase) throws InterruptedException {
    long started = System.nanoTime();
    Wait wait;
    try {
      wait = probe(phase, started);
    } catch (IOException e) {
      wait = new Wait(phase, (System.nanoTime() - started) / 1e9, false, "the fsync probe failed: " + e.getMessage());
    }
    waits.add(wait);
    return wait;
  }

  private Wait probe(String phase, long started) throws IOException, InterruptedException {
    long deadline = started + limit.toNanos();
    ArrayDeque<Long> last = new ArrayDeque<>(QUIET_FLUSHES);
    int quietInARow = 0;
    Kernel kernel;
    try (FsyncProbe probe = FsyncProbe.open(dir, "quiet-probe.bin")) {
      while (true) {
        long micros = probe.flushMicros();
        if (last.size() == QUIET_FLUSHES) {
          last.removeFirst();
        }
        last.addLast(micros);
        kernel = kernel();
        quietInARow = micros < QUIET_FLUSH_MS * 1000 && kernel.quiet() ? quietInARow + 1 : 0;
        if (quietInARow >= QUIET_FLUSHES || System.nanoTime() - deadline >= 0) {
          break;
        }
        Thread.sleep(PAUSE_MS);
      }
    }
    boolean quiet = quietInARow >= QUIET_FLUSHES;
    String state = "slowest of the last " + last.size() + " flushes " + BenchText.num("%.1f ms", slowest(last) / 1000.0)
        + (kernel.dirtyKib() < 0 ? "" : ", dirty " + kernel.dirtyKib() / 1024 + " MiB, writeback "
            + kernel.writebackKib() / 1024 + " MiB");
    return new Wait(phase, (System.nanoTime() - started) / 1e9, quiet, state);
  }

  private static long slowest(ArrayDeque<Long> micros) {
    return micros.stream().mapToLong(Long::longValue).max().orElse(0);
  }

  static Kernel kernel() {
    try {
      return kernel(Files.readAllLines(MEMINFO));
    } catch (IOException e) {
      return new Kernel(-1, -1);
    }
  }

  /** The dirty and writeback pages of {@code /proc/meminfo}'s lines ({@code Dirty: 188 kB}). */
  static Kernel kernel(List<String> meminfo) {
    long dirty = -1;
    long writeback = -1;
    for (String line : meminfo) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length >= 2 && parts[0].equals("Dirty:")) {
        dirty = Long.parseLong(parts[1]);
      } else if (parts.length >= 2 && parts[0].equals("Writeback:")) {
        writeback = Long.parseLong(parts[1]);
      }
    }
    return dirty < 0 || writeback < 0 ? new Kernel(-1, -1) : new Kernel(dirty, writeback);
  }
}
