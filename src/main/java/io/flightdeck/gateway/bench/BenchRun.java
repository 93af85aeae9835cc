package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.bench.BenchOptions.Phase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's phases in order: C_db with pgbench, then the gateway under closed-loop single events, closed-
 * loop batches, open-loop single events at half the single-event maximum, open-loop single events at 70 % of it
 * with every projection's lag sampled, the rebuild of every projection over a store filled by SQL, and last the
 * live feed (delivery latency and maximum to SSE subscribers, memory with idle streams). Every
 * phase gets a fresh database (and every gateway phase a fresh gateway), so none inherits a table another phase
 * grew, or its JIT state. {@code --only} runs a subset; the phases it leaves out are null (or empty) here.
 */
final class BenchRun {

  static final int SINGLE_CONNECTIONS = 64;
  static final int BATCH_SIZE = 50;
  /** The open-loop latency phase runs at this share of the single-event maximum. */
  static final double OPEN_SHARE = 0.5;
  /** The projection-lag phase runs at this share of the single-event maximum. */
  static final double LAG_SHARE = 0.7;
  static final String LAG_PHASE = "open-lag";

  /**
   * A gateway phase: the load's figures, the events the store holds afterwards, the gateway's exit code, where
   * PostgreSQL's time went inside the window, and what stalled inside it.
   */
  record GatewayPhase(LoadResult load, long storedEvents, int gatewayExit, PgTime.Result pgTime,
                      Stalls.Result stalls) {
  }

  /** The open-loop phase that also sampled every projection's lag. */
  record LagPhase(GatewayPhase phase, LagSampler.Result lag) {
  }

  /**
   * Everything the report needs from the phases.
   *
   * @param singleMax the single-event maximum (events/s) the open, lag and rebuild phases refer to: the single
   *     phase's, or {@code --single-max} when it did not run
   * @param quietWaits every fresh database's wait for quiet storage, in order
   */
  record Results(BenchDatabases.ServerInfo server, PgBench.Result cdb, GatewayPhase single,
                 List<GatewayPhase> batches, GatewayPhase openLoop, LagPhase lag, RebuildPhase.Result rebuild,
                 LivePhase.Delivery live, LivePhase.Delivery liveMax, LivePhase.Idle liveIdle,
                 double singleMax, String checkpointRefused, List<GatewayPhase> ingestAlone, Floor floor,
                 List<QuietStorage.Wait> quietWaits) {

    GatewayPhase bestBatch() {
      return best(batches);
    }

    /** The best batch phase without projections, or null. */
    GatewayPhase bestBatchAlone() {
      return best(batchesAlone());
    }

    private List<GatewayPhase> batchesAlone() {
      return ingestAlone.stream().filter(a -> a.load().spec().eventsPerRequest() > 1).toList();
    }

    /** Whether {@code p} is the best of several batch phases, with projections or without. */
    boolean bestOfSeveralBatches(GatewayPhase p) {
      return (batches.size() > 1 && p == bestBatch()) || (batchesAlone().size() > 1 && p == bestBatchAlone());
    }

    private static GatewayPhase best(List<GatewayPhase> phases) {
      return phases.stream().max(Comparator.comparingDouble(p -> p.load().eventsPerSecond())).orElse(null);
    }

    /** The load phases that ran, in order. */
    List<GatewayPhase> gatewayPhases() {
      List<GatewayPhase> all = new ArrayList<>();
      if (single != null) {
        all.add(single);
      }
      all.addAll(batches);
      if (openLoop != null) {
        all.add(openLoop);
      }
      if (lag != null) {
        all.add(lag.phase());
      }
      all.addAll(ingestAlone);
      return all;
    }
  }

  private final Vertx vertx;
  private final BenchOptions options;
  private final BenchDatabases databases;
  private final LoadGenerator load;
  private final Timing timing;
  private final Path workDir;

  /** The phases' results as they come in. */
  private PgBench.Result cdb;
  private GatewayPhase single;
  private final List<GatewayPhase> batches = new ArrayList<>();
  /** The single-event and best-batch maxima again with no projection running: what ingest costs on its own. */
  private final List<GatewayPhase> ingestAlone = new ArrayList<>();
  private GatewayPhase openLoop;
  private LagPhase lag;
  private RebuildPhase.Result rebuild;
  private LivePhase.Delivery live;
  private LivePhase.Delivery liveMax;
  private LivePhase.Idle liveIdle;
  private Floor floor;

  BenchRun(Vertx vertx, BenchOptions options, BenchDatabases databases, LoadGenerator load, Path workDir) {
    this.vertx = vertx;
    this.options = options;
    this.databases = databases;
    this.load = load;
    this.timing = new Timing(options.warmup(), options.measure(), options.settleMax());
    this.workDir = workDir;
  }

