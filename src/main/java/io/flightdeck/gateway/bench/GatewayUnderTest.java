package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.config.ConfigLoader;
import io.flightdeck.gateway.config.GatewayConfig;
import io.flightdeck.gateway.config.ProjectionsConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The gateway as an operator runs it: {@code java -Xmx1g -jar flightdeck-gateway.jar}, its own process, on a
 * fresh database and a free port on 127.0.0.1, with the shipped configuration except for the limits that would
 * otherwise cap the benchmark instead of the gateway (the demo site's rate limit, the append queue).
 */
final class GatewayUnderTest {

  static final String WRITE_KEY = "demo-write-key";
  static final String HEAP = "-Xmx1g";
  /** http.maxConnections and live.maxConnections for the benchmark (shipped: 10,000 each). */
  static final int MAX_CONNECTIONS = 12_000;

  /** Everything the benchmark changes from conf/gateway.yaml, as the report lists it. */
  static final Map<String, String> OVERRIDES = Map.of(
      "FLIGHTDECK_HTTP_HOST", "127.0.0.1",
      "FLIGHTDECK_SITES", "[{\"id\":\"demo\",\"writeKey\":\"" + WRITE_KEY + "\",\"allowedOrigins\":[\"*\"],"
          + "\"rateLimit\":{\"eventsPerSecond\":10000000,\"burst\":100000000}}]",
      "FLIGHTDECK_APPENDER_MAX_QUEUED_EVENTS", "1000000",
      // the idle live phase holds 10,000 SSE streams, next to the ready checks and the POSTs
      "FLIGHTDECK_HTTP_MAX_CONNECTIONS", Integer.toString(MAX_CONNECTIONS),
      "FLIGHTDECK_LIVE_MAX_CONNECTIONS", Integer.toString(MAX_CONNECTIONS));

  private static final long READY_TIMEOUT_MS = 90_000;
  private static final long STOP_TIMEOUT_MS = 20_000;

  private final Vertx vertx;
  private final Process process;
  private final int port;
  private final Path log;
  /** "the gateway", or what else this process is, for messages. */
  private final String what;

  private GatewayUnderTest(Vertx vertx, Process process, int port, Path log, String what) {
    this.vertx = vertx;
    this.process = process;
    this.port = port;
    this.log = log;
    this.what = what;
  }

  /** Starts the gateway on {@code dbUrl} and answers once {@code /health/ready} says 200. */
  static Future<GatewayUnderTest> start(Vertx vertx, Path jar, String dbUrl, Path logFile) {
    return start(vertx, jar, dbUrl, logFile, Map.of());
  }

  /** The same with further {@code FLIGHTDECK_*} settings for this one gateway (a variant of the shipped config). */
  static Future<GatewayUnderTest> start(Vertx vertx, Path jar, String dbUrl, Path logFile, Map<String, String> env) {
    return vertx.executeBlocking(() -> launchNow(vertx, jar, dbUrl, logFile, env), false)
        .compose(GatewayUnderTest::whenReady);
  }

  /** Starts the gateway process and answers at once, before it is ready (see {@link #whenReady()}). */
  static Future<GatewayUnderTest> launch(Vertx vertx, Path jar, String dbUrl, Path logFile) {
    return vertx.executeBlocking(() -> launchNow(vertx, jar, dbUrl, logFile, Map.of()), false);
  }

  /**
   * The {@link FloorServer} instead of the gateway, started the same way (same java, heap and GC log) and ready
   * once it answers {@code /health/ready}: it needs no database.
   */
  static Future<GatewayUnderTest> startFloor(Vertx vertx, Path jar, Path logFile) {
    return vertx.executeBlocking(() -> {
      requireJar(jar);
      int port = freePort();
      ProcessBuilder pb = new ProcessBuilder(javaCommand(logFile, "-cp", jar.toString(), FloorServer.class.getName(),
          Integer.toString(port)));
      return new GatewayUnderTest(vertx, pb.redirectErrorStream(true).redirectOutput(logFile.toFile()).start(), port,
          logFile, "the floor server");
    }, false).compose(GatewayUnderTest::whenReady);
  }

  /** Answers this gateway once {@code /health/ready} says 200; stops it when it never does. */
  Future<GatewayUnderTest> whenReady() {
    return awaitReady(System.currentTimeMillis() + READY_TIMEOUT_MS)
        .map(this)
        .recover(e -> stop().transform(v -> Future.<GatewayUnderTest>failedFuture(e)));
  }

  private static GatewayUnderTest launchNow(Vertx vertx, Path jar, String dbUrl, Path logFile,
                                             Map<String, String> variant) throws IOException {
    requireJar(jar);
    // the gateway reads what ConfigLoader finds here (it inherits this directory and environment); without a file
    // it runs on the defaults bundled in the jar, which are the shipped conf/gateway.yaml. Only a FLIGHTDECK_CONFIG
    // naming no file stops it, and better here, with the message, than as an exit 2 in the gateway's log.
    ConfigLoader.configPath(System.getenv());
    int port = freePort();
    ProcessBuilder pb = new ProcessBuilder(javaCommand(logFile, "-jar", jar.toString()))
        .redirectErrorStream(true)
        .redirectOutput(logFile.toFile());
    Map<String, String> env = pb.environment();
    env.putAll(OVERRIDES);
    env.put("FLIGHTDECK_DB_URL", dbUrl);
    env.put("FLIGHTDECK_HTTP_PORT", Integer.toString(port));
    env.putAll(variant);
    return new GatewayUnderTest(vertx, pb.start(), port, logFile, "the gateway");
  }

  private static void requireJar(Path jar) {
    if (!Files.isReadable(jar)) {
      throw new IllegalStateException("no gateway jar at " + jar.toAbsolutePath() + " (build it, or pass --jar)");
    }
  }

  /** Where a gateway (or floor server) logging to {@code logFile} writes its GC log. */
  static Path gcLogOf(Path logFile) {
    return logFile.resolveSibling(logFile.getFileName().toString().replaceFirst("\\.log$", "") + "-gc.log");
  }

  /** This JVM's java with the gateway's heap, a GC log beside {@code logFile}, then {@code args}. */
  private static List<String> javaCommand(Path logFile, String... args) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // GC pauses go to a file beside the log, with the wall-clock time each ended, so a latency outlier can be told
    // apart from a GC stall (Stalls counts those inside the window)
    String gcLog = "-Xlog:gc:file=" + gcLogOf(logFile).toAbsolutePath() + ":time";
    List<String> command = new ArrayList<>(List.of(java, HEAP, gcLog));
    command.addAll(List.of(args));
    return command;
  }

  /**
   * The projection settings a gateway started by this benchmark runs with: the file ConfigLoader finds (else the
   * bundled defaults) under the environment it passes on (so a FLIGHTDECK_PROJECTIONS_* variable set for the run
   * shows here too).
   */
  static Future<ProjectionsConfig> projectionsConfig(Vertx vertx) {
    return config(vertx).map(GatewayConfig::projections);
  }

  /** The read token of a gateway started by this benchmark (the live feed's subscribers send it). */
  static Future<String> readToken(Vertx vertx) {
    return config(vertx).map(GatewayConfig::readToken);
  }

  /** The configuration a gateway started by this benchmark runs with (its config file and the environment). */
  private static Future<GatewayConfig> config(Vertx vertx) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.putAll(OVERRIDES);
    return ConfigLoader.load(vertx, env);
  }

  /** Other FLIGHTDECK_* variables this process passes on to the gateway: they change what is measured. */
  static List<String> inheritedSettings() {
    Set<String> ours = Set.of("FLIGHTDECK_DB_URL", "FLIGHTDECK_HTTP_PORT", BenchOptions.DB_URL_ENV);
    return System.getenv().keySet().stream()
        .filter(k -> k.startsWith("FLIGHTDECK_") && !ours.contains(k) && !OVERRIDES.containsKey(k))
        .sorted()
        .toList();
  }

  /** A port free right now; the gateway binds it a moment later, which on a benchmark machine is safe enough. */
  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  private Future<Void> awaitReady(long deadline) {
    if (!process.isAlive()) {
      return Future.failedFuture(failure(what + " exited with " + process.exitValue() + " during start-up"));
    }
    if (System.currentTimeMillis() > deadline) {
      return Future.failedFuture(failure(what + " was not ready within " + READY_TIMEOUT_MS + " ms"));
    }
    return ready().compose(up -> up ? Future.succeededFuture()
        : vertx.timer(200).compose(v -> awaitReady(deadline)));
  }

  private Future<Boolean> ready() {
    HttpClient client = vertx.createHttpClient();
    RequestOptions get = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
        .setURI("/health/ready").setIdleTimeout(2000);
    return client.request(get)
        .compose(req -> req.send())
        .compose(resp -> resp.body().map(b -> resp.statusCode() == 200))
        .otherwise(false)
        .eventually(client::close);
  }

  /** SIGTERM, as an operator would stop it; answers its exit code (the contract says 0 within 10 s). */
  Future<Integer> stop() {
    if (!process.isAlive()) {
      return Future.succeededFuture(process.exitValue());
    }
    process.destroy();
    return Future.fromCompletionStage(process.onExit(), vertx.getOrCreateContext())
        .map(Process::exitValue)
        .timeout(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .recover(e -> {
          process.destroyForcibly();
          return Future.failedFuture(failure(what + " did not exit within " + STOP_TIMEOUT_MS + " ms of SIGTERM"));
        });
  }

  private IllegalStateException failure(String message) {
    return new IllegalStateException(message + "; its log (" + log + ") ends:\n" + tail());
  }

  private String tail() {
    try {
      return BenchText.tail(Files.readString(log), 2000);
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }
}
