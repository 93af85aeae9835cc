package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The benchmark's own PostgreSQL server on this host: a fresh cluster (initdb) in a temporary directory, started
 * with the settings of a write-heavy production server instead of the distribution's laptop defaults, and
 * removed afterwards. With 128 MB of shared buffers and 1 GB of WAL between checkpoints, the random-key indexes
 * every event lands in make backends write out dirty pages themselves and checkpoints come every few seconds;
 * on a host whose disk then stalls WAL fsyncs for up to a second and more, the benchmark measured the disk, not
 * the gateway. Durability is unchanged: fsync and synchronous_commit stay on. Where the distribution ships it,
 * pg_stat_statements is preloaded, so the report can say where PostgreSQL's time went ({@link PgTime}); it costs
 * every phase alike, C_db included.
 */
public final class BenchServer implements AutoCloseable {

  private static final long START_SECONDS = 60;

  private final Path bin;
  private final Path base;
  private final boolean asPostgres;
  private final int port;
  private final Path logCopy;
  private final List<String> settings;

  private BenchServer(Path bin, Path base, boolean asPostgres, int port, Path logCopy, List<String> settings) {
    this.settings = settings;
    this.bin = bin;
    this.base = base;
    this.asPostgres = asPostgres;
    this.port = port;
    this.logCopy = logCopy;
  }

  /** The settings it started with. */
  List<String> settings() {
    return settings;
  }

  /**
   * The settings to start with: a quarter of the memory for buffers (at most 4 GB), room for WAL, and
   * pg_stat_statements when the server has it.
   */
  static List<String> settingsFor(long memoryMb, boolean statements) {
    long buffersMb = Math.max(128, Math.min(4096, memoryMb / 4));
    List<String> settings = new ArrayList<>(List.of("shared_buffers=" + buffersMb + "MB", "max_wal_size=8GB",
        "min_wal_size=1GB", "checkpoint_timeout=15min", "max_connections=200",
        // times the WAL flushes in pg_stat_wal (two clock reads per flush), for the report's stalls
        "track_wal_io_timing=on"));
    if (statements) {
      settings.add("shared_preload_libraries=pg_stat_statements");
    }
    return List.copyOf(settings);
  }

  /** Whether the server whose programs are in {@code bin} ships pg_stat_statements (Debian's layout). */
  static boolean hasStatements(Path bin) {
    return Files.exists(bin.resolveSibling("lib").resolve("pg_stat_statements.so"));
  }

  /**
   * The newest installed PostgreSQL's server programs (Debian's layout), if initdb and pg_ctl are there (also for
   * tests that start a server of their own).
   */
  public static Optional<Path> binaries() {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions.map(v -> v.resolve("bin"))
          .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
          .max(Comparator.comparing(b -> versionOf(b.getParent())));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static int versionOf(Path dir) {
    try {
      return Integer.parseInt(dir.getFileName().toString());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /**
   * Creates and starts the server; as root, its files and processes belong to the postgres user (PostgreSQL
   * refuses to run as root). The server's log is copied to {@code workDir} when it stops.
   */
  static BenchServer start(Path bin, Path workDir, long memoryMb) throws IOException, InterruptedException {
    boolean asPostgres = "root".equals(System.getProperty("user.name"));
    Path base = Files.createTempDirectory("flightdeck-bench-pg-");
    if (asPostgres) {
      UserPrincipal postgres = base.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
      Files.setOwner(base, postgres);
    }
    BenchServer server = new BenchServer(bin, base, asPostgres, freePort(), workDir.resolve("postgres.log"),
        settingsFor(memoryMb, hasStatements(bin)));
    try {
      server.run(START_SECONDS, "initdb", "-D", server.data().toString(), "-U", "postgres", "--auth=trust",
          "--encoding=UTF8", "--locale=C.UTF-8");
      List<String> options = new ArrayList<>(List.of("-p " + server.port, "-c listen_addresses=127.0.0.1",
          "-c unix_socket_directories=" + base));
      server.settings.forEach(s -> options.add("-c " + s));
      server.run(START_SECONDS, "pg_ctl", "-D", server.data().toString(), "-l", server.log().toString(), "-w",
          "-t", Long.toString(START_SECONDS), "-o", String.join(" ", options), "start");
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  String url() {
    return "postgresql://postgres@127.0.0.1:" + port + "/postgres";
  }

  private Path data() {
    return base.resolve("data");
  }

  private Path log() {
    return base.resolve("server.log");
  }

  private void run(long timeoutSeconds, String program, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    if (asPostgres) {
      command.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    command.add(bin.resolve(program).toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(program + " did not finish in " + timeoutSeconds + " s");
    }
    if (p.exitValue() != 0) {
      throw new IOException(program + " exited with " + p.exitValue() + ": " + output.strip());
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Stops the server (fast shutdown: the benchmark's databases are disposable) and removes its files. */
  @Override
  public void close() {
    try {
      if (Files.exists(data().resolve("postmaster.pid"))) {
        run(START_SECONDS, "pg_ctl", "-D", data().toString(), "-m", "fast", "-w", "stop");
      }
    } catch (IOException | InterruptedException e) {
      System.err.println("bench: stopping the benchmark's PostgreSQL failed: " + e.getMessage());
    }
    try {
      if (Files.exists(log())) {
        Files.copy(log(), logCopy);
      }
      try (Stream<Path> all = Files.walk(base)) {
        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    } catch (IOException e) {
      System.err.println("bench: could not remove " + base + ": " + e.getMessage());
    }
  }
}
