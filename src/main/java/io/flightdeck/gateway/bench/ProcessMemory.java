package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Another JVM's memory: its resident set from {@code /proc/<pid>/status}, its Java heap from {@code jcmd} of
 * the JDK this benchmark runs on (the gateway runs on the same one). Blocking: call from a worker thread.
 */
final class ProcessMemory {

  /** KiB; -1 where it could not be read. */
  record Snapshot(long rssKib, long peakRssKib, long heapUsedKib, long heapCommittedKib) {

    static final Snapshot UNKNOWN = new Snapshot(-1, -1, -1, -1);
  }

  // " garbage-first heap   total 262144K, used 23552K [0x..." (and the same shape for the other collectors)
  private static final Pattern HEAP = Pattern.compile("heap\\s+total\\s+(\\d+)K,\\s+used\\s+(\\d+)K");
  private static final long JCMD_TIMEOUT_SECONDS = 60;

  private ProcessMemory() {
  }

  /** RSS and heap now; with {@code gcFirst} a full GC runs first ({@code jcmd GC.run}), so heap is what is live. */
  static Snapshot read(long pid, boolean gcFirst) {
    if (gcFirst) {
      jcmd(pid, "GC.run");
    }
    long[] heap = heap(pid);
    return new Snapshot(status(pid, "VmRSS"), status(pid, "VmHWM"), heap[1], heap[0]);
  }

  /** A {@code /proc/<pid>/status} field in kB, or -1. */
  static long status(long pid, String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith(key + ":")) {
          return Long.parseLong(line.substring(key.length() + 1).replace("kB", "").trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** {committed, used} KiB of the Java heap, or {-1, -1}. */
  private static long[] heap(long pid) {
    String out = jcmd(pid, "GC.heap_info");
    Matcher m = out == null ? null : HEAP.matcher(out);
    if (m == null || !m.find()) {
      return new long[] {-1, -1};
    }
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
  }

  static Path jcmdBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "jcmd");
  }

  /** jcmd's output, or null when it failed. */
  private static String jcmd(long pid, String command) {
    Path bin = jcmdBinary();
    if (!Files.isExecutable(bin)) {
      return null;
    }
    try {
      Process p = new ProcessBuilder(List.of(bin.toString(), Long.toString(pid), command))
          .redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(JCMD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  static String mib(long kib) {
    return kib < 0 ? "n/a" : BenchText.num("%.0f MiB", kib / 1024.0);
  }
}
