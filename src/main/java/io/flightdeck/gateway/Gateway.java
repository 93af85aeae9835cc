package io.flightdeck.gateway;

import io.flightdeck.gateway.api.AdminHandlers;
import io.flightdeck.gateway.api.BodyBudget;
import io.flightdeck.gateway.api.ConnectionLimit;
import io.flightdeck.gateway.api.GatewayServices;
import io.flightdeck.gateway.api.HealthHandlers;
import io.flightdeck.gateway.api.HttpVerticle;
import io.flightdeck.gateway.api.ReadHandlers;
import io.flightdeck.gateway.api.ReadModelHandlers;
import io.flightdeck.gateway.api.ResponseBudget;
import io.flightdeck.gateway.config.GatewayConfig;
import io.flightdeck.gateway.config.SiteConfig;
import io.flightdeck.gateway.event.EventSchemas;
import io.flightdeck.gateway.event.JsonLimits;
import io.flightdeck.gateway.ingest.EventValidator;
import io.flightdeck.gateway.ingest.ForwardedClient;
import io.flightdeck.gateway.ingest.IngestHandler;
import io.flightdeck.gateway.ingest.IngestPipeline;
import io.flightdeck.gateway.ingest.Sites;
import io.flightdeck.gateway.ingest.segment.SegmentHandler;
import io.flightdeck.gateway.ingest.segment.SegmentMapper;
import io.flightdeck.gateway.store.DatabaseBootstrap;
import io.flightdeck.gateway.live.HistoryChanges;
import io.flightdeck.gateway.live.LiveBatch;
import io.flightdeck.gateway.live.LiveBatchCodec;
import io.flightdeck.gateway.live.LiveConnections;
import io.flightdeck.gateway.live.LiveFeedVerticle;
import io.flightdeck.gateway.live.LiveHub;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.metrics.MeteredVertx;
import io.flightdeck.gateway.metrics.MetricsEndpoint;
import io.flightdeck.gateway.metrics.MetricsVerticle;
import io.flightdeck.gateway.projection.ProjectionAdmin;
import io.flightdeck.gateway.projection.ProjectionMetrics;
import io.flightdeck.gateway.projection.ProjectionEngine;
import io.flightdeck.gateway.projection.model.ReadModels;
import io.flightdeck.gateway.store.GroupCommitAppender;
import io.flightdeck.gateway.store.PgEventStore;
import io.flightdeck.gateway.store.PgSessions;
import io.flightdeck.gateway.store.PgStoreListener;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: prepares the database, builds the pools, deploys the appender and the HTTP verticles, and
 * stops them in the order that loses nothing (HTTP first, so in-flight requests finish, then the appender).
 */
public final class Gateway {

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  private final Vertx vertx;
  private final Pool appendPool;
  private final Pool readPool;
  /** Readiness checks only. */
  private final Pool healthPool;
  /** Readiness checks that may wait for the health connection (an orchestrator asks every few seconds). */
  private static final int HEALTH_WAIT_QUEUE = 16;
  /** The LISTEN connection's and the projections' leases' connections. */
  private final PgSessions sessions;
  private final AtomicBoolean draining;
  private String appenderId;
  private String listenerId;
  private String liveFeedId;
  private final AtomicLong livePosition = new AtomicLong();
  /** The store's recent history changes, recorded by the live feed, for every event loop's resumes. */
  private final HistoryChanges historyChanges;
  private String httpId;
  private final ProjectionEngine projections = new ProjectionEngine(ReadModels.projections());
  private int port;
  private GroupCommitAppender appender;
  /** GET /metrics, on the main port or the management port: one for the process (it bounds the renders). */
  private final MetricsEndpoint metricsEndpoint;
  private final GatewayMetrics metrics;
  private ProjectionMetrics projectionMetrics;
  private String metricsId;
  private PgStoreListener listener;
  private final EventSchemas schemas = EventSchemas.builtIn();
  private final LiveConnections liveConnections;
  private final ProjectionAdmin projectionAdmin;
  private PgEventStore store;

