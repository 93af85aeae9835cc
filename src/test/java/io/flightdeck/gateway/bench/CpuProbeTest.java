package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the probe reads from /proc, against processes whose CPU is known. */
class CpuProbeTest {

  @Test
  @DisplayName("PostgreSQL's CPU keeps the time of a backend that exited between the samples")
  void exitedChildKeepsItsTime(@TempDir Path dir) throws Exception {
    Path done = dir.resolve("done");
    // a stand-in postmaster: waits, starts a child that burns CPU and exits (and is reaped), then idles
    Process postmaster = new ProcessBuilder("bash", "-c", "sleep 0.5; "
        + "bash -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; touch " + done + "; sleep 60").start();
    try {
      CpuProbe probe = new CpuProbe(0, 0, postmaster.pid());
      CpuProbe.Sample before = probe.sample();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (Files.notExists(done) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(Files.exists(done), "the child did not finish");
      CpuProbe.Sample after = probe.sample();
      long childNanos = after.postgres() - before.postgres();
      // the child's whole life falls between the samples: all of its CPU belongs to them
      assertTrue(childNanos >= TimeUnit.MILLISECONDS.toNanos(200),
          "CPU between the samples " + childNanos / 1e6 + " ms; the exited child's time was lost");
    } finally {
      postmaster.destroyForcibly();
    }
  }
}
