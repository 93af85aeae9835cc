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

  @Test
  @DisplayName("the live phase's warm-up is said as it ran: the fixed part and how long the JIT settling added")
  void liveWarmupAsItRan() {
    BenchOptions full = BenchOptions.parse(java.util.List.of("--jar", "pom.xml"), java.util.Map.of());
    // the last report's latency phase: 31 s of warm-up at 1,000/s (51,110 acknowledged: 5,000 in the ramp,
    // 15,036 in the window), not the 10 s its text said
    LoadResult live = new LoadResult(LoadSpec.openLoop("live", 64, 1, 1000), 15.036, 15_036, 15_036, 51_110,
        java.util.Map.of(), java.util.Map.of(), new org.HdrHistogram.Histogram(3), 0, 0, 0,
        new CpuProbe.Usage(0.3, 1.0, 0.2, 1.6, 0.08, 31.2));
    String text = ReportNotes.warmup(full, live);
    assertTrue(text.startsWith("31 s warm-up (10 s, then until the gateway's JIT compiler was quiet"), text);
    BenchOptions noSettle = BenchOptions.parse(java.util.List.of("--jar", "pom.xml", "--settle", "0"),
        java.util.Map.of());
    assertTrue(ReportNotes.warmup(noSettle, live).equals("10 s warm-up"), ReportNotes.warmup(noSettle, live));
  }

  @Test
  @DisplayName("the settling note quotes the compile times of earlier runs as such, not as this run's")
  void settlingSaysItsFiguresAreEarlierRuns() {
    String text = ReportNotes.settling(BenchOptions.parse(java.util.List.of("--jar", "pom.xml"), java.util.Map.of()));
    assertTrue(text.contains("in earlier runs on 2-core hosts (not this one), a fresh gateway compiled its hot paths "
        + "for its first 20 to 40 s"), text);
    assertTrue(text.contains("how long each phase warmed up in this run"), text);
  }
}