  Future<Results> run() {
    return databases.serverInfo().compose(server -> phases(server)
        .map(v -> new Results(server, cdb, single, List.copyOf(batches), openLoop, lag, rebuild, live, liveMax,
            liveIdle, singleMax(), databases.checkpointRefused(), List.copyOf(ingestAlone), floor,
            databases.quietWaits())));
  }

  private Future<Void> phases(BenchDatabases.ServerInfo server) {
    long postmasterPid = server.postmasterPid();
    Future<Void> chain = Future.succeededFuture();
    if (options.runs(Phase.CDB)) {
      chain = chain.compose(v -> cdb(server)).map(r -> {
        cdb = r;
        return null;
      });
    } else {
      cdb = new PgBench.Result(List.of(), "not run (--only)");
    }
    if (options.runs(Phase.SINGLE)) {
      chain = chain.compose(v -> onFreshGateway(LoadSpec.closedLoop("single", SINGLE_CONNECTIONS, 1), postmasterPid))
          .map(p -> {
            single = p;
            return null;
          });
    }
    if (options.runs(Phase.BATCHES)) {
      for (int connections : batchConnections(options.smoke())) {
        LoadSpec batch = LoadSpec.closedLoop("batch" + BATCH_SIZE, connections, BATCH_SIZE);
        chain = chain.compose(v -> onFreshGateway(batch, postmasterPid)).map(p -> {
          batches.add(p);
          return null;
        });
      }
    }
    if ((options.runs(Phase.ALONE) || options.runs(Phase.ALONE_SINGLE)) && !options.smoke()) {
      List<LoadSpec> alones = new ArrayList<>(List.of(LoadSpec.closedLoop("single" + NO_PROJECTIONS,
          SINGLE_CONNECTIONS, 1)));
      for (int connections : options.runs(Phase.ALONE) ? batchConnections(false) : List.<Integer>of()) {
        alones.add(LoadSpec.closedLoop("batch" + BATCH_SIZE + NO_PROJECTIONS, connections, BATCH_SIZE));
      }
      for (LoadSpec alone : alones) {
        chain = chain.compose(v -> onFreshGateway(alone, postmasterPid)).map(p -> {
          ingestAlone.add(p);
          return null;
        });
      }
    }
    if (options.runs(Phase.FLOOR)) {
      chain = chain.compose(v -> floor(postmasterPid)).map(f -> {
        floor = f;
        return null;
      });
    }
    if (options.runs(Phase.OPEN)) {
      chain = chain.compose(v -> rate(OPEN_SHARE, "open loop"))
          .compose(rate -> onFreshGateway(LoadSpec.openLoop("open-half", SINGLE_CONNECTIONS, 1, rate), postmasterPid))
          .map(p -> {
            openLoop = p;
            return null;
          });
    }
    if (options.runs(Phase.LAG)) {
      chain = chain.compose(v -> rate(LAG_SHARE, "projection lag phase"))
          .compose(rate -> projectionsEnabled().map(rate))
          .compose(rate -> onFreshGateway(LoadSpec.openLoop(LAG_PHASE, SINGLE_CONNECTIONS, 1, rate), postmasterPid,
              true))
          .map(p -> {
            lag = p;
            return null;
          });
    }
    if (options.runs(Phase.REBUILD)) {
      chain = chain.compose(v -> new RebuildPhase(vertx, options, databases, postmasterPid, workDir).run())
          .map(r -> {
            rebuild = r;
            return null;
          });
    }
    LivePhase livePhase = new LivePhase(vertx, options, databases, load, postmasterPid, workDir);
    if (options.runs(Phase.LIVE)) {
      chain = chain.compose(v -> livePhase.latency()).map(d -> {
        live = d;
        return null;
      });
    }
    if (options.runs(Phase.LIVE_MAX)) {
      chain = chain.compose(v -> livePhase.maximum()).map(d -> {
        liveMax = d;
        return null;
      });
    }
    if (options.runs(Phase.LIVE_IDLE)) {
      chain = chain.compose(v -> livePhase.idle()).map(i -> {
        liveIdle = i;
        return null;
      });
    }
    return chain;
  }

  /** The connection counts the batch maxima try; the best counts. */
  static List<Integer> batchConnections(boolean smoke) {
    return smoke ? List.of(8) : List.of(8, 16, 32);
  }

  /** The single-event maximum the later phases refer to: measured in this run, else {@code --single-max}. */
  private double singleMax() {
    return single != null ? single.load().eventsPerSecond() : options.singleMax();
  }

  private Future<Double> rate(double share, String what) {
    double rate = singleMax() * share;
    if (!(rate >= 1)) {
      return Future.failedFuture(new IllegalStateException("the single-event phase acknowledged no events, so "
          + "there is no rate to run the " + what + " at"));
    }
    return Future.succeededFuture(rate);
  }

