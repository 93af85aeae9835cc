package io.flightdeck.gateway.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The gateway's own meters, named in one place (Micrometer dot names; Prometheus sees
 * {@code flightdeck_events_appended_total} and so on, see docs/METRICS.md). Tags take only bounded values:
 * site ids from the config, event types from the schema registry ({@code custom} for the rest), error codes,
 * projection names. Never a write key, IP, URL or stream id.
 */
public final class GatewayMetrics {

  public static final String EVENTS_APPENDED = "flightdeck.events.appended";
  public static final String EVENTS_DUPLICATE = "flightdeck.events.duplicate";
  public static final String INGEST_REJECTED = "flightdeck.ingest.rejected";
  public static final String APPEND_BATCH_SIZE = "flightdeck.append.batch.size";
  public static final String APPEND_LATENCY = "flightdeck.append.latency";
  public static final String APPEND_QUEUE_DEPTH = "flightdeck.append.queue.depth";
  public static final String STORE_HEAD = "flightdeck.store.head.position";
  public static final String STORE_HISTORY_CHANGES = "flightdeck.store.history.changes";
  public static final String PROJECTION_CHECKPOINT = "flightdeck.projection.checkpoint.position";
  public static final String PROJECTION_LAG_EVENTS = "flightdeck.projection.lag.events";
  public static final String PROJECTION_LAG_SECONDS = "flightdeck.projection.lag.seconds";
  public static final String PROJECTION_DEAD_LETTERS = "flightdeck.projection.dead.letters";
  public static final String PROJECTION_SAMPLE_AGE = "flightdeck.projection.sample.age.seconds";
  public static final String PROJECTION_APPLIED = "flightdeck.projection.events.applied";
  public static final String PROJECTION_BATCHES = "flightdeck.projection.batches";
  public static final String HTTP_CONNECTIONS_CLOSED = "flightdeck.http.connections.closed";
  public static final String HTTP_BODY_BUFFERED = "flightdeck.http.body.buffered.bytes";
  public static final String HTTP_RESPONSE_UNSENT = "flightdeck.http.response.unsent.bytes";
  public static final String SSE_CONNECTIONS = "flightdeck.sse.connections";
  public static final String SSE_DELIVERED = "flightdeck.sse.messages.delivered";
  public static final String SSE_SLOW_DROPPED = "flightdeck.sse.slow.clients.dropped";
  public static final String SSE_DELIVERY_LATENCY = "flightdeck.sse.delivery.latency";

  private static final String CUSTOM = "custom";
  /** The contract's ingest error codes (docs/API.md), declared at zero by {@link #declare}. */
  private static final List<String> INGEST_ERROR_CODES = List.of("invalid_json", "invalid_event", "missing_write_key",
      "unknown_write_key", "origin_not_allowed", "payload_too_large", "request_timeout", "unsupported_media_type",
      "rate_limited", "unavailable");
  private static final List<String> CLOSE_REASONS = List.of("max_connections", "head_timeout");
  /** The readers that keep what they read from the store, and check it is still there (see historyChanged). */
  private static final List<String> HISTORY_READERS = List.of("live", "projections");

  private final MeterRegistry registry;
  private final Predicate<String> knownType;
  private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();
  private final Timer appendLatency;
  private final DistributionSummary batchSize;
  private final Counter sseDelivered;
  private final Counter sseSlowDropped;
  private final Timer sseLatency;

  public GatewayMetrics(MeterRegistry registry, Predicate<String> knownType) {
    this.registry = registry;
    this.knownType = knownType;
    this.appendLatency = Timer.builder(APPEND_LATENCY)
        .description("Time from a request's events being queued to their commit").register(registry);
    this.batchSize = DistributionSummary.builder(APPEND_BATCH_SIZE)
        .description("Events per append transaction (group commit)")
        .serviceLevelObjectives(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000).register(registry);
    this.sseDelivered = Counter.builder(SSE_DELIVERED)
        .description("Events written to live-feed (SSE) clients").register(registry);
    this.sseSlowDropped = Counter.builder(SSE_SLOW_DROPPED)
        .description("Live-feed clients disconnected as slow (a full send buffer, or nothing taken for "
            + "live.stallTimeoutMs)")
        .register(registry);
    this.sseLatency = Timer.builder(SSE_DELIVERY_LATENCY)
        .description("Time from the store's NOTIFY reaching this process to the event being written to a client")
        .register(registry);
  }