  private Gateway(Vertx vertx, Pool appendPool, Pool readPool, Pool healthPool, PrometheusMeterRegistry registry,
                  GatewayConfig config) {
    this.vertx = vertx;
    this.appendPool = appendPool;
    this.readPool = readPool;
    this.healthPool = healthPool;
    this.sessions = new PgSessions(vertx, config.db());
    this.draining = new AtomicBoolean();
    this.metricsEndpoint = new MetricsEndpoint(config.metrics(), registry);
    this.metrics = new GatewayMetrics(registry, schemas::knowsType);
    metrics.declare(config.sites().stream().map(SiteConfig::id).toList(), schemas.types());
    this.liveConnections = new LiveConnections(config.live().maxConnections(), metrics);
    this.historyChanges = HistoryChanges.forRetry(config.live().retryMs());
    this.projectionAdmin = new ProjectionAdmin(vertx, readPool, projections.projections());
    metrics.gauge(GatewayMetrics.STORE_HEAD, "Highest store position this process has seen committed", livePosition,
        AtomicLong::get);
  }

  /** Starts a gateway on {@code vertx}, whose Vert.x metrics go to {@code registry} (see {@link MeteredVertx}). */
  public static Future<Gateway> start(Vertx vertx, PrometheusMeterRegistry registry, GatewayConfig config) {
    registerCodecs(vertx);
    JsonLimits.exactNumbersInVertxJson();
    return vertx.executeBlocking(() -> DatabaseBootstrap.prepare(config.db()), false)
        .compose(schemaVersion -> deploy(vertx, registry, config, schemaVersion));
  }

  private static void registerCodecs(Vertx vertx) {
    try {
      vertx.eventBus().registerDefaultCodec(LiveBatch.class, new LiveBatchCodec());
    } catch (IllegalStateException alreadyRegistered) {
      // a second gateway on the same Vertx (tests): the codec is there already
    }
  }

