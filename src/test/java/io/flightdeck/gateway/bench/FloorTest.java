package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The floor's arithmetic: CPU per event from cores and rates, and what a goal leaves of it. */
class FloorTest {

  private static final double EPS = 1e-9;

  private static CpuProbe.Usage cpu(double generator, double server, double postgres) {
    return new CpuProbe.Usage(generator, server, postgres, generator + server + postgres, 0, 10);
  }

  private static PgBench.Run run(int clients, double rowsPerSecond, double postgresCores) {
    return new PgBench.Run(clients, rowsPerSecond / PgBench.ROWS_PER_TRANSACTION, 0, cpu(0.01, 0, postgresCores));
  }

  private static LoadResult load(LoadSpec spec, double seconds, long requests, CpuProbe.Usage cpu) {
    long events = requests * spec.eventsPerRequest();
    return new LoadResult(spec, seconds, requests, events, events, Map.of(), Map.of(), new Histogram(3), 0, 0, 0,
        cpu);
  }

  @Test
  @DisplayName("HTTP counts the load generator and the server; PostgreSQL's parts are net of the generation")
  void parts() {
    // 50,000 req/s on 0.5 + 1.0 cores: 30 us per request
    LoadResult http = load(LoadSpec.closedLoop("floor", 64, 1), 10, 500_000, cpu(0.5, 1.0, 0));
    // generation: 0.5 cores for 100,000 rows/s = 5 us; read models: 1.0 core for 40,000 rows/s = 25 us
    Floor f = new Floor(http, run(1, 40_000, 1.0), run(1, 100_000, 0.5), null);
    assertEquals(30, f.httpMicros(), EPS);
    assertEquals(5, f.generationMicros(), EPS);
    assertEquals(20, f.readModelMicros(), EPS);
    // C_db: the cheapest client count per row counts (20 us at -c 16 against 25 us at -c 2), then less 5
    PgBench.Result cdb = new PgBench.Result(List.of(run(2, 40_000, 1.0), run(16, 50_000, 1.0)), null);
    assertEquals(15, f.appendMicros(cdb), EPS);
  }

  @Test
  @DisplayName("a goal allows all the cores over its events; the floor's parts take their share of it")
  void bound() {
    Floor.Bound b = new Floor.Bound("single", 25_000, List.of(new Floor.Bound.Part("HTTP", 30),
        new Floor.Bound.Part("append", 15), new Floor.Bound.Part("read models", 20)), 110);
    assertEquals(80, b.allowedMicros(2), EPS);
    assertEquals(65, b.floorMicros(), EPS);
    assertEquals(15, b.leftMicros(2), EPS);
    assertEquals(2e6 / 65, b.ceilingPerSecond(2), EPS);
  }
}
