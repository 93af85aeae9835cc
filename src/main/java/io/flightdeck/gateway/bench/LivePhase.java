package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The live feed ({@code GET /v1/live}, SSE), each part on a fresh database and a fresh gateway, the subscribers
 * in this JVM ({@link LiveSubscribers}), each on its own HTTP/1.1 connection:
 * <ul>
 *   <li>delivery latency: {@link #subscribers} subscribers, single events posted open loop at {@link #rate}/s;
 *       every delivery's latency runs from when its POST was due to when the subscriber had the message, and
 *       every subscriber must receive every event of the window exactly once;</li>
 *   <li>maximum deliveries: the same subscribers, single events posted as fast as a closed loop of
 *       {@link #MAX_SENDER_CONNECTIONS} connections gets them acknowledged; deliveries/s received inside the
 *       window, and how many streams the gateway cut off as slow;</li>
 *   <li>idle connections: {@link #idleConnections} streams held open on one gateway, its resident set and
 *       heap before and after, and one event posted to all of them at the end to show they are live.</li>
 * </ul>
 */
final class LivePhase {

  static final int SUBSCRIBERS = 1000;
  static final int SMOKE_SUBSCRIBERS = 50;
  /** Events/s posted in the latency phase. */
  static final double RATE = 1000;
  static final double SMOKE_RATE = 200;
  static final int IDLE_CONNECTIONS = 10_000;
  static final int SMOKE_IDLE_CONNECTIONS = 200;
  /** Open loop: connections the events are posted on (one request in flight on each at most). */
  static final int SENDER_CONNECTIONS = 64;
  /**
   * Maximum: a closed loop of this many connections, single events, as in the single-event maximum. (A few
   * connections measure the commit's round trip instead: with 4, each waits for its own fsync, and the gateway
   * idles at a few hundred events/s.)
   */
  static final int MAX_SENDER_CONNECTIONS = BenchRun.SINGLE_CONNECTIONS;
  /** The key of the machine's interrupt time in {@link Delivery#gatewayThreads()}. */
  static final String INTERRUPTS = "(machine irq+softirq)";
  static final double LATENCY_TARGET_MS = 50;
  /** The open loop first runs at this share of its rate for a warm-up's length (see {@link #ramp}). */
  static final double RAMP_SHARE = 0.5;
  static final long RSS_TARGET_KIB = 1024L * 1024;
  /** After the window, how long the subscribers get to receive the last events before the rest count missing. */
  static final long DRAIN_MS = 20_000;
  private static final long OPEN_TIMEOUT_SECONDS = 180;
  /** After the idle streams are open, this long before the memory is read (the last ones' first writes settle). */
  static final long SETTLE_MS = 2000;

  /**
   * A delivery phase.
   *
   * @param ingest the POSTs: rate, acks, ack latency, and the CPU of every party inside the window
   * @param ackedEvents events answered 200 over the whole phase, the ramp's included (the store holds at least these)
   * @param windowEvents events whose POST was due inside the window (each subscriber must receive all of them)
   * @param caughtUp every subscriber still open had received the last acknowledged event within {@link #DRAIN_MS}
   * @param gatewayThreads the gateway's cores inside the window, by kind of thread
   * @param stalls the gateway's GC pauses and the fsync probe inside the window (null until the gateway stopped)
   */
  record Delivery(String name, LoadResult ingest, LiveSubscribers.Opened opened, SubscriberGroup.Stats stats,
                  long ackedEvents, long windowEvents, boolean caughtUp, double drainSeconds,
                  Map<String, Double> gatewayThreads, long storedEvents, int gatewayExit, Stalls.Result stalls) {

    /** Messages the subscribers received inside the window, per second. */
    double deliveriesPerSecond() {
      return stats.windowDeliveries / ingest.windowSeconds();
    }

    long expectedDeliveries() {
      return windowEvents * opened.connected();
    }

    double latencyMs(double percentile) {
      return BenchText.ms(stats.latencyMicros, percentile);
    }

    double maxLatencyMs() {
      return BenchText.maxMs(stats.latencyMicros);
    }

    long missing() {
      return stats.missingIntact + stats.missingCutOff;
    }

    /** Over the whole phase: how many messages a subscriber's read brought on average. */
    double messagesPerRead() {
      return stats.reads == 0 ? Double.NaN : (double) stats.deliveries / stats.reads;
    }

    /** Cores the whole machine spent in interrupts inside the window (loopback TCP's receive path). */
    double interrupts() {
      return gatewayThreads.getOrDefault(INTERRUPTS, Double.NaN);
    }
  }

  /**
   * The idle phase.
   *
   * @param before the gateway ready, nothing connected (after a full GC)
   * @param with the streams open, as they are (RSS before any forced GC)
   * @param withAfterGc the same after a full GC: the heap that is live
   * @param probe the one event posted at the end; its latency is how long reaching every stream took
   */
  record Idle(LiveSubscribers.Opened opened, ProcessMemory.Snapshot before, ProcessMemory.Snapshot with,
              ProcessMemory.Snapshot withAfterGc, SubscriberGroup.Stats probe, long probeEvents, int gatewayExit) {

    double rssPerConnectionKib() {
      return opened.connected() == 0 || with.rssKib() < 0 || before.rssKib() < 0 ? Double.NaN
          : (double) (with.rssKib() - before.rssKib()) / opened.connected();
    }

    double heapPerConnectionKib() {
      return opened.connected() == 0 || withAfterGc.heapUsedKib() < 0 || before.heapUsedKib() < 0 ? Double.NaN
          : (double) (withAfterGc.heapUsedKib() - before.heapUsedKib()) / opened.connected();
    }

    /** Until the last stream had the probe event, from its POST. */
    double probeMs() {
      return BenchText.maxMs(probe.latencyMicros);
    }
  }

  private final Vertx vertx;
  private final BenchOptions options;
  private final BenchDatabases databases;
  private final LoadGenerator load;
  private final Timing timing;
  private final long postmasterPid;
  private final Path workDir;

  LivePhase(Vertx vertx, BenchOptions options, BenchDatabases databases, LoadGenerator load, long postmasterPid,
            Path workDir) {
    this.vertx = vertx;
    this.options = options;
    this.databases = databases;
    this.load = load;
    this.timing = new Timing(options.warmup(), options.measure(), options.settleMax());
    this.postmasterPid = postmasterPid;
    this.workDir = workDir;
  }

  int subscribers() {
    return options.smoke() ? SMOKE_SUBSCRIBERS : SUBSCRIBERS;
  }

  double rate() {
    return options.smoke() ? SMOKE_RATE : RATE;
  }

  int idleConnections() {
    return options.smoke() ? SMOKE_IDLE_CONNECTIONS : IDLE_CONNECTIONS;
  }

  /** The delivery latency at {@link #rate()} events/s. */
  Future<Delivery> latency() {
    LoadSpec spec = LoadSpec.openLoop("live", SENDER_CONNECTIONS, 1, rate());
    return delivery("live", spec);
  }

  /** The most deliveries/s: a closed loop of {@link #MAX_SENDER_CONNECTIONS} connections posting single events. */
  Future<Delivery> maximum() {
    return delivery("live_max", LoadSpec.closedLoop("live-max", MAX_SENDER_CONNECTIONS, 1));
  }

  static String describe(LoadSpec spec, int subscribers) {
    String posts = spec.openLoop() ? BenchText.num("%.0f single events/s open loop", spec.ratePerSecond())
        + " on " + spec.connections() + " connections"
        : "single events closed loop on " + spec.connections() + " connections";
    return "live feed: " + subscribers + " SSE subscribers, " + posts;
  }

  private Future<Delivery> delivery(String label, LoadSpec spec) {
    int n = subscribers();
    String name = describe(spec, n);
    System.out.println(name + ": starting the gateway on a fresh database");
    Path log = workDir.resolve("gateway-" + label + ".log");
    Stalls stalls = new Stalls(workDir);
    return databases.createFresh(label).compose(url -> GatewayUnderTest
        .start(vertx, options.jar(), url, log)
        .compose(gateway -> deliver(name, gateway, spec, n, stalls)
            .transform(ar -> gateway.stop().transform(stopped -> {
              Future<Stalls.Result> stalled = stalls.read(vertx, GatewayUnderTest.gcLogOf(log));
              if (ar.failed()) {
                return Future.failedFuture(ar.cause());
              }
              int exit = stopped.succeeded() ? stopped.result() : -1;
              return stalled.map(st -> withExit(ar.result(), exit, st));
            })))
        .compose(d -> databases.countEvents(url).map(stored -> withStored(d, stored)))
        .onSuccess(d -> {
          System.out.println("  " + summary(d));
          System.out.println("  " + Report.stallsSummary(d.stalls()));
        })
        .eventually(() -> databases.drop(url)));
  }

  private Future<Delivery> deliver(String name, GatewayUnderTest gateway, LoadSpec spec, int n, Stalls stalls) {
    MeasureWindow window = new MeasureWindow();
    PositionLog log = new PositionLog(window);
    CpuProbe probe = new CpuProbe(0, gateway.pid(), postmasterPid);
    ThreadCpu threads = new ThreadCpu(gateway.pid());
    return GatewayUnderTest.readToken(vertx)
        .compose(token -> LiveSubscribers.start(vertx, gateway.port(), token, true, log))
        .compose(subs -> subs.open(n)
            .timeout(OPEN_TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .compose(opened -> {
              System.out.println("  " + opened(opened));
              return ramp(gateway, spec, log).compose(ramped -> load.run(spec, gateway.port(), timing, probe, window,
                      t -> {
                        threads.open(t);
                        stalls.begin();
                      },
                      t -> {
                        threads.close(t);
                        stalls.end();
                      },
                      log::answered)
                      .map(l -> l.afterRamp(ramped)))
                  .compose(ingest -> {
                    return subs.awaitCaughtUp(log.maxPosition(), DRAIN_MS)
                        .compose(caught -> {
                          double drainSeconds = secondsAfter(window, System.nanoTime());
                          long[] positions = log.windowPositions();
                          return subs.stats(positions).map(stats -> new Delivery(name, ingest, opened, stats,
                              log.acked(), positions.length, caught, drainSeconds, threads.cores(), -1, -1,
                              null));
                        });
                  });
            })
            .eventually(subs::close));
  }

  /**
   * Open loop only: {@link #RAMP_SHARE} of the rate for one warm-up's length before the phase's own warm-up. A
   * fresh gateway compiles its fan-out path for its first 20 s or so; at the full rate from a cold start the
   * compiler's share of the two cores made the gateway fall behind, and the backlog it built took the whole
   * window to drain. A closed loop needs no ramp: it never sends more than the gateway acknowledges.
   */
  private Future<LoadResult> ramp(GatewayUnderTest gateway, LoadSpec spec, PositionLog log) {
    if (!spec.openLoop()) {
      return Future.succeededFuture(null);
    }
    LoadSpec ramp = LoadSpec.openLoop(spec.name() + "-ramp", spec.connections(), spec.eventsPerRequest(),
        spec.ratePerSecond() * RAMP_SHARE);
    CpuProbe none = new CpuProbe(0, 0, 0);
    return load.run(ramp, gateway.port(), new Timing(java.time.Duration.ZERO, timing.warmup()), none, t -> { },
        t -> { }, log::answered);
  }

  /** 10,000 (smoke: 200) idle streams on one gateway: its memory before and with them. */
  Future<Idle> idle() {
    int n = idleConnections();
    System.out.println("live feed: " + n + " idle SSE connections: starting the gateway on a fresh database");
    return databases.createFresh("live_idle").compose(url -> GatewayUnderTest
        .start(vertx, options.jar(), url, workDir.resolve("gateway-live_idle.log"))
        .compose(gateway -> holdIdle(gateway, n)
            .transform(ar -> gateway.stop().transform(stopped -> {
              if (ar.failed()) {
                return Future.failedFuture(ar.cause());
              }
              Idle i = ar.result();
              return Future.succeededFuture(new Idle(i.opened(), i.before(), i.with(), i.withAfterGc(), i.probe(),
                  i.probeEvents(), stopped.succeeded() ? stopped.result() : -1));
            })))
        .onSuccess(i -> System.out.println("  " + summary(i)))
        .eventually(() -> databases.drop(url)));
  }

  private Future<Idle> holdIdle(GatewayUnderTest gateway, int n) {
    long pid = gateway.pid();
    MeasureWindow window = new MeasureWindow();
    PositionLog log = new PositionLog(window);
    return vertx.executeBlocking(() -> ProcessMemory.read(pid, true), false).compose(before -> GatewayUnderTest
        .readToken(vertx)
        .compose(token -> LiveSubscribers.start(vertx, gateway.port(), token, true, log))
        .compose(subs -> subs.open(n)
            .timeout(OPEN_TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .compose(opened -> {
              return vertx.timer(SETTLE_MS)
                  .compose(v -> vertx.executeBlocking(() -> ProcessMemory.read(pid, false), false))
                  .compose(with -> vertx.executeBlocking(() -> ProcessMemory.read(pid, true), false)
                      .compose(afterGc -> probe(gateway.port(), window, log, subs)
                          .map(probe -> new Idle(opened, before, with, afterGc, probe, log.acked(), -1))));
            })
            .eventually(subs::close)));
  }

  /** Posts one event and waits until every stream has it: shows the idle streams are live, and how fast. */
  private Future<SubscriberGroup.Stats> probe(int port, MeasureWindow window, PositionLog log,
                                              LiveSubscribers subs) {
    HttpClient client = vertx.createHttpClient();
    RequestOptions post = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
        .setURI("/v1/events")
        .putHeader("Content-Type", "application/json")
        .putHeader("X-Write-Key", GatewayUnderTest.WRITE_KEY)
        .putHeader("User-Agent", EventBodies.USER_AGENT)
        .setIdleTimeout(10_000);
    window.open(System.nanoTime());
    long sent = System.nanoTime();
    return client.request(post)
        .compose(req -> req.send(EventBodies.of(1)))
        .compose(resp -> resp.body().compose(body -> resp.statusCode() == 200 ? Future.succeededFuture(body)
            : Future.failedFuture(new IllegalStateException("the probe event was answered " + resp.statusCode()
                + ": " + body))))
        .eventually(client::close)
        .compose(body -> {
          log.answered(sent, body);
          return subs.awaitCaughtUp(log.maxPosition(), DRAIN_MS);
        })
        .compose(caught -> {
          window.close(System.nanoTime());
          return subs.stats(log.windowPositions());
        });
  }

  /**
   * How long after the window closed {@code nanoTime} is: the report's "had the last event N s after the
   * window" counts from the window's close, not from when the posting's last answers were in.
   */
  static double secondsAfter(MeasureWindow window, long nanoTime) {
    return window.closedBy(nanoTime) ? (nanoTime - window.end()) / 1e9 : Double.NaN;
  }

  private static Delivery withExit(Delivery d, int exit, Stalls.Result stalls) {
    return new Delivery(d.name(), d.ingest(), d.opened(), d.stats(), d.ackedEvents(), d.windowEvents(),
        d.caughtUp(), d.drainSeconds(), d.gatewayThreads(), d.storedEvents(), exit, stalls);
  }

  private static Delivery withStored(Delivery d, long stored) {
    return new Delivery(d.name(), d.ingest(), d.opened(), d.stats(), d.ackedEvents(), d.windowEvents(),
        d.caughtUp(), d.drainSeconds(), d.gatewayThreads(), stored, d.gatewayExit(), d.stalls());
  }

  static String opened(LiveSubscribers.Opened o) {
    return o.connected() + " of " + o.wanted() + " streams open" + BenchText.num(" in %.1f s", o.seconds())
        + (o.failed() == 0 ? "" : "; " + o.failed() + " failed (" + o.firstFailure() + ")");
  }

  /** One console line per delivery phase. */
  static String summary(Delivery d) {
    SubscriberGroup.Stats s = d.stats();
    LoadResult l = d.ingest();
    return BenchText.num("ingest %.0f events/s", l.eventsPerSecond())
        + BenchText.num(", deliveries %.0f/s", d.deliveriesPerSecond())
        + " (" + s.windowDeliveries + " inside the window" + BenchText.num("; %.1f messages per TCP read",
        d.messagesPerRead()) + "), delivery latency p50/p99/p99.9/max "
        + Report.ms(d.latencyMs(50)) + "/" + Report.ms(d.latencyMs(99)) + "/" + Report.ms(d.latencyMs(99.9)) + "/"
        + Report.ms(d.maxLatencyMs()) + " ms over " + s.latencyMicros.getTotalCount() + " deliveries; received "
        + s.windowEventsReceived + " of " + d.expectedDeliveries() + " expected, missing " + d.missing()
        + ", duplicates " + s.duplicates + ", out of order "
        + s.outOfOrder + ", streams cut off " + s.ended + (s.firstEnd == null ? "" : " (" + s.firstEnd + ")")
        + ", unmatched " + s.unmatched + ", POST errors " + l.errorCount() + ", ack p99 " + Report.ms(l.latencyMs(99))
        + " ms; CPU load generator and subscribers " + Report.cores(l.cpu().generator()) + ", gateway "
        + Report.cores(l.cpu().gateway()) + " (" + threads(d.gatewayThreads()) + "), PostgreSQL "
        + Report.cores(l.cpu().postgres()) + ", machine " + Report.cores(l.cpu().machine()) + " (interrupts "
        + Report.cores(d.interrupts()) + ")"
        + (d.caughtUp() ? BenchText.num("; caught up %.2f s after the window", d.drainSeconds())
            : "; NOT caught up " + DRAIN_MS / 1000 + " s after the window");
  }

  static String summary(Idle i) {
    return opened(i.opened()) + "; gateway RSS " + ProcessMemory.mib(i.before().rssKib()) + " before, "
        + ProcessMemory.mib(i.with().rssKib()) + " with them" + BenchText.num(" (%.1f KiB per connection)",
        i.rssPerConnectionKib()) + ", peak " + ProcessMemory.mib(i.with().peakRssKib()) + ", after a full GC "
        + ProcessMemory.mib(i.withAfterGc().rssKib()) + "; live heap " + ProcessMemory.mib(i.before().heapUsedKib())
        + " before, " + ProcessMemory.mib(i.withAfterGc().heapUsedKib()) + " with them"
        + BenchText.num(" (%.1f KiB per connection)", i.heapPerConnectionKib()) + ", heap committed "
        + ProcessMemory.mib(i.withAfterGc().heapCommittedKib()) + "; one event reached all "
        + i.probe().latencyMicros.getTotalCount() + BenchText.num(" streams in %.1f ms", i.probeMs())
        + ", missing " + i.probe().missingIntact + ", cut off " + i.probe().ended + "; gateway exit "
        + i.gatewayExit();
  }

  static String threads(Map<String, Double> threads) {
    StringBuilder sb = new StringBuilder();
    threads.forEach((kind, cores) -> {
      if (!(cores < 0.005) && !kind.equals(INTERRUPTS)) {
        sb.append(sb.length() == 0 ? "" : ", ").append(kind).append(' ').append(Report.cores(cores));
      }
    });
    return sb.toString();
  }

  /**
   * The gateway's CPU by kind of thread over the window, and the machine's interrupt time (read at the window's
   * edges, on the phase clock's worker).
   */
  private static final class ThreadCpu {

    private final long pid;
    private volatile Map<String, Long> start = Map.of();
    private volatile long startNanos;
    private volatile long startIrq;
    private volatile Map<String, Double> cores = Map.of();

    ThreadCpu(long pid) {
      this.pid = pid;
    }

    void open(long nanos) {
      start = CpuProbe.jvmThreads(pid);
      startIrq = interruptNanos();
      startNanos = nanos;
    }

    void close(long nanos) {
      Map<String, Long> end = CpuProbe.jvmThreads(pid);
      long endIrq = interruptNanos();
      Map<String, Double> c = new TreeMap<>();
      double wall = nanos - startNanos;
      end.forEach((kind, t) -> c.put(kind, (t - start.getOrDefault(kind, 0L)) / wall));
      if (startIrq >= 0 && endIrq >= 0) {
        c.put(INTERRUPTS, (endIrq - startIrq) / wall);
      }
      cores = c;
    }

    /**
     * irq + softirq of every core from /proc/stat: where the kernel's network stack runs (for loopback TCP, the
     * receiving side of every segment), which no process is charged with.
     */
    private static long interruptNanos() {
      try {
        String[] f = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).get(0).trim()
            .split("\\s+");
        return (Long.parseLong(f[6]) + Long.parseLong(f[7])) * 10_000_000L;
      } catch (java.io.IOException | RuntimeException e) {
        return -1;
      }
    }

    Map<String, Double> cores() {
      return cores;
    }
  }
}
