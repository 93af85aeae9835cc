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
  record Target(String name, String goal, String measured, Boolean pass, boolean reportedOnly) {

    Target(String name, String goal, String measured, Boolean pass) {
      this(name, goal, measured, pass, false);
    }

    /** A figure the issue asks for without a goal. */
    static Target reported(String name, String measured) {
      return new Target(name, "none: reported", measured, null, true);
    }

    String result() {
      return reportedOnly ? "reported" : pass == null ? "n/a" : pass ? "PASS" : "MISS";
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
    if (r.live() != null) {
      LivePhase.Delivery d = r.live();
      double p99 = d.latencyMs(99);
      boolean complete = d.missing() == 0 && d.stats().duplicates == 0 && d.expectedDeliveries() > 0;
      targets.add(new Target("POST-to-SSE delivery latency p99 at " + BenchText.num("%.0f", d.ingest().spec()
          .ratePerSecond()) + " events/s to " + d.opened().wanted() + " subscribers (open loop)",
          BenchText.num("<= %.0f ms", LivePhase.LATENCY_TARGET_MS) + ", every event to every subscriber once",
          BenchText.num("%.2f ms", p99) + BenchText.num(" (p50 %.2f ms)", d.latencyMs(50)) + "; "
              + d.stats().windowEventsReceived + " of " + d.expectedDeliveries() + " deliveries, missing "
              + d.missing() + ", duplicates " + d.stats().duplicates,
          Double.isNaN(p99) ? null : p99 <= LivePhase.LATENCY_TARGET_MS && complete));
    }
    if (r.liveMax() != null) {
      LivePhase.Delivery m = r.liveMax();
      targets.add(Target.reported("maximum deliveries/s to " + m.opened().wanted() + " subscribers",
          BenchText.num("%.0f deliveries/s", m.deliveriesPerSecond())
              + BenchText.num(" (%.0f events/s posted", m.ingest().eventsPerSecond()) + ", " + m.stats().ended
              + " streams cut off)"));
    }
    if (r.liveIdle() != null) {
      LivePhase.Idle i = r.liveIdle();
      long rss = i.with().rssKib();
      targets.add(new Target("gateway RSS with " + i.opened().wanted() + " idle SSE connections (one process)",
          "<= 1 GiB", ProcessMemory.mib(rss) + " (" + i.opened().connected() + " open; live heap "
              + ProcessMemory.mib(i.withAfterGc().heapUsedKib()) + ")",
          rss < 0 ? null : rss <= LivePhase.RSS_TARGET_KIB && i.opened().connected() == i.opened().wanted()));
    }
    return targets;
  }

  /**
   * A delivery phase's problems. Streams the gateway cut off as slow are a finding (the latency target misses),
   * not a fault, except in the smoke run; anything delivered twice, out of order, or missing from a stream that
   * was never cut off is a fault.
   */
  private static void liveProblems(LivePhase.Delivery d, boolean smoke, List<String> problems) {
    String name = d.name();
    SubscriberGroup.Stats s = d.stats();
    if (d.opened().failed() > 0) {
      problems.add(name + ": " + d.opened().failed() + " of " + d.opened().wanted() + " subscribers did not connect ("
          + d.opened().firstFailure() + ")");
    }
    if (d.windowEvents() == 0 || s.windowDeliveries == 0) {
      problems.add(name + ": nothing was posted or delivered inside the window");
    }
    if (s.missingIntact > 0 || s.duplicates > 0 || s.outOfOrder > 0) {
      problems.add(name + ": subscribers still connected missed " + s.missingIntact + " deliveries; "
          + s.duplicates + " duplicates, " + s.outOfOrder + " out of order");
    }
    if (s.unmatched > 0 && d.ingest().errorCount() == 0) {
      problems.add(name + ": " + s.unmatched + " deliveries of positions no POST was answered with");
    }
    if (smoke && (s.ended > 0 || d.missing() > 0)) {
      problems.add(name + ": " + s.ended + " streams cut off, " + d.missing() + " deliveries missing");
    }
    if (smoke && d.ingest().errorCount() > 0) {
      problems.add(name + ": " + d.ingest().errorCount() + " errors " + d.ingest().errors());
    }
    if (d.storedEvents() < d.ackedEvents()) {
      problems.add(name + ": " + d.ackedEvents() + " events acknowledged but only " + d.storedEvents()
          + " stored");
    }
    if (d.gatewayExit() != 0) {
      problems.add(name + ": the gateway exited with " + d.gatewayExit() + " after SIGTERM (expected 0)");
    }
  }

  static String percent(double share) {
    return BenchText.num("%.0f %%", share * 100);
  }

  private static Target ratio(String name, double ratio, double goal) {
    return new Target(name, BenchText.num(">= %.1f x C_db", goal), BenchText.num("%.2f x C_db", ratio),
        Double.isNaN(ratio) ? null : ratio >= goal);
  }

  /** A pgbench run (null: not run) that failed transactions or made none. */
  private static void pgbenchProblem(String name, PgBench.Run run, List<String> problems) {
    if (run != null && (run.transactionsPerSecond() <= 0 || run.failed() > 0)) {
      problems.add(name + ": " + run.failed() + " failed transactions, "
          + BenchText.num("%.0f", run.transactionsPerSecond()) + " tps");
    }
  }

  /** What went wrong. Errors (non-200 answers) fail only the smoke run: a full run reports them. */
  static List<String> problems(BenchRun.Results r, boolean smoke) {
    List<String> problems = new ArrayList<>();
    for (PgBench.Run run : r.cdb().runs()) {
      pgbenchProblem("pgbench -c " + run.clients(), run, problems);
    }
    if (r.floor() != null) {
      LoadResult http = r.floor().http();
      if (http.okRequests() == 0 || http.errorCount() > 0) {
        problems.add("floor: the floor server answered " + http.okRequests() + " requests inside the window, "
            + http.errorCount() + " errors " + http.errors());
      }
      pgbenchProblem("floor: pgbench, read models' writes", r.floor().readModels(), problems);
      pgbenchProblem("floor: pgbench, generation alone", r.floor().generation(), problems);
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
    for (LivePhase.Delivery d : new LivePhase.Delivery[] {r.live(), r.liveMax()}) {
      if (d != null) {
        liveProblems(d, smoke, problems);
      }
    }
    if (r.liveIdle() != null) {
      LivePhase.Idle i = r.liveIdle();
      String name = "live feed, idle streams";
      if (i.opened().connected() < i.opened().wanted()) {
        problems.add(name + ": " + i.opened().connected() + " of " + i.opened().wanted() + " opened ("
            + i.opened().firstFailure() + ")");
      }
      if (i.with().rssKib() < 0) {
        problems.add(name + ": the gateway's RSS could not be read");
      }
      if (i.probe().latencyMicros.getTotalCount() != i.opened().connected() || i.probe().missingIntact > 0
          || i.probe().ended > 0) {
        problems.add(name + ": the event posted at the end reached " + i.probe().latencyMicros.getTotalCount()
            + " of " + i.opened().connected() + " streams (" + i.probe().ended + " ended)");
      }
      if (i.gatewayExit() != 0) {
        problems.add(name + ": the gateway exited with " + i.gatewayExit() + " after SIGTERM (expected 0)");
      }
    }
    return problems;
  }
}
