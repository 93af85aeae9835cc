package io.flightdeck.gateway;

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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: load and validate the configuration (exit 2 when bad), start the gateway (exit 1 when the store
 * cannot be prepared), and on SIGTERM or SIGINT drain and exit 0 within 10 seconds.
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

  private Main() {
  }

  public static void main(String[] args) {
    MeteredVertx metered = MeteredVertx.create();
    Vertx vertx = metered.vertx();
    GatewayConfig config = loadConfig(vertx);
    if (!config.demoSecrets().isEmpty()) {
      LOG.warn("*** DEMO SECRETS IN USE: {} still hold the shipped demo values. Anyone can read your events. "
          + "Set real secrets (see conf/gateway.yaml) before exposing this gateway. ***", config.demoSecrets());
    }
    CompletableFuture<Gateway> starting = Gateway.start(vertx, metered.registry(), config).toCompletionStage()
        .toCompletableFuture();
    // installed before the gateway listens: a SIGTERM right after the "listening" line must still drain and exit 0
    Runtime.getRuntime().addShutdownHook(new Thread(() -> shutdown(vertx, starting), "flightdeck-shutdown"));
    try {
      starting.get();
    } catch (ExecutionException | InterruptedException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (STOPPING.get()) {
        // SIGTERM during start-up (the store still unreachable, say): closing Vert.x ends the start with an error,
        // but this is the requested stop, and the shutdown hook exits 0 as the contract wants, not 1
        LOG.info("start-up abandoned: shutting down ({})", cause.getMessage());
        return;
      }
      LOG.error("gateway failed to start: {}", cause.getMessage(), cause);
      System.err.println("flightdeck: failed to start: " + cause.getMessage());
      Runtime.getRuntime().halt(1);
    }
  }

  private static GatewayConfig loadConfig(Vertx vertx) {
    try {
      return ConfigLoader.load(vertx, System.getenv()).toCompletionStage().toCompletableFuture().get();
    } catch (ExecutionException | InterruptedException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      String line = cause instanceof ConfigException ? cause.getMessage() : String.valueOf(cause);
      System.err.println("flightdeck: configuration error: " + line);
      Runtime.getRuntime().halt(2);
      throw new IllegalStateException("unreachable");
    }
  }

  /** Runs on SIGTERM/SIGINT: drain, close, and exit 0 even if the JVM would report the signal. */
  private static void shutdown(Vertx vertx, CompletableFuture<Gateway> starting) {
    long start = System.nanoTime();
    STOPPING.set(true);
    LOG.info("shutting down: no new requests; finishing in-flight appends");
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
    try {
      long left = SHUTDOWN_BUDGET_MS - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      vertx.close().toCompletionStage().toCompletableFuture().get(Math.max(100, left), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | InterruptedException | TimeoutException e) {
      LOG.warn("closing Vert.x: {}", e.toString());
    }
    Runtime.getRuntime().halt(0);
  }
}
