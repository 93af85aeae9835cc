package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * C_db, PostgreSQL's own ceiling for this table: pgbench inserting {@value #ROWS_PER_TRANSACTION} distinct
 * rows shaped like a real event per transaction, with the table's triggers (and so its advisory lock), on a
 * fresh database per client count. The best client count wins.
 */
final class PgBench {

  static final int ROWS_PER_TRANSACTION = 100;

  // the same row the gateway stores for a PageViewed from the load generator: data, metadata and their sizes
  static final String SCRIPT = """
      INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
      SELECT gen_random_uuid(), 'visitor-' || gen_random_uuid(), 1, 'PageViewed', 1,
             '{"pageId": "/docs/getting-started"}'::jsonb,
             '{"site": "demo", "userAgent": "%s", "clientIp": "127.0.0.0"}'::jsonb,
             now()
      FROM generate_series(1, %d);
      """.formatted(EventBodies.USER_AGENT, ROWS_PER_TRANSACTION);

  /** One client count: transactions/s over the measured window, failures, and who used the CPU. */
  record Run(int clients, double transactionsPerSecond, long failed, CpuProbe.Usage cpu) {
    double rowsPerSecond() {
      return transactionsPerSecond * ROWS_PER_TRANSACTION;
    }
  }

  /** Every client count tried; {@code skipped} says why there are none. */
  record Result(List<Run> runs, String skipped) {
    Optional<Run> best() {
      return runs.stream().max(Comparator.comparingDouble(Run::transactionsPerSecond));
    }

    double rowsPerSecond() {
      return best().map(Run::rowsPerSecond).orElse(Double.NaN);
    }
  }

  private final Vertx vertx;
  private final Path binary;
  private final BenchDatabases databases;
  private final long postmasterPid;
  private final Timing timing;
  private final Path workDir;

  PgBench(Vertx vertx, Path binary, BenchDatabases databases, long postmasterPid, Timing timing,
          Path workDir) {
    this.vertx = vertx;
    this.binary = binary;
    this.databases = databases;
    this.postmasterPid = postmasterPid;
    this.timing = timing;
    this.workDir = workDir;
  }

  /** /usr/bin/pgbench, else the first on PATH, else the newest Debian cluster's. */
  static Optional<Path> locate(Map<String, String> env) {
    List<Path> candidates = new ArrayList<>(List.of(Path.of("/usr/bin/pgbench")));
    for (String dir : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
      candidates.add(Path.of(dir.isEmpty() ? "." : dir, "pgbench"));
    }
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      versions.sorted(Comparator.reverseOrder()).forEach(v -> candidates.add(v.resolve("bin/pgbench")));
    } catch (IOException e) {
      // no Debian layout
    }
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  Future<Result> run(List<Integer> clientCounts) {
    Future<List<Run>> runs = Future.succeededFuture(new ArrayList<>());
    for (int clients : clientCounts) {
      runs = runs.compose(done -> runOnFreshDatabase(clients).map(run -> {
        done.add(run);
        return done;
      }));
    }
    return runs.map(done -> new Result(List.copyOf(done), null));
  }

  private Future<Run> runOnFreshDatabase(int clients) {
    return databases.createFresh("cdb_c" + clients)
        .compose(url -> runOnce(clients, PgConnectOptions.fromUri(url)).eventually(() -> databases.drop(url)));
  }

  private Future<Run> runOnce(int clients, PgConnectOptions db) {
    Process process;
    Path out = workDir.resolve("pgbench-c" + clients + ".out");
    Path err = workDir.resolve("pgbench-c" + clients + ".err");
    try {
      Path script = Files.writeString(workDir.resolve("cdb-insert.sql"), SCRIPT);
      process = command(clients, db, script).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    } catch (IOException e) {
      return Future.failedFuture(new IllegalStateException("cannot start " + binary + ": " + e.getMessage(), e));
    }
    CpuProbe probe = new CpuProbe(process.pid(), 0, postmasterPid);
    long limitSeconds = timing.totalSeconds() + 60;
    Future<Integer> exit = Future.fromCompletionStage(process.onExit(), vertx.getOrCreateContext())
        .map(Process::exitValue);
    return PhaseClock.run(vertx, timing, probe, start -> { }, end -> { })
        .compose(cpu -> exit.timeout(limitSeconds, TimeUnit.SECONDS)
            .recover(e -> Future.failedFuture(killed(process, e)))
            .compose(code -> vertx.executeBlocking(() -> parse(clients, code, out, err, cpu), false)));
  }

  private ProcessBuilder command(int clients, PgConnectOptions db, Path script) {
    ProcessBuilder pb = new ProcessBuilder(binary.toString(), "-n", "-M", "prepared", "-f", script.toString(),
        "-c", Integer.toString(clients), "-j", Integer.toString(Math.min(2, clients)),
        // one second past the window, so the window closes while pgbench is still at full load
        "-T", Long.toString(timing.totalSeconds() + 1), "-P", "1",
        "-h", db.getHost(), "-p", Integer.toString(db.getPort()), "-U", db.getUser(), db.getDatabase());
    if (db.getPassword() != null) {
      pb.environment().put("PGPASSWORD", db.getPassword());
    }
    pb.environment().put("PGAPPNAME", "flightdeck-bench-pgbench");
    return pb;
  }

  private static Throwable killed(Process process, Throwable cause) {
    process.destroyForcibly();
    return new IllegalStateException("pgbench did not finish in time; killed", cause);
  }

  private Run parse(int clients, int exitCode, Path out, Path err, CpuProbe.Usage cpu) throws IOException {
    String stdout = Files.readString(out);
    String stderr = Files.readString(err);
    if (exitCode != 0) {
      throw new IllegalStateException("pgbench -c " + clients + " exited with " + exitCode + ": "
          + BenchText.tail(stderr + stdout, 800));
    }
    double tps = PgBenchOutput.windowTps(stderr, timing.warmup(), timing.measure())
        .orElseGet(() -> PgBenchOutput.summaryTps(stdout));
    return new Run(clients, tps, PgBenchOutput.failed(stdout), cpu);
  }
}