  private static Future<Gateway> deploy(Vertx vertx, PrometheusMeterRegistry registry, GatewayConfig config,
                                        String schemaVersion) {
    PgConnectOptions connect = config.db().connectOptions();
    int appenders = config.appender().maxConcurrentTransactions();
    Pool appendPool = PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(appenders).setMaxWaitQueueSize(appenders).setName("flightdeck-append"))
        .with(config.db().silenceBoundedNetOptions(appendStatementTimeoutMs(config)))
        .connectingTo(appendConnectOptions(connect, config)).withConnectHandler(PgEventStore::durableCommits)
        .using(vertx).build();
    Pool readPool = PgBuilder.pool()
        .with(config.db().readPoolOptions(config.db().readPoolSize(), config.db().maxWaitQueue(), "flightdeck-read"))
        .with(config.db().silenceBoundedNetOptions())
        .connectingTo(readConnectOptions(connect, config)).using(vertx).build();
    // readiness on a connection of its own: reads stuck behind a lock or a burst of slow pages that take every read
    // connection must not make a gateway that can still ingest unready, and taken out of rotation
    Pool healthPool = PgBuilder.pool()
        .with(config.db().readPoolOptions(1, HEALTH_WAIT_QUEUE, "flightdeck-health"))
        .with(config.db().silenceBoundedNetOptions())
        .connectingTo(applicationConnectOptions(connect, config, "flightdeck-health")).using(vertx).build();
    Gateway gateway = new Gateway(vertx, appendPool, readPool, healthPool, registry, config);
    gateway.appender = PgEventStore.newAppender(appendPool, config.appender(), gateway.metrics);
    gateway.store = new PgEventStore(readPool, healthPool, gateway.appender);
    return vertx.deployVerticle(gateway.appender)
        .compose(id -> {
          gateway.appenderId = id;
          gateway.listener = new PgStoreListener(connect, gateway.sessions);
          return vertx.deployVerticle(gateway.listener);
        })
        .compose(id -> {
          gateway.listenerId = id;
          return gateway.projections.start(vertx, readPool, gateway.store, projectionConnectOptions(connect, config),
              gateway.sessions, config.projections(), gateway.metrics);
        })
        .compose(v -> gateway.startMetrics(config))
        .compose(v -> vertx.deployVerticle(new LiveFeedVerticle(gateway.store, config.live(), gateway.livePosition,
            gateway.liveConnections, gateway.historyChanges)))
        .compose(id -> {
          gateway.liveFeedId = id;
          return gateway.deployHttp(config, schemaVersion);
        })
        .onSuccess(g -> LOG.info("gateway listening on port {} (schema {}, {} transport)", g.port, schemaVersion,
            vertx.isNativeTransportEnabled() ? "native epoll" : "java.nio"))
        .recover(e -> gateway.stop().transform(ignored -> Future.failedFuture(e)));
  }

  private Future<Void> startMetrics(GatewayConfig config) {
    List<String> names = List.copyOf(projections.projections().keySet());
    metrics.declareProjections(names);
    projectionMetrics = new ProjectionMetrics(metrics, names);
    projectionMetrics.start(vertx, projectionAdmin, config.metrics().sampleIntervalMs());
    if (config.metrics().port() == 0) {
      return Future.succeededFuture();
    }
    MetricsVerticle management = new MetricsVerticle(config.metrics(), config.http(), metricsEndpoint, metrics);
    return vertx.deployVerticle(management).onSuccess(id -> {
      metricsId = id;
      LOG.info("metrics on port {}", management.port());
    }).<Void>mapEmpty()
        .recover(e -> cannotListen("metrics", config.metrics().host(), config.metrics().port(), e));
  }

  /**
   * Reads (the API, read models, admin, the live feed, health) end on the server after db.statementTimeoutMs, and
   * their connections close once nothing came back for a little longer (db.silenceBoundedNetOptions): a server gone
   * silent would otherwise hold each read, and its HTTP request, until TCP gives up (about 15 minutes, or never
   * behind a proxy that keeps the connection open). The read fails as the connection closes and is answered 503
   * with Retry-After, as for a store that is down. An idle pooled connection is closed after as long and opened
   * again by the next read.
   */
  private static PgConnectOptions readConnectOptions(PgConnectOptions base, GatewayConfig config) {
    return applicationConnectOptions(base, config, "flightdeck-read");
  }

  private static PgConnectOptions applicationConnectOptions(PgConnectOptions base, GatewayConfig config,
                                                            String application) {
    return new PgConnectOptions(base)
        .addProperty("application_name", application)
        .addProperty("statement_timeout", config.db().statementTimeoutMs() + "ms");
  }

  /** Appends wait for the position lock; bound that wait so a stuck holder turns into a retry, then a 503. */
  private static long appendLockTimeoutMs(GatewayConfig config) {
    return Math.max(1000, config.appender().retryDeadlineMs());
  }

  /**
   * The server ends an append's statement by then. A server that went silent (a network partition, a frozen host)
   * would hold the append in flight, and every request queued behind it, until TCP gives up: its connection is
   * closed once nothing came back for a little longer (DbConfig.silenceBoundedNetOptions), and the append retried on
   * another, then answered 503 past appender.retryDeadlineMs.
   */
  private static long appendStatementTimeoutMs(GatewayConfig config) {
    return appendLockTimeoutMs(config) + 30_000;
  }

  /**
   * The checked path holds the position lock from its second step to COMMIT, all sent together. Should the network
   * fail between them (a partition, the gateway's host lost), the server's session would sit idle in its transaction
   * holding the lock, and every append, this gateway's retries included, would time out behind it until the server
   * noticed its client gone: hours, with the system's keepalive defaults. The server ends such a session once it has
   * been idle in a transaction for as long as an append waits for the lock (idle_in_transaction_session_timeout), and
   * probes an idle connection's client about as soon as the projections' connections do.
   */
  private static PgConnectOptions appendConnectOptions(PgConnectOptions base, GatewayConfig config) {
    long lockTimeout = appendLockTimeoutMs(config);
    return withServerKeepalive(new PgConnectOptions(base), config)
        .addProperty("application_name", "flightdeck-append")
        .addProperty("lock_timeout", lockTimeout + "ms")
        .addProperty("idle_in_transaction_session_timeout", lockTimeout + "ms")
        // the append statement's plan does not depend on its array arguments; planning it on every execution
        // (PostgreSQL's custom plans) costs more server CPU than running it
        .addProperty("plan_cache_mode", "force_generic_plan")
        .addProperty("statement_timeout", appendStatementTimeoutMs(config) + "ms");
  }

  /**
   * A projection's statements end on the server after db.statementTimeoutMs, as reads do: its connection (see
   * PgSessions) is closed once nothing came back for a little longer, so no statement may legitimately take longer.
   * The server, too, drops the session of a client it cannot reach any more (keepalive probes unanswered for about
   * twice the silence timeout) instead of after the system's default of two hours and more: its advisory lock, the
   * projection's lease, goes with it, so after a partition another process, or this one, can take over.
   */
  private static PgConnectOptions projectionConnectOptions(PgConnectOptions base, GatewayConfig config) {
    return withServerKeepalive(new PgConnectOptions(base), config)
        .addProperty("statement_timeout", config.db().statementTimeoutMs() + "ms");
  }

  /** The server probes the client of an idle connection after db.silenceTimeoutMs and gives up after 3 more probes. */
  private static PgConnectOptions withServerKeepalive(PgConnectOptions options, GatewayConfig config) {
    int probeSeconds = Math.max(1, config.db().silenceTimeoutMs() / 1000);
    return options
        .addProperty("tcp_keepalives_idle", String.valueOf(probeSeconds))
        .addProperty("tcp_keepalives_interval", String.valueOf(Math.max(1, probeSeconds / 3)))
        .addProperty("tcp_keepalives_count", "3");
  }

  private Future<Gateway> deployHttp(GatewayConfig config, String schemaVersion) {
    Sites sites = new Sites(config.sites());
    var mapper = JsonLimits.ingestMapper(config.ingest());
    IngestPipeline ingest =
        new IngestPipeline(sites, new EventValidator(schemas, config.ingest(), mapper), mapper, config.ingest(), store,
            metrics, ForwardedClient.of(config.http()));
    BodyBudget bodies = new BodyBudget(config.http().maxBufferedBodyBytes(), config.ingest().maxBodyBytes());
    metrics.gauge(GatewayMetrics.HTTP_BODY_BUFFERED, "Bytes of tracking request bodies reserved by requests in "
        + "progress (http.maxBufferedBodyBytes)", bodies, BodyBudget::held);
    ResponseBudget answers = new ResponseBudget(config.http().maxUnsentResponseBytes());
    metrics.gauge(GatewayMetrics.HTTP_RESPONSE_UNSENT, "Bytes of read answers built and not yet written to their "
        + "clients (http.maxUnsentResponseBytes)", answers, ResponseBudget::held);
    GatewayServices services = new GatewayServices(config, sites, schemas, new IngestHandler(ingest),
        new SegmentHandler(ingest, new SegmentMapper(schemas, config.ingest())),
        new ReadHandlers(store, answers), new ReadModelHandlers(
            new ReadModels(readPool, vertx, config.db().statementTimeoutMs()), answers),
        new AdminHandlers(projectionAdmin, answers),
        new HealthHandlers(store, schemaVersion, draining::get, listener::listening, projectionMetrics),
        new ConnectionLimit(config.http().maxConnections(), config.http().headerReadTimeoutMs(), metrics),
        bodies,
        hubVertx -> new LiveHub(hubVertx, store, config.live(), livePosition, liveConnections,
            historyChanges),
        metricsEndpoint, metrics);
    int instances = config.http().instances() > 0 ? config.http().instances()
        : VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE;
    // port 0 means "any free port": Vert.x shares one random port among instances only when asked for -1
    int listenPort = config.http().port() == 0 ? -1 : config.http().port();
    HttpVerticle[] deployed = new HttpVerticle[1];
    return vertx.deployVerticle(() -> {
      HttpVerticle v = new HttpVerticle(services, listenPort);
      deployed[0] = v;
      return v;
    }, new DeploymentOptions().setInstances(instances)).map(id -> {
      httpId = id;
      port = deployed[0].actualPort();
      return this;
    }).recover(e -> cannotListen("http", config.http().host(), config.http().port(), e));
  }

  /**
   * A listener that failed (the port taken by another process, mostly): Vert.x says only "bind(..) failed: Address
   * already in use", and with two listeners an operator could not tell which port to change.
   */
  private static <T> Future<T> cannotListen(String section, String host, int port, Throwable e) {
    return Future.failedFuture(new IllegalStateException("cannot listen on " + section + ".port " + port + " ("
        + section + ".host " + host + "): " + e.getMessage(), e));
  }

  public int port() {
    return port;
  }

  /** Stops gracefully: refuse new work, finish in-flight requests and appends, then close the pools. */
  public Future<Void> stop() {
    draining.set(true);
    // an admin change waiting for a projection's lock would hold the HTTP drain until http.shutdownTimeoutMs, then
    // be cut off unanswered: it is answered 503 now
    projectionAdmin.stop();
    Future<Void> http = httpId == null ? Future.succeededFuture() : vertx.undeploy(httpId);
    return http
        .eventually(() -> appenderId == null ? Future.succeededFuture() : vertx.undeploy(appenderId))
        .eventually(() -> projections.stop(vertx))
        .eventually(() -> liveFeedId == null ? Future.succeededFuture() : vertx.undeploy(liveFeedId))
        .eventually(() -> listenerId == null ? Future.succeededFuture() : vertx.undeploy(listenerId))
        .eventually(() -> {
          if (projectionMetrics != null) {
            projectionMetrics.stop(vertx);
          }
          return metricsId == null ? Future.succeededFuture() : vertx.undeploy(metricsId);
        })
        .eventually(() -> Future.join(appendPool.close(), readPool.close(), healthPool.close(), sessions.close()))
        .mapEmpty();
  }

}
