package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The report's prose: what it says was measured by the run, and what it quotes from elsewhere. */
class ReportTextTest {

  @Test
  @DisplayName("the writeback note's figures are quoted as an experiment apart from this run, not as its findings")
  void writebackNoteSaysWhereItsFiguresComeFrom() {
    String stock = Report.writebackNote(new MachineInfo.Writeback(0, 10, 3000));
    assertTrue(stock.startsWith("Not measured by this run"), stock);
    assertTrue(stock.contains("p99 51, 44 and 86 ms"), stock);
    assertTrue(stock.endsWith("its latency tails may include those bursts."), stock);
    String small = Report.writebackNote(new MachineInfo.Writeback(16L << 20, 0, 3000));
    assertTrue(small.endsWith("This run's host had a small threshold (the machine table)."), small);
  }
}
