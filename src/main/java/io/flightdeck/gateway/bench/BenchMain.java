package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.store.DatabaseBootstrap;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.LoggerFactory;

/**
 * {@code make bench} and {@code make bench-smoke}: measures C_db with pgbench, then the gateway (started as its
 * own process on fresh databases) under closed- and open-loop load, its projections' lag under load and their
 * rebuild rate over a large store, its live feed (SSE delivery latency and maximum to 1,000 subscribers, memory
 * with 10,000 idle streams), and writes docs/BENCHMARKS.md. Exit code 0
 * when every phase worked (targets are reported, never enforced), 1 when one did not, 2 for bad arguments.
 */
public final class BenchMain {

  /** Upper bound for the whole run, far above what the phases' own timeouts allow. */
  private static final long PHASES = 15;
  private static final long PER_PHASE_OVERHEAD_SECONDS = 180;
  private static final long CHILD_EXIT_SECONDS = 12;

  private BenchMain() {
  }

  public static void main(String[] args) throws IOException {
    if (List.of(args).contains("--help")) {
      System.out.print(BenchOptions.USAGE);
      return;
    }
    BenchOptions options;
    try {
      options = BenchOptions.parse(List.of(args), System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.print(BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    quietStartupLogs();
    System.exit(run(options));
  }

  /** Each phase migrates a fresh database; the bootstrap's per-database INFO lines would bury the progress. */
  private static void quietStartupLogs() {
    if (LoggerFactory.getLogger(DatabaseBootstrap.class) instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(ch.qos.logback.classic.Level.WARN);
    }
  }

  private static int run(BenchOptions given) throws IOException {
    MachineInfo machine = MachineInfo.collect();
    Path workDir = Files.createTempDirectory("flightdeck-bench-");
    System.out.println((given.smoke() ? "smoke run" : "benchmark") + "; gateway and pgbench logs in " + workDir);
    BenchServer own = given.ownServer() ? ownServer(workDir, machine) : null;
    if (own == null) {
      return run(given, machine, workDir, "the server at " + given.server().getHost() + ":"
          + given.server().getPort() + ", as configured");
    }
    // on Ctrl-C too: a server left running would hold its port, memory and files
    Thread stopServer = new Thread(own::close, "flightdeck-bench-postgres");
    Runtime.getRuntime().addShutdownHook(stopServer);
    try {
      return run(given.onServer(own.url()), machine, workDir, "the benchmark's own server, initdb'd for this run");
    } finally {
      Runtime.getRuntime().removeShutdownHook(stopServer);
      own.close();
    }
  }

  /** A server of the run's own, or null (then the default URL's server) when PostgreSQL's programs are missing. */
  private static BenchServer ownServer(Path workDir, MachineInfo machine) {
    Optional<Path> bin = BenchServer.binaries();
    if (bin.isEmpty()) {
      System.out.println("no PostgreSQL server programs under /usr/lib/postgresql: using the server at "
          + BenchOptions.DEFAULT_DB_URL + " as it is configured");
      return null;
    }
    try {
      BenchServer server = BenchServer.start(bin.get(), workDir, machine.memoryMb());
      System.out.println("PostgreSQL: the benchmark's own server at " + server.url() + " ("
          + String.join(", ", server.settings()) + ")");
      return server;
    } catch (IOException e) {
      System.out.println("cannot start a PostgreSQL server of the benchmark's own (" + e.getMessage()
          + "): using the server at " + BenchOptions.DEFAULT_DB_URL + " as it is configured");
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int run(BenchOptions options, MachineInfo machine, Path workDir, String server) throws IOException {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(LoadGenerator.EVENT_LOOPS)
        .setPreferNativeTransport(true));
    BenchDatabases databases = new BenchDatabases(vertx, options.server(),
        new QuietStorage(workDir, QuietStorage.limit(options.smoke())));
    Thread cleanup = new Thread(() -> cleanUp(databases), "flightdeck-bench-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    Instant started = Instant.now();
    long limitSeconds = PHASES * (options.warmup().plus(options.measure()).plus(options.settleMax()).toSeconds()
        + PER_PHASE_OVERHEAD_SECONDS)
        + RebuildPhase.timeoutSeconds(options.rebuildEvents()) + options.rebuildEvents() / 1000;
    try {
      BenchRun.Results results = await(vertx, limitSeconds, () -> new BenchRun(vertx, options, databases,
          new LoadGenerator(vertx, LoadGenerator.EVENT_LOOPS), workDir).run().eventually(databases::dropAll));
      Report.Context ctx = new Report.Context(options, machine, started,
          Duration.between(started, Instant.now()), command(options), server);
      return finish(options, ctx, results);
    } catch (RuntimeException e) {
      System.err.println("bench failed: " + e.getMessage());
      cleanUp(databases);
      return 1;
    } finally {
      Runtime.getRuntime().removeShutdownHook(cleanup);
      vertx.close();
    }
  }

  private static int finish(BenchOptions options, Report.Context ctx, BenchRun.Results results) throws IOException {
    if (options.out() != null) {
      Path out = options.out().toAbsolutePath();
      Files.createDirectories(out.getParent());
      Files.writeString(out, Report.markdown(ctx, results));
      System.out.println("wrote " + options.out());
    }
    if (!options.smoke()) {
      Verdict.targets(results).forEach(t ->
          System.out.println("target " + t.name() + ": " + t.measured() + " (goal " + t.goal() + ") " + t.result()));
    }
    List<String> problems = Verdict.problems(results, options.smoke());
    problems.forEach(p -> System.err.println("problem: " + p));
    System.out.println(problems.isEmpty() ? "all phases worked" : problems.size() + " problem(s)");
    return problems.isEmpty() ? 0 : 1;
  }

  /** Runs the asynchronous work on one Vert.x context, so its callbacks never race, and waits for it here. */
  private static <T> T await(Vertx vertx, long limitSeconds, Supplier<Future<T>> work) {
    Promise<T> done = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> work.get().onComplete(done));
    try {
      return done.future().toCompletionStage().toCompletableFuture().get(limitSeconds, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.getCause() == null ? String.valueOf(e) : e.getCause().getMessage(), e);
    }
  }

  /** After a failure or on Ctrl-C: stop the gateway or pgbench this run started, and drop its databases. */
  private static void cleanUp(BenchDatabases databases) {
    List<ProcessHandle> children = ProcessHandle.current().children().toList();
    children.forEach(ProcessHandle::destroy);
    for (ProcessHandle child : children) {
      try {
        // let the gateway drain before its database goes away under it
        child.onExit().get(CHILD_EXIT_SECONDS, TimeUnit.SECONDS);
      } catch (Exception e) {
        child.destroyForcibly();
      }
    }
    try {
      databases.dropAllNow();
    } catch (Exception e) {
      System.err.println("could not drop the benchmark's databases: " + e.getMessage());
    }
  }

  /** The command as it was typed, for the report. */
  private static String command(BenchOptions options) {
    return ProcessHandle.current().info().arguments()
        .map(a -> "java " + String.join(" ", a))
        .orElse("java -cp " + options.jar() + " " + BenchMain.class.getName() + " "
            + String.join(" ", options.args()));
  }
}
