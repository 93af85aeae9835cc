package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The phase clock's window and the CPU read at its edges. */
class PhaseClockTest {

  private Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Keeps this thread on a core for {@code millis} of its own CPU time. */
  private static void burn(long millis) {
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long until = threads.getCurrentThreadCpuTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    long x = 0;
    while (threads.getCurrentThreadCpuTime() < until) {
      x += System.nanoTime() % 7;
    }
    if (x == 42) {
      System.out.print("");
    }
  }

  @Test
  @DisplayName("work the phase does at the window's close (a query, joining a thread) is not counted as the window's")
  void edgeWorkIsNotInTheWindow() throws Exception {
    AtomicLong closedAt = new AtomicLong();
    // this JVM as the load generator; over a window of 1 s it idles
    CpuProbe.Usage cpu = PhaseClock.run(vertx, new Timing(Duration.ZERO, Duration.ofSeconds(1)),
            new CpuProbe(0, 0, 0), t -> { }, t -> {
              closedAt.set(t);
              burn(800); // the close's own work: 0.8 s of this JVM's CPU after the window ended
            })
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(closedAt.get() != 0, "the close was told");
    assertTrue(cpu.generator() < 0.4, "the window counted the close's work: " + cpu.generator() + " cores");
  }

  @Test
  @DisplayName("the window's edges are published before the CPU is read, and the hooks are told the same edges")
  void windowAtTheEdges() throws Exception {
    MeasureWindow window = new MeasureWindow();
    AtomicLong openedAt = new AtomicLong();
    AtomicLong closedAt = new AtomicLong();
    PhaseClock.run(vertx, new Timing(Duration.ZERO, Duration.ofMillis(300)), new CpuProbe(0, 0, 0), window,
            t -> openedAt.set(window.contains(t) ? t : -1), t -> closedAt.set(window.closedBy(t) ? t : -1))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(openedAt.get() > 0 && closedAt.get() > 0, "the hooks saw the window open and closed at their edge");
    assertTrue(Math.abs(window.seconds() - (closedAt.get() - openedAt.get()) / 1e9) < 1e-9);
    assertTrue(window.seconds() >= 0.3, "the window lasts its measure: " + window.seconds());
  }
}
