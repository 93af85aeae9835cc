package io.flightdeck.gateway.bench;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What these cores allow: the least CPU one event costs under each throughput target, measured in the same run,
 * so the report can say how much of a target's CPU budget is left for the gateway's own work. Three parts, each
 * measured alone:
 * <ul>
 *   <li>HTTP: the {@link FloorServer} answering the single-event phase's POSTs (same load generator, connections
 *       and requests), its CPU and the load generator's per request;</li>
 *   <li>the append: C_db's PostgreSQL CPU per row (the targets' own yardstick), at its cheapest client count;</li>
 *   <li>the read models: PostgreSQL's CPU per event for the projections' bare writes ({@link PgBench#READ_MODELS}).
 *   </li>
 * </ul>
 * Both PostgreSQL parts are net of generating the ids and visitors their scripts make up
 * ({@link PgBench#GENERATION}), which the gateway gets from its clients instead.
 *
 * @param http the floor server under the single-event load
 * @param readModels pgbench running {@link PgBench#READ_MODELS}, or null when pgbench is missing (then
 *     {@code skipped} says so)
 * @param generation pgbench running {@link PgBench#GENERATION}, or null likewise
 */
record Floor(LoadResult http, PgBench.Run readModels, PgBench.Run generation, String skipped) {

  static final int CLIENTS = 1;

  /** The load generator's and the floor server's CPU per request, in microseconds. */
  double httpMicros() {
    return micros(http.cpu().generator() + http.cpu().gateway(), http.requestsPerSecond());
  }

  /** PostgreSQL's CPU per row for generating what the pgbench scripts make up. */
  double generationMicros() {
    return perRow(generation);
  }

  /** C_db's client count whose PostgreSQL CPU per row was the least. */
  static Optional<PgBench.Run> cheapest(PgBench.Result cdb) {
    return cdb.runs().stream().filter(run -> !Double.isNaN(perRow(run)))
        .min(Comparator.comparingDouble(Floor::perRow));
  }

  /** C_db's PostgreSQL CPU per row at its cheapest client count, net of the generation. */
  double appendMicros(PgBench.Result cdb) {
    return cheapest(cdb).map(Floor::perRow).orElse(Double.NaN) - generationMicros();
  }

  /** PostgreSQL's CPU per event for the read models' bare writes, net of the generation. */
  double readModelMicros() {
    return perRow(readModels) - generationMicros();
  }

  private static double perRow(PgBench.Run run) {
    return run == null ? Double.NaN : micros(run.cpu().postgres(), run.rowsPerSecond());
  }

  private static double micros(double cores, double perSecond) {
    return perSecond > 0 ? cores * 1e6 / perSecond : Double.NaN;
  }

  /**
   * One throughput target against the floor.
   *
   * @param shape what the target is about, as the report names it
   * @param goalPerSecond events/s the target asks for
   * @param parts the floor's parts that apply, in microseconds, by name
   * @param measuredMicros the machine's CPU per event at the measured maximum (all processes)
   */
  record Bound(String shape, double goalPerSecond, List<Part> parts, double measuredMicros) {

    record Part(String name, double micros) {
    }

    /** All the cores, spread over the goal's events. */
    double allowedMicros(int cores) {
      return micros(cores, goalPerSecond);
    }

    double floorMicros() {
      return parts.stream().mapToDouble(Part::micros).sum();
    }

    /** What the goal leaves per event for the gateway's own work and PostgreSQL's beyond the bare statements. */
    double leftMicros(int cores) {
      return allowedMicros(cores) - floorMicros();
    }

    /** Events/s these cores could take if an event cost exactly the floor. */
    double ceilingPerSecond(int cores) {
      return cores * 1e6 / floorMicros();
    }
  }

  /** The four throughput targets: with projections (as shipped) and ingest alone, single events and batches. */
  List<Bound> bounds(BenchRun.Results r, double singleGoal, double batchGoal) {
    double cdb = r.cdb().rowsPerSecond();
    Bound.Part http = new Bound.Part("HTTP", httpMicros());
    Bound.Part append = new Bound.Part("append", appendMicros(r.cdb()));
    Bound.Part models = new Bound.Part("read models", readModelMicros());
    BenchRun.GatewayPhase aloneSingle = r.ingestAlone().stream()
        .filter(p -> p.load().spec().eventsPerRequest() == 1).findFirst().orElse(null);
    return List.of(
        new Bound("single events, with projections", singleGoal * cdb, List.of(http, append, models),
            machineMicros(r.single())),
        new Bound(BenchRun.BATCH_SIZE + "-event batches, with projections", batchGoal * cdb,
            List.of(append, models), machineMicros(r.bestBatch())),
        new Bound("single events, ingest alone", singleGoal * cdb, List.of(http, append),
            machineMicros(aloneSingle)),
        new Bound(BenchRun.BATCH_SIZE + "-event batches, ingest alone", batchGoal * cdb, List.of(append),
            machineMicros(r.bestBatchAlone())));
  }

  private static double machineMicros(BenchRun.GatewayPhase p) {
    return p == null ? Double.NaN : micros(p.load().cpu().machine(), p.load().eventsPerSecond());
  }
}
