package io.flightdeck.gateway.bench;

import java.util.ArrayList;
import java.util.List;

/** The targets, judged on a full run, and the problems that make any run (smoke or full) fail. */
final class Verdict {

  static final double BATCHED_TARGET = 0.8;
  static final double SINGLE_TARGET = 0.5;
  static final double P99_TARGET_MS = 25;
  static final double LAG_P99_TARGET_MS = 200;
  /** Rebuild rate over the single-event maximum. */
  static final double REBUILD_TARGET = 3;

  /** One target; {@code pass} is null when it could not be measured (no C_db without pgbench). */
  record Target(String name, String goal, String measured, Boolean pass) {

    String result() {
      return pass == null ? "n/a" : pass ? "PASS" : "MISS";
    }
  }

  private Verdict() {
  }

  /** The targets of the phases that ran (all of them, in a full run). */
  static List<Target> targets(BenchRun.Results r) {
    double cdb = r.cdb().rowsPerSecond();
    List<Target> targets = new ArrayList<>();
    if (r.bestBatch() != null) {
      double batched = r.bestBatch().load().eventsPerSecond() / cdb;
      targets.add(ratio("batched (" + BenchRun.BATCH_SIZE + "-event batches, best connection count)", batched,
          BATCHED_TARGET));
    }
    if (r.single() != null) {
      double single = r.single().load().eventsPerSecond() / cdb;
      targets.add(ratio("single-event (" + BenchRun.SINGLE_CONNECTIONS + " keep-alive connections)", single,
          SINGLE_TARGET));
    }
    if (r.openLoop() != null) {
      double p99 = r.openLoop().load().latencyMs(99);
      targets.add(new Target("p99 ack latency at half the single-event maximum (open loop)",
          BenchText.num("<= %.0f ms", P99_TARGET_MS), BenchText.num("%.2f ms", p99),
          Double.isNaN(p99) ? null : p99 <= P99_TARGET_MS));
    }
    if (r.lag() != null) {
      double p99 = r.lag().lag().p99Ms();
      targets.add(new Target("p99 projection lag at " + percent(BenchRun.LAG_SHARE) + " of the single-event "
          + "maximum (open loop, slowest projection per sample)", BenchText.num("<= %.0f ms", LAG_P99_TARGET_MS),
          BenchText.num("%.2f ms", p99), Double.isNaN(p99) ? null : p99 <= LAG_P99_TARGET_MS));
    }
    if (r.rebuild() != null) {
      double rate = r.rebuild().eventsPerSecond();
      double goal = REBUILD_TARGET * r.singleMax();
      targets.add(new Target("rebuild of all projections over " + r.rebuild().fill().events() + " stored events",
          BenchText.num(">= %.0f x the single-event maximum", REBUILD_TARGET)
              + BenchText.num(" (%.0f events/s)", goal),
          BenchText.num("%.0f events/s", rate) + BenchText.num(" (%.2f x)", rate / r.singleMax()),
          Double.isNaN(rate) || Double.isNaN(goal) ? null : rate >= goal));
    }
    return targets;
  }

  static String percent(double share) {
    return BenchText.num("%.0f %%", share * 100);
  }

  private static Target ratio(String name, double ratio, double goal) {
    return new Target(name, BenchText.num(">= %.1f x C_db", goal), BenchText.num("%.2f x C_db", ratio),
        Double.isNaN(ratio) ? null : ratio >= goal);
  }

  /** What went wrong. Errors (non-200 answers) fail only the smoke run: a full run reports them. */
  static List<String> problems(BenchRun.Results r, boolean smoke) {
    List<String> problems = new ArrayList<>();
    for (PgBench.Run run : r.cdb().runs()) {
      if (run.transactionsPerSecond() <= 0 || run.failed() > 0) {
        problems.add("pgbench -c " + run.clients() + ": " + run.failed() + " failed transactions, "
            + BenchText.num("%.0f", run.transactionsPerSecond()) + " tps");
      }
    }
    for (BenchRun.GatewayPhase p : r.gatewayPhases()) {
      String name = BenchRun.describe(p.load().spec());
      if (p.load().okEvents() == 0) {
        problems.add(name + ": no event was acknowledged inside the window");
      }
      if (smoke && p.load().errorCount() > 0) {
        problems.add(name + ": " + p.load().errorCount() + " errors " + p.load().errors());
      }
      if (p.storedEvents() < p.load().ackedEvents()) {
        problems.add(name + ": " + p.load().ackedEvents() + " events acknowledged but only " + p.storedEvents()
            + " stored");
      }
      if (p.gatewayExit() != 0) {
        problems.add(name + ": the gateway exited with " + p.gatewayExit() + " after SIGTERM (expected 0)");
      }
    }
    if (r.lag() != null) {
      LagSampler.Result lag = r.lag().lag();
      if (lag.samples() == 0) {
        problems.add("projection lag phase: no lag sample was taken");
      }
      if (lag.errors() > 0) {
        problems.add("projection lag phase: " + lag.errors() + " lag samples failed (" + lag.firstError() + ")");
      }
    }
    if (r.rebuild() != null) {
      r.rebuild().problems().forEach(p -> problems.add("rebuild: " + p));
    }
    return problems;
  }
}
