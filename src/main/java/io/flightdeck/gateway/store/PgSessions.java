package io.flightdeck.gateway.store;

import io.flightdeck.gateway.config.DbConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.spi.PgDriver;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.spi.ConnectionFactory;
import java.util.function.Supplier;

/**
 * The process's long-lived dedicated connections (the LISTEN connection, each projection's lease), guarded against a
 * server that goes silent (a network partition, a frozen host, a proxy that stops forwarding): such a connection is
 * closed once nothing has come back on it for {@link DbConfig#silenceTimeoutMs()}, its start-up handshake included,
 * and its owner's reconnect or takeover logic runs. Since these connections may sit idle for hours, each sends
 * {@code SELECT 1} every {@link DbConfig#heartbeatIntervalMs()} ({@link #heartbeat}): a healthy idle connection is
 * then never that silent, and is not closed.
 *
 * <p>The other way round, the server ends such a session once the client has sent nothing on it for the silence
 * timeout. A frozen client process (SIGSTOP, {@code docker pause}, a JVM that stopped running its event loops) keeps
 * its sockets open, and its kernel answers the server's keepalive probes, so without that the server would keep the
 * session, and the projection lease (advisory lock) it holds, for as long as the process stays frozen: no other
 * process could take the projection over.
 *
 * <p>{@code PgConnection.connect} and {@code PgSubscriber} take no TCP options in Vert.x 5 (and no timeout for the
 * handshake: a connection attempt to a silent server waits forever), so connections are made through the driver's
 * connection factory, which does.
 */
public final class PgSessions {

  private final Vertx vertx;
  private final ConnectionFactory<PgConnectOptions> factory;
  private final long heartbeatIntervalMs;
  private final int silenceTimeoutMs;

  public PgSessions(Vertx vertx, DbConfig db) {
    this.vertx = vertx;
    this.factory = PgDriver.INSTANCE.createConnectionFactory(vertx, db.silenceBoundedNetOptions());
    this.heartbeatIntervalMs = db.heartbeatIntervalMs();
    this.silenceTimeoutMs = db.silenceTimeoutMs();
  }

  /**
   * A new connection, on the calling verticle's context, which the server ends once its client has sent nothing for
   * the silence timeout ({@link StoreSql#END_QUIET_SESSIONS}): the heartbeat keeps a live one busier than that.
   */
  public Future<PgConnection> connect(PgConnectOptions options) {
    return factory.connect(vertx.getOrCreateContext(), options).map(PgConnection::cast)
        .compose(c -> c.preparedQuery(StoreSql.END_QUIET_SESSIONS).execute(Tuple.of(silenceTimeoutMs + "ms"))
            .map(c)
            .recover(e -> c.close().transform(closed -> Future.<PgConnection>failedFuture(e))));
  }

  /**
   * Sends {@code SELECT 1} on the connection {@code current} gives (none while it gives null) every heartbeat
   * interval, one at a time, from the calling context; answers the timer, to cancel when done. Its answer, or any
   * other, is all that is needed: silence is noticed by the connection's read-idle timeout. A simple query is safe
   * in the middle of the owner's transaction too.
   */
  public long heartbeat(Supplier<? extends SqlConnection> current) {
    boolean[] inFlight = {false};
    return vertx.setPeriodic(heartbeatIntervalMs, id -> {
      SqlConnection conn = current.get();
      if (conn == null || inFlight[0]) {
        return;
      }
      inFlight[0] = true;
      conn.query("SELECT 1").execute().onComplete(ar -> inFlight[0] = false);
    });
  }

  /** Closes the factory, once the connections it made are closed. */
  public Future<Void> close() {
    Promise<Void> closed = Promise.promise();
    factory.close(closed);
    return closed.future();
  }
}