  /** The lag phase means nothing when the gateway would not run its projections. */
  private Future<Void> projectionsEnabled() {
    return GatewayUnderTest.projectionsConfig(vertx).compose(config -> config.enabled() ? Future.succeededFuture()
        : Future.failedFuture(new IllegalStateException("projections are disabled for the gateway "
            + "(FLIGHTDECK_PROJECTIONS_ENABLED?): there is no lag to sample")));
  }

  private Future<PgBench.Result> cdb(BenchDatabases.ServerInfo server) {
    if (options.pgbench() == null) {
      String why = PgBench.MISSING;
      System.out.println("C_db: skipped: " + why);
      return Future.succeededFuture(new PgBench.Result(List.of(), why));
    }
    List<Integer> clients = options.smoke() ? List.of(4) : List.of(2, 4, 8, 16, 32);
    System.out.println("C_db: pgbench " + PgBench.ROWS_PER_TRANSACTION + " rows/transaction, clients " + clients);
    return new PgBench(vertx, options.pgbench(), databases, server.postmasterPid(), timing, workDir)
        .run(clients)
        .onSuccess(r -> r.runs().forEach(run -> System.out.printf("  -c %d: %.0f rows/s%n", run.clients(),
            run.rowsPerSecond())));
  }

  /**
   * What an event costs at the least on these cores: the single-event load against the {@link FloorServer}, then
   * pgbench running the read models' bare writes and the scripts' own generation (see {@link Floor}).
   */
  private Future<Floor> floor(long postmasterPid) {
    LoadSpec spec = LoadSpec.closedLoop("floor", SINGLE_CONNECTIONS, 1);
    System.out.println("floor: single events, " + SINGLE_CONNECTIONS + " connections, closed loop, to a server that "
        + "answers without doing anything");
    Future<LoadResult> http = GatewayUnderTest.startFloor(vertx, options.jar(), workDir.resolve("floor-server.log"))
        .compose(server -> load.run(spec, server.port(), timing, new CpuProbe(0, server.pid(), postmasterPid))
            .eventually(server::stop))
        .onSuccess(l -> System.out.println("  " + BenchText.num("%.0f req/s", l.requestsPerSecond())
            + ", CPU load generator " + Report.cores(l.cpu().generator()) + ", floor server "
            + Report.cores(l.cpu().gateway()) + ", machine " + Report.cores(l.cpu().machine())));
    if (options.pgbench() == null) {
      return http.map(l -> new Floor(l, null, null, PgBench.MISSING));
    }
    PgBench pgbench = new PgBench(vertx, options.pgbench(), databases, postmasterPid, timing, workDir);
    return http.compose(l -> pgbench.runOnFreshDatabase("readmodels", PgBench.READ_MODELS, Floor.CLIENTS)
        .compose(models -> pgbench.runOnFreshDatabase("generation", PgBench.GENERATION, Floor.CLIENTS)
            .map(generation -> new Floor(l, models, generation, null))))
        .onSuccess(f -> System.out.println("  per event, us: HTTP " + BenchText.num("%.1f", f.httpMicros())
            + ", read models' bare writes " + BenchText.num("%.1f", f.readModelMicros()) + " (PostgreSQL, net of "
            + BenchText.num("%.1f", f.generationMicros()) + " for generating ids)"));
  }

  private Future<GatewayPhase> onFreshGateway(LoadSpec spec, long postmasterPid) {
    return onFreshGateway(spec, postmasterPid, false).map(LagPhase::phase);
  }

