package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.DoubleSummaryStatistics;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * What stalled inside a phase's window, so a tail latency can be told apart: the gateway's own stop-the-world GC
 * pauses (from its GC log), and the machine's fsync latency, probed by a thread of this JVM that writes
 * {@value FsyncProbe#BYTES} bytes to a file in the benchmark's directory and forces them to disk (fdatasync) every
 * {@value #PROBE_EVERY_MS} ms. A commit waits for one such flush of the WAL, so a probe that stalls shows the
 * storage (or the machine's scheduling) stalling under everyone, not the gateway. PostgreSQL's own WAL flushes are
 * counted by {@link PgTime}.
 *
 * <p>{@link #begin()} and {@link #end()} run at the window's edges; {@link #read} reads the GC log after the
 * gateway stopped (its log is complete then).
 */
final class Stalls {

  static final int PROBE_EVERY_MS = 10;
  /** A probe flush this slow is counted as a stall. */
  static final long STALL_MS = 20;
  private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(1);

  /**
   * The gateway's GC log with {@code time} decorations, as {@link GatewayUnderTest} writes it: a pause line ends
   * with its duration, and its time stamp is when the pause ended.
   */
  private static final Pattern PAUSE = Pattern.compile("^\\[([^\\]]+)\\].* Pause .* ([0-9.]+)ms$");
  private static final DateTimeFormatter GC_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSxx");

  /**
   * The window's stalls. {@code gcPauses} is -1 when the GC log could not be read ({@code gcUnavailable} says
   * why); the probe's histogram is in microseconds.
   */
  record Result(int gcPauses, double gcTotalMs, double gcMaxMs, String gcUnavailable, Histogram probeMicros,
                long probeStalls, String probeUnavailable) {

    double probeMs(double percentile) {
      return BenchText.ms(probeMicros, percentile);
    }

    double probeMaxMs() {
      return BenchText.maxMs(probeMicros);
    }
  }

  /** One GC pause: when it ended and how long it took. */
  record Pause(Instant end, double millis) {
  }

  private final Path probeDir;
  private final Histogram probeMicros = new Histogram(MAX_MICROS, 3);
  private volatile Instant started;
  private volatile Instant ended;
  private volatile Thread prober;
  private volatile boolean stopping;
  private volatile String probeUnavailable;
  private long probeStalls;

  /** Probes the file system {@code dir} is on. */
  Stalls(Path dir) {
    this.probeDir = dir;
  }

  /** When the window opens: notes the time and starts the probe. */
  void begin() {
    started = Instant.now();
    Thread t = new Thread(this::probe, "bench-fsync-probe");
    t.setDaemon(true);
    prober = t;
    t.start();
  }

  /** When the window closes: notes the time and stops the probe (waits for it). */
  void end() {
    ended = Instant.now();
    stop();
    Thread t = prober;
    if (t != null) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Stops the probe without waiting for it (also when the window never closed). */
  void stop() {
    // a flag, not an interrupt: an interrupt closes a FileChannel in the middle of its force
    stopping = true;
  }

  private void probe() {
    try (FsyncProbe fsync = FsyncProbe.open(probeDir, "fsync-probe.bin")) {
      while (!stopping) {
        long micros = fsync.flushMicros();
        synchronized (this) {
          probeMicros.recordValue(Math.min(MAX_MICROS, micros));
          if (micros >= STALL_MS * 1000) {
            probeStalls++;
          }
        }
        Thread.sleep(PROBE_EVERY_MS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      probeUnavailable = "the fsync probe failed: " + e.getMessage();
    }
  }

  /**
   * After the gateway stopped: stops the probe (a load that failed inside its window never closed it) and reads
   * the window's stalls on a worker thread.
   */
  Future<Result> read(Vertx vertx, Path gcLog) {
    stop();
    return vertx.executeBlocking(() -> result(gcLog), false);
  }

  /** The window's stalls; {@code gcLog} is the gateway's GC log, read now. Blocks. */
  synchronized Result result(Path gcLog) {
    Histogram probe = probeMicros.copy();
    if (started == null || ended == null) {
      return new Result(-1, Double.NaN, Double.NaN, "the window did not close", probe, probeStalls,
          probeUnavailable);
    }
    try {
      DoubleSummaryStatistics inside = pauses(Files.readAllLines(gcLog)).stream()
          .filter(p -> !p.end().isBefore(started) && !p.end().isAfter(ended))
          .mapToDouble(Pause::millis).summaryStatistics();
      return new Result((int) inside.getCount(), inside.getSum(), inside.getCount() == 0 ? 0 : inside.getMax(), null,
          probe, probeStalls, probeUnavailable);
    } catch (IOException e) {
      return new Result(-1, Double.NaN, Double.NaN, "cannot read " + gcLog + ": " + e.getMessage(), probe,
          probeStalls, probeUnavailable);
    }
  }

  /** Every pause in a GC log written with {@code -Xlog:gc:file=...:time}. */
  static List<Pause> pauses(List<String> lines) {
    return lines.stream().map(PAUSE::matcher).filter(Matcher::matches).flatMap(m -> {
      try {
        Instant end = OffsetDateTime.parse(m.group(1), GC_TIME).toInstant();
        return Stream.of(new Pause(end, Double.parseDouble(m.group(2))));
      } catch (DateTimeParseException | NumberFormatException e) {
        return Stream.empty();
      }
    }).toList();
  }
}
