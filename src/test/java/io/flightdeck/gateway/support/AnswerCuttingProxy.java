package io.flightdeck.gateway.support;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.pgclient.PgConnectOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of the test's PostgreSQL that can lose an answer the way a network does: once armed, the
 * next bytes the server sends to a connection whose startup message names {@code applicationName} are dropped and
 * both sides are closed. The server has done the work by then (committed, say); the client never hears of it.
 * Every other byte passes through unchanged, so the gateway behind it runs as usual.
 */
public final class AnswerCuttingProxy implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final NetServer server;
  private final String applicationName;
  private final AtomicBoolean armed = new AtomicBoolean();
  private final AtomicInteger cut = new AtomicInteger();
  private final TestDatabase target;

  private AnswerCuttingProxy(TestDatabase target, String applicationName) throws Exception {
    this.target = target;
    this.applicationName = applicationName;
    PgConnectOptions to = target.options();
    NetClient client = vertx.createNetClient();
    this.server = vertx.createNetServer().connectHandler(inbound -> {
      inbound.pause();
      client.connect(to.getPort(), to.getHost()).onSuccess(outbound -> pipe(inbound, outbound))
          .onFailure(e -> inbound.close());
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A proxy to the database's server; {@link #url()} reaches the same database through it. */
  public static AnswerCuttingProxy start(TestDatabase target, String applicationName) throws Exception {
    return new AnswerCuttingProxy(target, applicationName);
  }

  public String url() {
    return target.urlVia("127.0.0.1", server.actualPort());
  }

  /** The next answer the server sends to a matching connection is lost, and that connection with it. */
  public void cutNextAnswer() {
    armed.set(true);
  }

  /** Connections cut so far. */
  public int cutConnections() {
    return cut.get();
  }

  private void pipe(NetSocket inbound, NetSocket outbound) {
    // only the first client message (the startup message, in the clear) says which application connects
    boolean[] first = {true};
    boolean[] matches = {false};
    inbound.handler(data -> {
      if (first[0]) {
        first[0] = false;
        matches[0] = data.toString(StandardCharsets.ISO_8859_1).contains(applicationName);
      }
      outbound.write(data);
    });
    outbound.handler(data -> {
      if (matches[0] && armed.compareAndSet(true, false)) {
        cut.incrementAndGet();
        inbound.close();
        outbound.close();
        return;
      }
      inbound.write(data);
    });
    inbound.closeHandler(v -> outbound.close());
    outbound.closeHandler(v -> inbound.close());
    inbound.resume();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