  /** Meters that go nowhere, for code run without a gateway (tools, unit tests). */
  public static GatewayMetrics none() {
    return new GatewayMetrics(new SimpleMeterRegistry(), type -> false);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** An event type as a tag: a known type as itself, anything else {@code custom} (names are unbounded). */
  public String typeTag(String type) {
    return knownType.test(type) ? type : CUSTOM;
  }

  /**
   * Creates the labelled counters at zero for everything known at start: each site's appended events by built-in
   * type and {@code custom}, its duplicates, the ingest error codes of the contract, the reasons a connection is
   * closed. A series that only appears with its first increment is missing from {@code rate()} and
   * {@code increase()} until then, and an alert on it cannot tell "none yet" from "not scraped".
   */
  public void declare(Collection<String> sites, Collection<String> types) {
    for (String site : sites) {
      for (String type : types) {
        appendedCounter(site, type);
      }
      appendedCounter(site, CUSTOM);
      duplicateCounter(site);
    }
    INGEST_ERROR_CODES.forEach(this::rejectedCounter);
    CLOSE_REASONS.forEach(this::closedCounter);
    HISTORY_READERS.forEach(this::historyCounter);
  }

  /**
   * {@code reader} ({@code live} or {@code projections}) found the store no longer holds the last event it read: a
   * failover to a replica that lacked the last commits, a restored backup.
   */
  public void historyChanged(String reader) {
    historyCounter(reader).increment();
  }

  private Counter historyCounter(String reader) {
    return counter(STORE_HISTORY_CHANGES, "Times a reader that keeps events found the store no longer held the last "
        + "event it read (a failover to a replica that lacked the last commits, a restored backup)", "reader", reader,
        null, null);
  }

  public void appended(String site, String type, int n) {
    appendedCounter(site, type).increment(n);
  }

  public void duplicate(String site, int n) {
    duplicateCounter(site).increment(n);
  }

  public void rejected(String reason) {
    rejectedCounter(reason).increment();
  }

  /** A connection the gateway closed to protect itself: {@code max_connections} or {@code head_timeout}. */
  public void connectionClosed(String reason) {
    closedCounter(reason).increment();
  }

  private Counter appendedCounter(String site, String type) {
    return counter(EVENTS_APPENDED, "Events appended to the store", "site", site, "type", typeTag(type));
  }

  private Counter duplicateCounter(String site) {
    return counter(EVENTS_DUPLICATE, "Events answered as duplicates (id already stored)", "site", site, null, null);
  }

  private Counter rejectedCounter(String reason) {
    return counter(INGEST_REJECTED, "Ingest requests rejected, by error code", "reason", reason, null, null);
  }

  private Counter closedCounter(String reason) {
    return counter(HTTP_CONNECTIONS_CLOSED, "HTTP connections closed by the gateway to protect itself, by reason",
        "reason", reason, null, null);
  }

  public Timer appendLatency() {
    return appendLatency;
  }

  public DistributionSummary batchSize() {
    return batchSize;
  }

  public Counter sseDelivered() {
    return sseDelivered;
  }

  public Counter sseSlowDropped() {
    return sseSlowDropped;
  }

  public Timer sseLatency() {
    return sseLatency;
  }

  /**
   * Creates each projection's counters at zero (events applied, batches from either source), like {@link #declare}:
   * a projection that has applied nothing yet (an empty store, a type not sent yet) or that this process does not
   * run is then a series at 0, which {@code rate()} and an alert on a projection that stopped applying can see.
   */
  public void declareProjections(Collection<String> projections) {
    for (String projection : projections) {
      appliedCounter(projection);
      batchesCounter(projection, true);
      batchesCounter(projection, false);
    }
  }

  /** {@code shared}: the events came from the process's one shared read, not from a read of the projection's own. */
  public void projectionApplied(String projection, int n, boolean shared) {
    appliedCounter(projection).increment(n);
    batchesCounter(projection, shared).increment();
  }

  private Counter appliedCounter(String projection) {
    return counter(PROJECTION_APPLIED, "Events applied by projections running in this process", "projection",
        projection, null, null);
  }

  private Counter batchesCounter(String projection, boolean shared) {
    return counter(PROJECTION_BATCHES, "Batches applied by projections running in this process, by where their events "
        + "were read: the shared window of recent events, or the store by the projection itself", "projection",
        projection, "source", shared ? "shared" : "store");
  }

  public <T> void gauge(String name, String description, T state, ToDoubleFunction<T> value) {
    Gauge.builder(name, state, value).description(description).register(registry);
  }

  public void gauge(String name, String description, String tag, String tagValue, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).tag(tag, tagValue).register(registry);
  }

  private Counter counter(String name, String description, String k1, String v1, String k2, String v2) {
    String key = name + '\0' + v1 + '\0' + v2;
    return counters.computeIfAbsent(key, k -> {
      Counter.Builder b = Counter.builder(name).description(description).tag(k1, v1);
      if (k2 != null) {
        b.tag(k2, v2);
      }
      return b.register(registry);
    });
  }
}
