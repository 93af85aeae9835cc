package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The benchmark's phases in order: C_db with pgbench, then the gateway under closed-loop single events, closed-
 * loop batches and open-loop single events at half the single-event maximum. Every phase gets a fresh database
 * (and every gateway phase a fresh gateway), so none inherits a table another phase grew, or its JIT state.
 */
final class BenchRun {

  static final int SINGLE_CONNECTIONS = 64;
  static final int BATCH_SIZE = 50;

  /** A gateway phase: the load's figures, the events the store holds afterwards, the gateway's exit code. */
  record GatewayPhase(LoadResult load, long storedEvents, int gatewayExit) {
  }

  /** Everything the report needs from the phases. */
  record Results(BenchDatabases.ServerInfo server, PgBench.Result cdb, GatewayPhase single,
                 List<GatewayPhase> batches, GatewayPhase openLoop, String checkpointRefused) {

    GatewayPhase bestBatch() {
      return batches.stream().max(Comparator.comparingDouble(p -> p.load().eventsPerSecond())).orElseThrow();
    }

    List<GatewayPhase> gatewayPhases() {
      List<GatewayPhase> all = new ArrayList<>(List.of(single));
      all.addAll(batches);
      all.add(openLoop);
      return all;
    }
  }

  private final Vertx vertx;
  private final BenchOptions options;
  private final BenchDatabases databases;
  private final LoadGenerator load;
  private final Timing timing;
  private final Path workDir;

  BenchRun(Vertx vertx, BenchOptions options, BenchDatabases databases, LoadGenerator load, Path workDir) {
    this.vertx = vertx;
    this.options = options;
    this.databases = databases;
    this.load = load;
    this.timing = new Timing(options.warmup(), options.measure());
    this.workDir = workDir;
  }

  Future<Results> run() {
    return databases.serverInfo().compose(server -> cdb(server)
        .compose(cdb -> gatewayPhases(server.postmasterPid())
            .map(phases -> new Results(server, cdb, phases.get(0), List.copyOf(phases.subList(1, phases.size() - 1)),
                phases.get(phases.size() - 1), databases.checkpointRefused()))));
  }

  private Future<PgBench.Result> cdb(BenchDatabases.ServerInfo server) {
    if (options.pgbench() == null) {
      String why = "pgbench is not installed (looked in /usr/bin, PATH and /usr/lib/postgresql/*/bin)";
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

  /** Single events, the batches, then the open loop whose rate depends on the single-event maximum. */
  private Future<List<GatewayPhase>> gatewayPhases(long postmasterPid) {
    List<GatewayPhase> done = new ArrayList<>();
    Future<Void> chain = onFreshGateway(LoadSpec.closedLoop("single", SINGLE_CONNECTIONS, 1), postmasterPid)
        .map(p -> add(done, p));
    for (int connections : options.smoke() ? List.of(8) : List.of(8, 16, 32)) {
      LoadSpec batch = LoadSpec.closedLoop("batch" + BATCH_SIZE, connections, BATCH_SIZE);
      chain = chain.compose(v -> onFreshGateway(batch, postmasterPid)).map(p -> add(done, p));
    }
    return chain.compose(v -> {
      double half = done.get(0).load().eventsPerSecond() / 2;
      if (!(half >= 1)) {
        return Future.failedFuture(new IllegalStateException(
            "the single-event phase acknowledged no events, so there is no half load to run the open loop at"));
      }
      return onFreshGateway(LoadSpec.openLoop("open-half", SINGLE_CONNECTIONS, 1, half), postmasterPid);
    }).map(p -> {
      add(done, p);
      return done;
    });
  }

  private static Void add(List<GatewayPhase> done, GatewayPhase phase) {
    done.add(phase);
    return null;
  }

  private Future<GatewayPhase> onFreshGateway(LoadSpec spec, long postmasterPid) {
    String label = spec.name() + "_c" + spec.connections();
    System.out.println(describe(spec) + ": starting the gateway on a fresh database");
    return databases.createFresh(label).compose(url -> GatewayUnderTest
        .start(vertx, options.jar(), url, workDir.resolve("gateway-" + label + ".log"))
        .compose(gateway -> measure(gateway, spec, postmasterPid))
        .compose(phase -> databases.countEvents(url).map(stored ->
            new GatewayPhase(phase.load(), stored, phase.gatewayExit())))
        .onSuccess(phase -> System.out.println("  " + Report.summary(phase)))
        .eventually(() -> databases.drop(url)));
  }

  /** Runs the load, then stops the gateway whatever happened, so no phase leaves one behind. */
  private Future<GatewayPhase> measure(GatewayUnderTest gateway, LoadSpec spec, long postmasterPid) {
    CpuProbe probe = new CpuProbe(0, gateway.pid(), postmasterPid);
    return load.run(spec, gateway.port(), timing, probe).transform(ran -> gateway.stop().transform(stopped -> {
      if (ran.failed()) {
        return Future.failedFuture(ran.cause());
      }
      int exit = stopped.succeeded() ? stopped.result() : -1;
      return Future.succeededFuture(new GatewayPhase(ran.result(), -1, exit));
    }));
  }

  static String describe(LoadSpec spec) {
    String what = spec.eventsPerRequest() == 1 ? "single events" : spec.eventsPerRequest() + "-event batches";
    String loop = spec.openLoop() ? BenchText.num("open loop at %.0f req/s", spec.ratePerSecond()) : "closed loop";
    return what + ", " + spec.connections() + " connections, " + loop;
  }
}
