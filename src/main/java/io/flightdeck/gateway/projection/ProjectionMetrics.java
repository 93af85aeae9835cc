package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.EventBusAddresses;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-projection gauges (checkpoint, lag in events and seconds, dead letters), sampled from the database every
 * few seconds, so every gateway process reports the same cluster-wide figures whichever one runs the
 * projection. A scrape never waits for the database. A lease that changes hands in this process (see
 * {@link EventBusAddresses#PROJECTION_LEASE_CHANGED}) is sampled again within {@link #RESAMPLE_DELAY_MS}: without
 * that, every start and every takeover showed the projection stopped (DEGRADED) until the next periodic sample, as
 * the first one runs before the runners have taken their leases.
 */
public final class ProjectionMetrics {

  private static final Logger LOG = LoggerFactory.getLogger(ProjectionMetrics.class);
  /** Long enough that the projections taking their leases at start, each a moment apart, cost one sample. */
  static final long RESAMPLE_DELAY_MS = 100;

  private final Map<String, ProjectionStatus> latest = new ConcurrentHashMap<>();
  private final AtomicBoolean sampling = new AtomicBoolean();
  /** A lease changed while a sample was in flight, which may have read the database before: sample once more. */
  private final AtomicBoolean sampleAgain = new AtomicBoolean();
  /** When the last sample answered; the start until one has. */
  private volatile long answeredNanos = System.nanoTime();
  private volatile long staleAfterNanos = Long.MAX_VALUE;
  private long timer = -1;
  private long resampleTimer = -1;
  private boolean stopped;
  private Context context;
  private MessageConsumer<Object> leaseChanges;

  public ProjectionMetrics(GatewayMetrics metrics, List<String> names) {
    metrics.gauge(GatewayMetrics.PROJECTION_SAMPLE_AGE, "Seconds since the projection figures were last sampled",
        this, ProjectionMetrics::sampleAgeSeconds);
    for (String name : names) {
      metrics.gauge(GatewayMetrics.PROJECTION_CHECKPOINT, "Last store position the projection applied",
          "projection", name, () -> value(name, s -> (double) s.checkpoint()));
      metrics.gauge(GatewayMetrics.PROJECTION_LAG_EVENTS, "Store head minus the projection's checkpoint",
          "projection", name, () -> value(name, s -> (double) s.lagEvents()));
      metrics.gauge(GatewayMetrics.PROJECTION_LAG_SECONDS, "Age of the oldest event the projection has not applied",
          "projection", name, () -> value(name, ProjectionStatus::lagSeconds));
      metrics.gauge(GatewayMetrics.PROJECTION_DEAD_LETTERS, "Dead letters waiting for a retry",
          "projection", name, () -> value(name, s -> (double) s.deadLetters()));
    }
  }

  private Number value(String name, java.util.function.ToDoubleFunction<ProjectionStatus> field) {
    ProjectionStatus s = latest.get(name);
    return s == null ? Double.NaN : field.applyAsDouble(s);
  }

  /** The last sample, in name order (empty until the first one). */
  public List<ProjectionStatus> latest() {
    return latest.values().stream().sorted(java.util.Comparator.comparing(ProjectionStatus::name)).toList();
  }

  /** Seconds since the last sample answered (since the start while none has). */
  public double sampleAgeSeconds() {
    return (System.nanoTime() - answeredNanos) / 1e9;
  }

  /**
   * No sample has answered for three intervals: the figures are not current (the database holds the sample up, or
   * refuses it), so a lag of 0 may be a projection that has stalled since.
   */
  public boolean stale() {
    return System.nanoTime() - answeredNanos > staleAfterNanos;
  }

  /**
   * Samples now, then every {@code intervalMs} and soon after a lease changed hands in this process. Everything runs
   * on the context it starts on; the lease changes are listened to before the first sample, so a change is either
   * seen by that sample or sampled again after it.
   */
  public void start(Vertx vertx, ProjectionAdmin admin, long intervalMs) {
    staleAfterNanos = TimeUnit.MILLISECONDS.toNanos(3 * intervalMs);
    context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
      leaseChanges = vertx.eventBus().consumer(EventBusAddresses.PROJECTION_LEASE_CHANGED,
          m -> sampleSoon(vertx, admin));
      sample(admin);
      timer = vertx.setPeriodic(intervalMs, id -> sample(admin));
    });
  }

  /** Debounced: the changes of the next {@link #RESAMPLE_DELAY_MS} share one sample. */
  private void sampleSoon(Vertx vertx, ProjectionAdmin admin) {
    if (stopped || resampleTimer >= 0) {
      return;
    }
    resampleTimer = vertx.setTimer(RESAMPLE_DELAY_MS, id -> {
      resampleTimer = -1;
      if (sampling.get()) {
        sampleAgain.set(true);
      } else {
        sample(admin);
      }
    });
  }

  /**
   * One sample at a time: a sample the database holds up (a lock on dead_letters or the checkpoints, a slow server)
   * keeps its read connection until it answers or db.statementTimeoutMs ends it, and starting another each interval
   * meanwhile took the whole read pool, so reads and /health/ready answered 503. A tick that finds one in flight is
   * skipped; the gauges keep the last figures until the next sample answers. A lease change that finds one in flight
   * is not skipped but sampled right after it, still one at a time.
   */
  private void sample(ProjectionAdmin admin) {
    if (!sampling.compareAndSet(false, true)) {
      return;
    }
    admin.statuses()
        .onComplete(ar -> {
          sampling.set(false);
          if (sampleAgain.getAndSet(false) && !stopped) {
            sample(admin);
          }
        })
        .onSuccess(list -> {
          list.forEach(s -> latest.put(s.name(), s));
          answeredNanos = System.nanoTime();
        })
        .onFailure(e -> LOG.debug("projection metrics: cannot sample: {}", e.getMessage()));
  }

  public void stop(Vertx vertx) {
    if (context == null) {
      return;
    }
    context.runOnContext(v -> {
      stopped = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      if (resampleTimer >= 0) {
        vertx.cancelTimer(resampleTimer);
      }
      if (leaseChanges != null) {
        leaseChanges.unregister();
      }
    });
  }
}
