package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.config.DbConfig;
import io.vertx.pgclient.PgConnectOptions;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What one benchmark run does, from the command line and the environment.
 *
 * @param out where the Markdown report goes; {@code null} writes none (the smoke run's default)
 * @param smoke very short phases that only check everything works; never judged against the targets
 * @param dbUrl the PostgreSQL server the fresh databases are created on (its database is only used to connect);
 *     null: none was given, and the benchmark starts a server of its own
 * @param warmup run before each measured window and thrown away
 * @param settleMax how much longer a gateway phase may warm up while the gateway's JIT compiler is still busy
 * @param measure the measured window of each phase
 * @param jar the gateway jar started as a subprocess
 * @param pgbench the pgbench binary, or {@code null} when none is installed
 * @param phases the phases to run: all of them, unless {@code --only} picked some (then no report is written)
 * @param rebuildEvents events the rebuild phase stores before the gateway replays them into every projection
 * @param singleMax the single-event maximum (events/s) the lag and rebuild phases refer to when the single-event
 *     phase does not run ({@code --single-max}); NaN when it runs (then its measurement is the reference)
 * @param args the arguments as given, for the report's "exact command"
 */
public record BenchOptions(Path out, boolean smoke, String dbUrl, Duration warmup, Duration settleMax, Duration measure,
                           Path jar,
                           Path pgbench, Set<Phase> phases, long rebuildEvents, double singleMax, List<String> args) {

  /** The phases, in the order they run. */
  enum Phase {
    CDB, SINGLE, BATCHES, ALONE, ALONE_SINGLE, FLOOR, OPEN, LAG, REBUILD, LIVE, LIVE_MAX, LIVE_IDLE;

    /** As {@code --only} spells it. */
    String cliName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  static final String DEFAULT_DB_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
  static final String DEFAULT_JAR = "target/flightdeck-gateway.jar";
  static final long DEFAULT_REBUILD_EVENTS = 1_000_000;
  static final long SMOKE_REBUILD_EVENTS = 20_000;
  static final String DB_URL_ENV = "FLIGHTDECK_BENCH_DB_URL";
  // the benchmark's premise is "PostgreSQL on the same host", and its CPU is read from this host's /proc
  private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1", "[::1]");

  static final String USAGE = """
      usage: BenchMain [--out FILE] [--smoke] [--db-url URL] [--duration SECONDS] [--warmup SECONDS] [--settle SECONDS]
                       [--jar PATH]
                       [--rebuild-events N] [--only PHASE,...] [--single-max EVENTS_PER_SECOND]
        --out FILE            write the Markdown report there (the smoke run writes none unless given)
        --smoke               very short phases: checks that everything works, judges no target
        --db-url URL          server to create fresh databases on (env FLIGHTDECK_BENCH_DB_URL); must be on
                              this host. Default: a server of the benchmark's own (initdb in a temporary
                              directory, production settings, removed afterwards) when PostgreSQL's server
                              programs are installed, else postgresql://postgres@127.0.0.1:5432/postgres
        --duration SECONDS    measured window of each phase (default 15; smoke 2)
        --warmup SECONDS      warm-up before each window (default 10; smoke 1)
        --settle SECONDS      at most this much more warm-up while the gateway's JIT compiler is still busy
                              (default 45; smoke 0)
        --jar PATH            the gateway jar to start (default: the jar this benchmark runs from, else
                              target/flightdeck-gateway.jar)
        --rebuild-events N    events stored for the rebuild phase (default 1000000; smoke 20000)
        --only PHASE,...      run only these of cdb, single, batches, alone (both maxima again without
                              projections), alone-single (only the single-event one of those), floor (what an
                              event costs at the least: HTTP to a server that does nothing, the read models'
                              bare writes), open, lag, rebuild, live, live-max, live-idle (for trying a phase
                              out: writes no report, so not with --out)
        --single-max N        with --only and without single: the single-event maximum (events/s) that the
                              open, lag and rebuild phases refer to (e.g. the last report's)
      """;

  /** Parses the arguments; throws {@link IllegalArgumentException} with a message fit for the user. */
  static BenchOptions parse(List<String> args, Map<String, String> env) {
    boolean smoke = args.contains("--smoke");
    Path out = null;
    String dbUrl = env.get(DB_URL_ENV);
    long measure = smoke ? 2 : 15;
    // a fresh gateway is still compiling its hot paths for its first ~15 s (measured p99 71 ms then, 7-9 ms after)
    long warmup = smoke ? 1 : 10;
    long settle = smoke ? 0 : 45;
    Path jar = null;
    long rebuildEvents = smoke ? SMOKE_REBUILD_EVENTS : DEFAULT_REBUILD_EVENTS;
    // alone covers alone-single, which is there to try the single-event maximum without projections by itself
    Set<Phase> phases = EnumSet.complementOf(EnumSet.of(Phase.ALONE_SINGLE));
    boolean only = false;
    double singleMax = Double.NaN;
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      switch (flag) {
        case "--smoke" -> { }
        case "--out" -> out = Path.of(value(args, ++i, flag));
        case "--db-url" -> dbUrl = value(args, ++i, flag);
        case "--duration" -> measure = seconds(value(args, ++i, flag), flag, 1, 600);
        case "--warmup" -> warmup = seconds(value(args, ++i, flag), flag, 0, 120);
        case "--settle" -> settle = seconds(value(args, ++i, flag), flag, 0, 300);
        case "--jar" -> jar = Path.of(value(args, ++i, flag));
        case "--rebuild-events" -> rebuildEvents = count(value(args, ++i, flag), flag, 1_000, 100_000_000);
        case "--only" -> {
          phases = phases(value(args, ++i, flag));
          only = true;
        }
        case "--single-max" -> singleMax = count(value(args, ++i, flag), flag, 1, 10_000_000);
        default -> throw new IllegalArgumentException("unknown argument " + flag);
      }
    }
    if (dbUrl != null) {
      checkDbUrl(dbUrl);
    }
    if (only && out != null) {
      throw new IllegalArgumentException("--only writes no report: the report needs every phase (drop --out)");
    }
    boolean needsSingleMax = phases.contains(Phase.OPEN) || phases.contains(Phase.LAG)
        || phases.contains(Phase.REBUILD);
    if (phases.contains(Phase.SINGLE) && !Double.isNaN(singleMax)) {
      throw new IllegalArgumentException("--single-max is for runs without the single phase, which measures it");
    }
    if (!phases.contains(Phase.SINGLE) && needsSingleMax && Double.isNaN(singleMax)) {
      throw new IllegalArgumentException("the open, lag and rebuild phases refer to the single-event maximum: "
          + "run the single phase too, or give it with --single-max");
    }
    if (jar == null) {
      jar = ownJar().orElse(Path.of(DEFAULT_JAR));
    }
    if (!Files.isReadable(jar)) {
      throw new IllegalArgumentException("no gateway jar at " + jar.toAbsolutePath() + " (build it, or pass --jar)");
    }
    return new BenchOptions(out, smoke, dbUrl, Duration.ofSeconds(warmup), Duration.ofSeconds(settle),
        Duration.ofSeconds(measure), jar,
        PgBench.locate(env).orElse(null), Set.copyOf(phases), rebuildEvents, singleMax, List.copyOf(args));
  }

  boolean runs(Phase phase) {
    return phases.contains(phase);
  }

  private static Set<Phase> phases(String list) {
    Set<Phase> picked = EnumSet.noneOf(Phase.class);
    for (String name : list.split(",")) {
      String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
      try {
        picked.add(Phase.valueOf(n));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--only: no phase '" + name.trim() + "' (" + String.join(", ",
            EnumSet.allOf(Phase.class).stream().map(Phase::cliName).toList()) + ")");
      }
    }
    return picked;
  }

  /**
   * The jar this class was loaded from (so {@code java -cp target-x/flightdeck-gateway.jar ...BenchMain} starts
   * the gateway from the same build), relative to the working directory when it lies below it.
   */
  private static Optional<Path> ownJar() {
    try {
      CodeSource source = BenchOptions.class.getProtectionDomain().getCodeSource();
      if (source == null) {
        return Optional.empty();
      }
      Path p = Path.of(source.getLocation().toURI());
      if (!Files.isRegularFile(p) || !p.getFileName().toString().endsWith(".jar")) {
        return Optional.empty();
      }
      Path cwd = Path.of("").toAbsolutePath();
      return Optional.of(p.startsWith(cwd) ? cwd.relativize(p) : p);
    } catch (URISyntaxException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** No server given: the benchmark starts its own (or, if it cannot, uses {@link #DEFAULT_DB_URL}). */
  boolean ownServer() {
    return dbUrl == null;
  }

  /** These options on the server at {@code url}. */
  BenchOptions onServer(String url) {
    return new BenchOptions(out, smoke, url, warmup, settleMax, measure, jar, pgbench, phases, rebuildEvents,
        singleMax, args);
  }

  PgConnectOptions server() {
    return PgConnectOptions.fromUri(dbUrl == null ? DEFAULT_DB_URL : dbUrl);
  }

  private static String value(List<String> args, int i, String flag) {
    if (i >= args.size()) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args.get(i);
  }

  private static long seconds(String raw, String flag, long min, long max) {
    try {
      long s = Long.parseLong(raw);
      if (s < min || s > max) {
        throw new IllegalArgumentException(flag + " must be " + min + " to " + max + " seconds");
      }
      return s;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a whole number of seconds, not '" + raw + "'");
    }
  }

  private static long count(String raw, String flag, long min, long max) {
    try {
      long n = Long.parseLong(raw.replace("_", ""));
      if (n < min || n > max) {
        throw new IllegalArgumentException(flag + " must be " + min + " to " + max);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a whole number, not '" + raw + "'");
    }
  }

  private static void checkDbUrl(String url) {
    PgConnectOptions o;
    try {
      o = PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) {
      // the parser's message quotes the URL whole, password and all; the options error goes to the terminal
      throw new IllegalArgumentException("--db-url is not a postgresql:// URL: "
          + DbConfig.parseProblem(e.getMessage(), url));
    }
    if (!LOOPBACK.contains(o.getHost())) {
      throw new IllegalArgumentException("--db-url must point at this host (127.0.0.1): the benchmark measures "
          + "PostgreSQL on the same machine and reads its CPU from /proc; got host " + o.getHost());
    }
  }
}
