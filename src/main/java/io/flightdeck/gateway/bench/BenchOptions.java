package io.flightdeck.gateway.bench;

import io.vertx.pgclient.PgConnectOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one benchmark run does, from the command line and the environment.
 *
 * @param out where the Markdown report goes; {@code null} writes none (the smoke run's default)
 * @param smoke very short phases that only check everything works; never judged against the targets
 * @param dbUrl the PostgreSQL server the fresh databases are created on (its database is only used to connect)
 * @param warmup run before each measured window and thrown away
 * @param measure the measured window of each phase
 * @param jar the gateway jar started as a subprocess
 * @param pgbench the pgbench binary, or {@code null} when none is installed
 * @param args the arguments as given, for the report's "exact command"
 */
public record BenchOptions(Path out, boolean smoke, String dbUrl, Duration warmup, Duration measure, Path jar,
                           Path pgbench, List<String> args) {

  static final String DEFAULT_DB_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
  static final String DEFAULT_JAR = "target/flightdeck-gateway.jar";
  static final String DB_URL_ENV = "FLIGHTDECK_BENCH_DB_URL";
  // the benchmark's premise is "PostgreSQL on the same host", and its CPU is read from this host's /proc
  private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1", "[::1]");

  static final String USAGE = """
      usage: BenchMain [--out FILE] [--smoke] [--db-url URL] [--duration SECONDS] [--warmup SECONDS] [--jar PATH]
        --out FILE          write the Markdown report there (the smoke run writes none unless given)
        --smoke             very short phases: checks that everything works, judges no target
        --db-url URL        server to create fresh databases on (env FLIGHTDECK_BENCH_DB_URL;
                            default postgresql://postgres@127.0.0.1:5432/postgres); must be on this host
        --duration SECONDS  measured window of each phase (default 15; smoke 2)
        --warmup SECONDS    warm-up before each window (default 10; smoke 1)
        --jar PATH          the gateway jar to start (default target/flightdeck-gateway.jar)
      """;

  /** Parses the arguments; throws {@link IllegalArgumentException} with a message fit for the user. */
  static BenchOptions parse(List<String> args, Map<String, String> env) {
    boolean smoke = args.contains("--smoke");
    Path out = null;
    String dbUrl = env.getOrDefault(DB_URL_ENV, DEFAULT_DB_URL);
    long measure = smoke ? 2 : 15;
    // a fresh gateway is still compiling its hot paths for its first ~15 s (measured p99 71 ms then, 7-9 ms after)
    long warmup = smoke ? 1 : 10;
    Path jar = Path.of(DEFAULT_JAR);
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      switch (flag) {
        case "--smoke" -> { }
        case "--out" -> out = Path.of(value(args, ++i, flag));
        case "--db-url" -> dbUrl = value(args, ++i, flag);
        case "--duration" -> measure = seconds(value(args, ++i, flag), flag, 1, 600);
        case "--warmup" -> warmup = seconds(value(args, ++i, flag), flag, 0, 120);
        case "--jar" -> jar = Path.of(value(args, ++i, flag));
        default -> throw new IllegalArgumentException("unknown argument " + flag);
      }
    }
    checkDbUrl(dbUrl);
    if (!Files.isReadable(jar)) {
      throw new IllegalArgumentException("no gateway jar at " + jar.toAbsolutePath() + " (build it, or pass --jar)");
    }
    return new BenchOptions(out, smoke, dbUrl, Duration.ofSeconds(warmup), Duration.ofSeconds(measure), jar,
        PgBench.locate(env).orElse(null), List.copyOf(args));
  }

  PgConnectOptions server() {
    return PgConnectOptions.fromUri(dbUrl);
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

  private static void checkDbUrl(String url) {
    PgConnectOptions o;
    try {
      o = PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("--db-url is not a postgresql:// URL: " + e.getMessage());
    }
    if (!LOOPBACK.contains(o.getHost())) {
      throw new IllegalArgumentException("--db-url must point at this host (127.0.0.1): the benchmark measures "
          + "PostgreSQL on the same machine and reads its CPU from /proc; got host " + o.getHost());
    }
  }
}
