package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.projection.model.PageKey;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
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
  /** Why C_db and the floor's PostgreSQL parts are missing when {@link #locate} finds nothing. */
  static final String MISSING = "pgbench is not installed (looked in /usr/bin, PATH and /usr/lib/postgresql/*/bin)";

  // the same row the gateway stores for a PageViewed from the load generator: data, metadata and their sizes
  static final String SCRIPT = """
      INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
      SELECT gen_random_uuid(), 'visitor-' || gen_random_uuid(), 1, 'PageViewed', 1,
             '{"pageId": "/docs/getting-started"}'::jsonb,
             '{"site": "demo", "userAgent": "%s", "clientIp": "127.0.0.0"}'::jsonb,
             now()
      FROM generate_series(1, %d);
      """.formatted(EventBodies.USER_AGENT, ROWS_PER_TRANSACTION);

  /**
   * The read models' own writes for {@value #ROWS_PER_TRANSACTION} new visitors, each with one PageViewed as the
   * load generator sends it, in one statement: what the projections must write for them at the least (one
   * transaction, no checkpoint, no reading of events): each visitor's visitor_activity row, its page_visitors row
   * and the page's page_stats row (the page-stats projection), and the minute's event_counts row. Ids and visitors
   * are generated as in {@link #SCRIPT}, so that {@link #GENERATION} takes both generations out alike. The page's
   * key is a constant the planner folds, as the gateway sends it computed. A new visitor's rows are inserted without
   * a conflict check, as the projections insert them for a visitor whose first event is in their batch.
   */
  static final String READ_MODELS = """
      WITH v AS (
        SELECT gen_random_uuid() AS id, 'visitor-' || gen_random_uuid() AS stream_id, g
        FROM generate_series(1, %1$d) g
      ),
      visitors AS (
        INSERT INTO visitor_activity AS a (stream_id, site, first_seen, last_seen, page_views, button_clicks,
                                           form_submissions, last_page, last_position, last_page_position)
        SELECT stream_id, 'demo', now(), now(), 1, 0, 0, '/docs/getting-started', g, g FROM v
      ),
      fresh AS (
        INSERT INTO page_visitors (site, page_id, page_key, day, stream_id)
        SELECT 'demo', '/docs/getting-started', %2$s, current_date, stream_id FROM v
        RETURNING 1
      ),
      pages AS (
        INSERT INTO page_stats AS p (site, page_id, page_key, day, views, unique_visitors)
        VALUES ('demo', '/docs/getting-started', %2$s, current_date, %1$d, (SELECT count(*) FROM fresh))
        ON CONFLICT (site, day, page_key) DO UPDATE SET views = p.views + EXCLUDED.views,
          unique_visitors = p.unique_visitors + EXCLUDED.unique_visitors
      )
      INSERT INTO event_counts AS c (minute, type, count)
      VALUES (date_trunc('minute', now()), 'PageViewed', (SELECT count(*) FROM v))
      ON CONFLICT (minute, type) DO UPDATE SET count = c.count + EXCLUDED.count;
      """.formatted(ROWS_PER_TRANSACTION,
          "decode('" + HexFormat.of().formatHex(PageKey.digest("/docs/getting-started")) + "', 'hex')");

  /** Only the generation of ids and visitors that {@link #SCRIPT} and {@link #READ_MODELS} do, per row. */
  static final String GENERATION = """
      SELECT max(gen_random_uuid()::text), max('visitor-' || gen_random_uuid()) FROM generate_series(1, %d);
      """.formatted(ROWS_PER_TRANSACTION);

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

  /** C_db: {@link #SCRIPT} at each client count. */
  Future<Result> run(List<Integer> clientCounts) {
    Future<List<Run>> runs = Future.succeededFuture(new ArrayList<>());
    for (int clients : clientCounts) {
      runs = runs.compose(done -> runOnFreshDatabase("cdb", SCRIPT, clients).map(run -> {
        done.add(run);
        return done;
      }));
    }
    return runs.map(done -> new Result(List.copyOf(done), null));
  }

  /**
   * Another script ({@code name}: a word for file and database names) on a fresh database of the gateway's
   * schema, timed like C_db.
   */
  Future<Run> runOnFreshDatabase(String name, String script, int clients) {
    return databases.createFresh(name + "_c" + clients).compose(url -> runOnce(name, script, clients,
        PgConnectOptions.fromUri(url)).eventually(() -> databases.drop(url)));
  }

  private Future<Run> runOnce(String name, String sql, int clients, PgConnectOptions db) {
    Process process;
    Path out = workDir.resolve("pgbench-" + name + "-c" + clients + ".out");
    Path err = workDir.resolve("pgbench-" + name + "-c" + clients + ".err");
    try {
      Path script = Files.writeString(workDir.resolve("pgbench-" + name + ".sql"), sql);
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
