package io.flightdeck.gateway.metrics;

import io.micrometer.core.instrument.Meter;
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
import java.util.UUID;

/**
 * A Vert.x instance whose metrics (HTTP server by route template, pools, event bus, JVM) go to a Prometheus
 * registry of its own, which the gateway's own meters share. One registry per instance, so two gateways in one
 * JVM (tests) never mix their counts.
 */
public record MeteredVertx(Vertx vertx, PrometheusMeterRegistry registry) {

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
        .meterFilter(new MeterFilter() {
          @Override
          public Meter.Id map(Meter.Id id) {
            return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
          }
        })
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
        .withMetrics(new MicrometerMetricsFactory(registry))
        .build();
    return new MeteredVertx(vertx, registry);
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
