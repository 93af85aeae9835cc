package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.config.ProjectionsConfig;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.EventStore;
import io.flightdeck.gateway.store.PgSessions;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The projections of this release and their runners. Every projection gets a checkpoint row at start (a new
 * projection starts at position 0 and replays the whole store on its own); its runner is deployed when the
 * config enables projections in this process.
 */
public final class ProjectionEngine {

  private final Map<String, Projection> projections;
  private final List<String> deployments = new ArrayList<>();

  public ProjectionEngine(List<Projection> projections) {
    Map<String, Projection> byName = new LinkedHashMap<>();
    for (Projection p : projections) {
      if (byName.put(p.name(), p) != null) {
        throw new IllegalArgumentException("two projections are named " + p.name());
      }
    }
    this.projections = Collections.unmodifiableMap(byName);
  }

  public Map<String, Projection> projections() {
    return projections;
  }

  /**
   * Creates missing checkpoints, then (when enabled) deploys the shared reader of new events and one runner
   * verticle per projection, each on its own connection from {@code sessions} made with {@code connect}.
   */
  public Future<Void> start(Vertx vertx, Pool pool, EventStore store, PgConnectOptions connect, PgSessions sessions,
                            ProjectionsConfig config, GatewayMetrics metrics) {
    Future<Void> ensured = pool.preparedQuery(ProjectionSql.ENSURE)
        .execute(Tuple.of((Object) projections.keySet().toArray(String[]::new))).mapEmpty();
    if (!config.enabled()) {
      return ensured;
    }
    String owner = owner();
    // a runner steps at least every poll interval while it runs: two without a step mean none runs here
    RecentEvents recent = new RecentEvents(config.windowEvents(), 2 * config.pollIntervalMs());
    StepGate gate = new StepGate(config.concurrentSteps());
    return ensured.compose(v -> {
      List<Future<String>> deployed = new ArrayList<>();
      deployed.add(deploy(vertx, new RecentEventsReader(recent, store, config, metrics)));
      for (Projection p : projections.values()) {
        deployed.add(deploy(vertx, new ProjectionRunner(p, config, connect, sessions, owner, metrics, recent,
            gate)));
      }
      return Future.all(deployed).mapEmpty();
    });
  }

  private Future<String> deploy(Vertx vertx, VerticleBase verticle) {
    return vertx.deployVerticle(verticle, new DeploymentOptions()).onSuccess(deployments::add);
  }

  /** Stops the runners: each finishes its batch in flight and releases its lock. */
  public Future<Void> stop(Vertx vertx) {
    List<Future<Void>> undeployed = new ArrayList<>();
    for (String id : deployments) {
      undeployed.add(vertx.undeploy(id));
    }
    deployments.clear();
    return Future.join(undeployed).mapEmpty();
  }

  /** host:pid, as the JVM names itself. */
  private static String owner() {
    String name = ManagementFactory.getRuntimeMXBean().getName();
    int at = name.indexOf('@');
    return at < 0 ? name : name.substring(at + 1) + ":" + name.substring(0, at);
  }
}
