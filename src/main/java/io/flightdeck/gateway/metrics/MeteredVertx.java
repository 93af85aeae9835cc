package io.flightdeck.gateway.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.EnumSet;
import java.util.Set;
import java.util.UUID;

/**
 * A Vert.x instance whose metrics (HTTP server by route template, pools, event bus, JVM) go to a Prometheus
 * registry of its own, which the gateway's own meters share. One registry per instance, so two gateways in one
 * JVM (tests) never mix their counts.
 */
public record MeteredVertx(Vertx vertx, PrometheusMeterRegistry registry) {

  private static final String METHOD_TAG = "method";
  private static final Set<String> STANDARD_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
      "OPTIONS", "TRACE", "PATCH");

  public static MeteredVertx create() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config()
        // three JVM binder names that Prometheus' naming rules (promtool check metrics) reject: units in the name
        // (ms, ns) and a gauge ending in _count; process_cpu_usage and jvm_* cover what they say
        .meterFilter(MeterFilter.denyNameStartsWith("jvm.compilation.time"))
        .meterFilter(MeterFilter.denyNameStartsWith("process.cpu.time"))
        // two distribution updates per request on the event loop for body sizes, which ingest.maxBodyBytes bounds
        // anyway; the bytes read and written counters give the traffic
        .meterFilter(MeterFilter.deny(id -> id.getName().equals("vertx.http.server.request.bytes")
            || id.getName().equals("vertx.http.server.response.bytes")))
        // the PostgreSQL client (the only net client) decodes its messages in its own Netty handler and never
        // reports their bytes to Vert.x: these counters would say 0 forever, however much SQL runs
        .meterFilter(MeterFilter.denyNameStartsWith("vertx.net.client.bytes."))
        .meterFilter(new MeterFilter() {
          @Override
          public Meter.Id map(Meter.Id id) {
            return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
          }
        })
        .meterFilter(otherMethods())
        .meterFilter(histogramsForLatencies());
    MicrometerMetricsOptions metrics = new MicrometerMetricsOptions()
        .setEnabled(true)
        .setJvmMetricsEnabled(true)
        .setRegistryName("flightdeck-" + UUID.randomUUID())
        // the route template (/v1/streams/:streamId/events), never the raw path: paths hold stream ids
        .setLabels(EnumSet.of(Label.HTTP_ROUTE, Label.HTTP_METHOD, Label.HTTP_CODE, Label.POOL_TYPE,
            Label.POOL_NAME));
    Vertx vertx = Vertx.builder()
        // epoll where Netty's native library loads (Linux x86-64), else java.nio: the listening line says which
        .with(new VertxOptions().setMetricsOptions(metrics).setPreferNativeTransport(true))
        // the HTTP server's in-flight request gauge kept true where Vert.x 5.0.10 miscounts (see RequestCountGuard)
        .withMetrics(RequestCountGuard.around(new MicrometerMetricsFactory(registry)))
        .build();
    return new MeteredVertx(vertx, registry);
  }

  /**
   * The {@code method} label of HTTP meters takes RFC 9110's methods (and PATCH) as they are and every other name as
   * {@code OTHER}. HTTP lets a client name any token as its method, and Vert.x records each as it came: without
   * this, {@code AAA1 / HTTP/1.1}, {@code AAA2 / HTTP/1.1}... would each add a set of series (a latency histogram
   * among them) that lives as long as the process, without a credential. Micrometer remembers the id a filter mapped
   * only when it creates a meter, so once {@code OTHER}'s meters exist, further names cost nothing.
   */
  static MeterFilter otherMethods() {
    return new MeterFilter() {
      @Override
      public Meter.Id map(Meter.Id id) {
        String method = id.getTag(METHOD_TAG);
        return method == null || STANDARD_METHODS.contains(method) ? id : id.withTag(Tag.of(METHOD_TAG, "OTHER"));
      }
    };
  }

  /** Latency timers publish histogram buckets, so Prometheus can compute quantiles across instances. */
  private static MeterFilter histogramsForLatencies() {
    return new MeterFilter() {
      @Override
      public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
        String name = id.getName();
        if (id.getType() == Meter.Type.TIMER
            && (name.startsWith("flightdeck.") || name.equals("vertx.http.server.response.time"))) {
          return DistributionStatisticConfig.builder().percentilesHistogram(true).build().merge(config);
        }
        return config;
      }
    };
  }
}
