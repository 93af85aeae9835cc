package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The live phases' figures that need no gateway. */
class LivePhaseTest {

  @Test
  @DisplayName("'the last event N s after the window' counts from the window's close")
  void caughtUpAfterTheWindow() {
    MeasureWindow window = new MeasureWindow();
    long t = System.nanoTime();
    window.open(t);
    window.close(t + 15_000_000_000L);
    // the posting's lanes drained 80 ms after the close; every stream had the last event 60 ms after that
    assertEquals(0.14, LivePhase.secondsAfter(window, t + 15_140_000_000L), 1e-9);
    assertTrue(Double.isNaN(LivePhase.secondsAfter(new MeasureWindow(), t)), "no window closed: no figure");
  }
}
