package io.flightdeck.gateway;

import ch.qos.logback.classic.LoggerContext;
import io.flightdeck.gateway.config.ConfigException;
import io.flightdeck.gateway.config.ConfigLoader;
import io.flightdeck.gateway.config.GatewayConfig;
import io.flightdeck.gateway.metrics.MeteredVertx;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: load and validate the configuration (exit 2 when bad), start the gateway (exit 1 when the store
 * cannot be prepared, exit 2 when start-up finds a configuration error only a server could show: a server certificate
 * that db.url's CA or host name refuses), and on SIGTERM or SIGINT drain and exit 0 within 10 seconds.
 */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);
  /**
   * The contract allows 10 s from SIGTERM to exit; the margin is for the JVM itself on a busy machine (with a drain
   * that never finished, 9.5 s here gave exits 9.9 s after SIGTERM on 2 shared cores).
   */
  private static final long SHUTDOWN_BUDGET_MS = 8_500;
  /** Set once SIGTERM/SIGINT arrived: a start-up that fails from then on was stopped, not failed. */
  private static final AtomicBoolean STOPPING = new AtomicBoolean();
  /** Vert.x once created, and the gateway's start once begun: what the shutdown hook stops. */
  private static final AtomicReference<Vertx> VERTX = new AtomicReference<>();
  private static final AtomicReference<CompletableFuture<Gateway>> STARTING = new AtomicReference<>();

  private Main() {
  }

  public static void main(String[] args) {
    // first of all, so that SIGTERM exits 0 from here on, also while Vert.x is created and the configuration read
    // (the hook used to be installed only once the gateway was starting: SIGTERM in the process's first 1.5 s or
    // so exited 143)
    Runtime.getRuntime().addShutdownHook(new Thread(Main::shutdown, "flightdeck-shutdown"));
    try {
      run();
    } catch (RuntimeException e) {
      if (!shuttingDown()) {
        throw e;
      }
      // stopped half-way through start-up (Vert.x adds shutdown hooks of its own, which fails once the JVM is
      // shutting down): the hook exits 0
    }
  }

  private static void run() {
    MeteredVertx metered = MeteredVertx.create();
    Vertx vertx = metered.vertx();
    VERTX.set(vertx);
    GatewayConfig config = loadConfig(vertx);
    if (!config.demoSecrets().isEmpty()) {
      LOG.warn("*** DEMO SECRETS IN USE: {} still hold the shipped demo values. Anyone can read your events. "
          + "Set real secrets (see conf/gateway.yaml) before exposing this gateway. ***", config.demoSecrets());
    }
    if (config.production() && config.metrics().port() == 0 && config.metrics().token().isEmpty()) {
      // allowed (a network that keeps /metrics to the scraper), but open to the internet more often than not
      LOG.warn("/metrics is served on the main port without a token: anyone who reaches the gateway can read its "
          + "sites, counts and pool states. Set metrics.token (FLIGHTDECK_METRICS_TOKEN), or metrics.port for a "
          + "management port that is not exposed");
    }
    if (config.sites().isEmpty()) {
      // allowed (a process that only serves reads and the live feed), but a mistake more often than not
      LOG.warn("no sites are configured: every event posted will be refused (401 unknown_write_key); only reads, "
          + "the live feed and the dashboard are served");
    }
    CompletableFuture<Gateway> starting = Gateway.start(vertx, metered.registry(), config).toCompletionStage()
        .toCompletableFuture();
    // set before the gateway listens: a SIGTERM right after the "listening" line must still drain and exit 0
    STARTING.set(starting);
    try {
      starting.get();
    } catch (ExecutionException | InterruptedException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (shuttingDown()) {
        // SIGTERM during start-up (the store still unreachable, say): closing Vert.x ends the start with an error,
        // but this is the requested stop, and the shutdown hook exits 0 as the contract wants, not 1
        LOG.info("start-up abandoned: shutting down ({})", cause.getMessage());
        return;
      }
      LOG.error("gateway failed to start: {}", cause.getMessage(), cause);
      if (cause instanceof ConfigException refused) {
        System.err.println("flightdeck: configuration error: " + refused.getMessage());
        Runtime.getRuntime().halt(2);
      }
      // one line, as for a configuration error: Flyway's messages run over several (a rule of dashes, SQL state,
      // error code...) and the first says what failed; the whole message and the stack trace are in the log above
      String first = ConfigException.firstLine(String.valueOf(cause.getMessage()).strip()).strip();
      String line = ConfigException.oneLine(first);
      System.err.println("flightdeck: failed to start: " + line);
      Runtime.getRuntime().halt(1);
    }
  }

  /** Whether SIGTERM/SIGINT arrived: the hook has begun, or the JVM refuses new hooks because it is stopping. */
  private static boolean shuttingDown() {
    if (STOPPING.get()) {
      return true;
    }
    Thread probe = new Thread(() -> { });
    try {
      Runtime.getRuntime().addShutdownHook(probe);
      Runtime.getRuntime().removeShutdownHook(probe);
      return false;
    } catch (IllegalStateException e) {
      return true;
    }
  }

  private static GatewayConfig loadConfig(Vertx vertx) {
    try {
      return ConfigLoader.load(vertx, System.getenv()).toCompletionStage().toCompletableFuture().get();
    } catch (ExecutionException | InterruptedException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (shuttingDown()) {
        throw new IllegalStateException("stopped while reading the configuration", cause);
      }
      String line = cause instanceof ConfigException ? cause.getMessage()
          : ConfigException.oneLine(String.valueOf(cause));
      System.err.println("flightdeck: configuration error: " + line);
      Runtime.getRuntime().halt(2);
      throw new IllegalStateException("unreachable");
    }
  }

  /** Runs on SIGTERM/SIGINT: drain, close, and exit 0 even if the JVM would report the signal. */
  private static void shutdown() {
    long start = System.nanoTime();
    STOPPING.set(true);
    LOG.info("shutting down: no new requests; finishing in-flight appends");
    CompletableFuture<Gateway> starting = STARTING.get();
    if (starting != null) {
      try {
        // a gateway still starting finishes its start first (bounded by the budget), then stops like any other
        long budget = SHUTDOWN_BUDGET_MS - 1000;
        Gateway gateway = starting.get(budget, TimeUnit.MILLISECONDS);
        long left = budget - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        gateway.stop().toCompletionStage().toCompletableFuture().get(Math.max(100, left), TimeUnit.MILLISECONDS);
        LOG.info("drained in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      } catch (TimeoutException e) {
        LOG.warn("drain did not finish within the shutdown budget; closing anyway");
      } catch (ExecutionException | InterruptedException e) {
        LOG.warn("drain failed: {}", e.toString());
      }
    }
    Vertx vertx = VERTX.get();
    if (vertx != null) {
      try {
        long left = SHUTDOWN_BUDGET_MS - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        vertx.close().toCompletionStage().toCompletableFuture().get(Math.max(100, left), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | InterruptedException | TimeoutException e) {
        LOG.warn("closing Vert.x: {}", e.toString());
      }
    }
    // halt runs no other hook: stopping logback writes out the access lines still queued (those of the streams
    // just ended among them; its writer would have written them within 100 ms, after the halt)
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logback) {
      logback.stop();
    }
    Runtime.getRuntime().halt(0);
  }
}