  /** One load phase on a fresh database and gateway; with {@code sampleLag} the projections' lag is sampled. */
  private Future<LagPhase> onFreshGateway(LoadSpec spec, long postmasterPid, boolean sampleLag) {
    String label = spec.name() + "_c" + spec.connections();
    System.out.println(describe(spec) + ": starting the gateway on a fresh database");
    Path log = workDir.resolve("gateway-" + label + ".log");
    return databases.createFresh(label).compose(url -> GatewayUnderTest
        .start(vertx, options.jar(), url, log,
            spec.name().endsWith(NO_PROJECTIONS) ? Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false") : Map.of())
        .compose(gateway -> measure(gateway, GatewayUnderTest.gcLogOf(log), url, spec, postmasterPid, sampleLag))
        .compose(phase -> databases.countEvents(url).map(stored -> {
          GatewayPhase p = phase.phase();
          return new LagPhase(new GatewayPhase(p.load(), stored, p.gatewayExit(), p.pgTime(), p.stalls()),
              phase.lag());
        }))
        .onSuccess(phase -> {
          System.out.println("  " + Report.summary(phase.phase()));
          System.out.println("  " + Report.pgTimeSummary(phase.phase()));
          System.out.println("  " + Report.stallsSummary(phase.phase()));
          if (phase.lag() != null) {
            System.out.println("  " + Report.lagSummary(phase.lag()));
          }
        })
        .eventually(() -> databases.drop(url)));
  }

  /**
   * Open loop only: {@link LivePhase#RAMP_SHARE} of the rate for one warm-up's length before the phase's own
   * warm-up, as in the live phase. A fresh gateway runs well below its warm maximum while it compiles (its first
   * 10 to 15 s on these two cores); at 70 % of the warm maximum from a cold start the backlog it built took the
   * whole window to drain, and the phase measured the cold start instead of the steady state.
   */
  private Future<LoadResult> ramp(GatewayUnderTest gateway, LoadSpec spec) {
    if (!spec.openLoop()) {
      return Future.succeededFuture(null);
    }
    LoadSpec ramp = LoadSpec.openLoop(spec.name() + "-ramp", spec.connections(), spec.eventsPerRequest(),
        spec.ratePerSecond() * LivePhase.RAMP_SHARE);
    return load.run(ramp, gateway.port(), new Timing(java.time.Duration.ZERO, timing.warmup()),
        new CpuProbe(0, 0, 0));
  }

  /**
   * Runs the load (and over its window the lag sampler, pg_stat_statements' account of PostgreSQL's time and the
   * stalls probe), then stops the gateway whatever happened, so no phase leaves one behind; the stalls read the
   * gateway's GC log ({@code gcLog}) once it stopped.
   */
  private Future<LagPhase> measure(GatewayUnderTest gateway, Path gcLog, String url, LoadSpec spec,
                                   long postmasterPid, boolean sampleLag) {
    CpuProbe probe = new CpuProbe(0, gateway.pid(), postmasterPid);
    Stalls stalls = new Stalls(workDir);
    Future<LagSampler> opened = sampleLag
        ? vertx.executeBlocking(() -> LagSampler.start(databases.open(url)), false)
        : Future.succeededFuture(null);
    Future<PgTime> timed = vertx.executeBlocking(() -> PgTime.open(databases.open(url)), false);
    Future<LagPhase> ran = Future.all(opened, timed).compose(all -> ramp(gateway, spec).compose(ramped -> {
      LagSampler sampler = opened.result();
      PgTime pgTime = timed.result();
      Future<LoadResult> loaded = load.run(spec, gateway.port(), timing, probe, t -> {
        pgTime.reset();
        stalls.begin();
        if (sampler != null) {
          sampler.open(t);
        }
      }, t -> {
        if (sampler != null) {
          sampler.close(t);
        }
        stalls.end();
        pgTime.read();
      });
      // the sampler stops with the load, failed or not, and before the gateway does
      Future<LagSampler.Result> sampled = sampler == null ? loaded.map((LagSampler.Result) null)
          : loaded.transform(done -> sampler.stop(vertx));
      // the ramp's acknowledged events and errors count with the phase's (its window is the phase's alone)
      return loaded.compose(l -> sampled.map(s -> new LagPhase(
          new GatewayPhase(l.afterRamp(ramped), -1, -1, pgTime.result(), null), s)));
    })).eventually(() -> timed.succeeded() ? vertx.executeBlocking(() -> {
      timed.result().close();
      return null;
    }, false) : Future.succeededFuture())
        // a phase that failed before its load ran (PgTime's connection, the ramp) stops the sampler here; after
        // the load it has stopped already, and stopping again only answers its result
        .eventually(() -> opened.succeeded() && opened.result() != null ? opened.result().stop(vertx)
            : Future.succeededFuture());
    return ran.transform(r -> gateway.stop().transform(stopped -> {
      Future<Stalls.Result> stalled = stalls.read(vertx, gcLog);
      if (r.failed()) {
        return Future.failedFuture(r.cause());
      }
      int exit = stopped.succeeded() ? stopped.result() : -1;
      GatewayPhase p = r.result().phase();
      return stalled.map(st -> new LagPhase(new GatewayPhase(p.load(), -1, exit, p.pgTime(), st),
          r.result().lag()));
    }));
  }

  /** A load spec named with this suffix runs against a gateway with projections.enabled=false. */
  static final String NO_PROJECTIONS = "-noproj";

  static String describe(LoadSpec spec) {
    String what = spec.eventsPerRequest() == 1 ? "single events" : spec.eventsPerRequest() + "-event batches";
    String loop = spec.openLoop() ? BenchText.num("open loop at %.0f req/s", spec.ratePerSecond()) : "closed loop";
    String lag = LAG_PHASE.equals(spec.name()) ? ", projection lag sampled" : "";
    String alone = spec.name().endsWith(NO_PROJECTIONS) ? ", no projections (ingest alone)" : "";
    return what + ", " + spec.connections() + " connections, " + loop + lag + alone;
  }
}
