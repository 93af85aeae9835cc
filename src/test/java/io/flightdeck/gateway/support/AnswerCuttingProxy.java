package io.flightdeck.gateway.support;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.pgclient.PgConnectOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP proxy in front of the test's PostgreSQL that can lose answers the way a network does, on connections whose
 * startup message names {@code applicationName}: the next answer ({@link #cutNextAnswer()}), or every answer from the
 * moment a client sends COMMIT ({@link #loseAnswersFromNextCommit()}), or every byte either way while the network
 * is down ({@link #silence()}), or COMMIT and everything after it, closes included ({@link
 * #partitionBeforeNextCommit()}). The server has done the work by then (committed, say); the client never hears of
 * it. Or it holds an answer back until the test lets it go ({@link #holdAnswerHolding}, {@link #holdNextAnswer}).
 * Every other byte passes through unchanged, so the gateway behind it runs as usual.
 */
public final class AnswerCuttingProxy implements AutoCloseable {

  /** A simple-query message ending a transaction: 'Q', its length (4 + 7), the text and its terminating 0. */
  private static final String COMMIT_QUERY = "Q\0\0\0\u000bCOMMIT\0";
  /** ReadyForQuery with status idle: 'Z', its length (5), 'I'. */
  private static final String READY_IDLE = "Z\0\0\0\u0005I";

  private final Vertx vertx = Vertx.vertx();
  private final NetServer server;
  private final String applicationName;
  private final AtomicBoolean armed = new AtomicBoolean();
  private final AtomicBoolean commitArmed = new AtomicBoolean();
  private final AtomicInteger cut = new AtomicInteger();
  private final AtomicBoolean silent = new AtomicBoolean();
  private final AtomicBoolean partitionArmed = new AtomicBoolean();
  private final AtomicInteger partitioned = new AtomicInteger();
  private final TestDatabase target;
  private final AtomicReference<String> holdMarker = new AtomicReference<>();
  /** How to let each held answer go, on its connection's context. */
  private final List<Runnable> held = new ArrayList<>();

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

  /**
   * Once a matching connection's client sends COMMIT (as a simple query), every answer the server sends after that
   * is lost, the answers to whatever was sent with COMMIT included: with a pipelined transaction, the statement's
   * answer as well as COMMIT's. The server runs all it was sent to the end; once it reports itself idle again
   * (ReadyForQuery 'I') both sides of that connection are closed.
   */
  public void loseAnswersFromNextCommit() {
    commitArmed.set(true);
  }

  /**
   * Matching connections go silent, as across a network partition or to a frozen host: from now on nothing passes
   * either way on them, and they stay open. A connection that lost bytes stays silent after {@link #speak()}.
   */
  public void silence() {
    silent.set(true);
  }

  /**
   * The network between a matching connection's client and server fails just before the client's next COMMIT (a
   * simple query) reaches the server: what the client sent before COMMIT in the same write is delivered, COMMIT and
   * everything after it either way is lost, and neither side hears of the other closing (as across a partition: the
   * server's session stays open, in its transaction, until the server itself gives up on it).
   */
  public void partitionBeforeNextCommit() {
    partitionArmed.set(true);
  }

  /** Connections {@link #partitionBeforeNextCommit()} has cut off so far. */
  public int partitionedConnections() {
    return partitioned.get();
  }

  /** New matching connections pass again (the network is back); the ones that went silent stay so. */
  public void speak() {
    silent.set(false);
  }

  /**
   * The next answer the server sends to a matching connection with {@code marker} in it (a value of a row it
   * returns) is held back, from the bytes holding the marker on, and everything after it on that connection, until
   * {@link #releaseHeld()}: the server has run the statement, the client hears of it only then.
   */
  public void holdAnswerHolding(String marker) {
    holdMarker.set(marker);
  }

  /** The next answer the server sends to a matching connection is held back, as with {@link #holdAnswerHolding}. */
  public void holdNextAnswer() {
    holdMarker.set("");
  }

  /** How many answers are held back now. */
  public int heldAnswers() {
    synchronized (held) {
      return held.size();
    }
  }

  /** Lets every held answer go on, in order. */
  public void releaseHeld() {
    synchronized (held) {
      held.forEach(Runnable::run);
      held.clear();
    }
  }

  /** Connections cut so far. */
  public int cutConnections() {
    return cut.get();
  }

  private void pipe(NetSocket inbound, NetSocket outbound) {
    // only the first client message (the startup message, in the clear) says which application connects
    boolean[] first = {true};
    boolean[] matches = {false};
    // set by the client side's handler, read by the server side's: the two sockets may be on different threads
    AtomicBoolean losing = new AtomicBoolean();
    Buffer[] tail = {Buffer.buffer()};
    AtomicBoolean deaf = new AtomicBoolean();
    // a partitioned connection's closes do not pass either: each side stays open until it gives up on its own
    AtomicBoolean cutOff = new AtomicBoolean();
    // what is held back of this connection's answers; null while they pass (touched on the server side's context)
    Buffer[] holding = {null};
    Buffer[] seenTail = {Buffer.buffer()};
    inbound.handler(data -> {
      if (first[0]) {
        first[0] = false;
        matches[0] = data.toString(StandardCharsets.ISO_8859_1).contains(applicationName);
      }
      if (silenced(matches[0], deaf)) {
        return;
      }
      int commitAt = matches[0] ? data.toString(StandardCharsets.ISO_8859_1).indexOf(COMMIT_QUERY) : -1;
      if (commitAt >= 0 && partitionArmed.compareAndSet(true, false)) {
        partitioned.incrementAndGet();
        cutOff.set(true);
        deaf.set(true);
        outbound.write(data.getBuffer(0, commitAt));
        return;
      }
      if (commitAt >= 0 && commitArmed.compareAndSet(true, false)) {
        losing.set(true);
      }
      outbound.write(data);
    });
    outbound.handler(data -> {
      if (silenced(matches[0], deaf)) {
        return;
      }
      if (losing.get()) {
        // dropped; the idle marker may straddle two reads, so the last bytes of the previous one are kept
        Buffer seen = tail[0].copy().appendBuffer(data);
        if (seen.toString(StandardCharsets.ISO_8859_1).contains(READY_IDLE)) {
          cut(inbound, outbound);
        } else {
          tail[0] = seen.getBuffer(Math.max(0, seen.length() - READY_IDLE.length() + 1), seen.length());
        }
        return;
      }
      if (matches[0] && armed.compareAndSet(true, false)) {
        cut(inbound, outbound);
        return;
      }
      if (holding[0] != null) {
        holding[0].appendBuffer(data);
        return;
      }
      if (matches[0] && startsHolding(seenTail, data)) {
        holding[0] = data.copy();
        Context context = Vertx.currentContext();
        synchronized (held) {
          held.add(() -> context.runOnContext(v -> {
            inbound.write(holding[0]);
            holding[0] = null;
          }));
        }
        return;
      }
      inbound.write(data);
    });
    inbound.closeHandler(v -> {
      if (!cutOff.get()) {
        outbound.close();
      }
    });
    outbound.closeHandler(v -> {
      if (!cutOff.get()) {
        inbound.close();
      }
    });
    inbound.resume();
  }

  /** Whether {@code data} holds the marker to hold an answer at (which may straddle two reads): once only. */
  private boolean startsHolding(Buffer[] seenTail, Buffer data) {
    String marker = holdMarker.get();
    if (marker == null) {
      return false;
    }
    if (marker.isEmpty()) {
      return holdMarker.compareAndSet(marker, null);
    }
    Buffer seen = seenTail[0].copy().appendBuffer(data);
    seenTail[0] = seen.getBuffer(Math.max(0, seen.length() - marker.length() + 1), seen.length());
    return seen.toString(StandardCharsets.ISO_8859_1).contains(marker) && holdMarker.compareAndSet(marker, null);
  }

  /** Whether a connection's bytes are dropped now; once one is, all of that connection's are. */
  private boolean silenced(boolean matches, AtomicBoolean deaf) {
    if (matches && silent.get()) {
      deaf.set(true);
    }
    return deaf.get();
  }

  private void cut(NetSocket inbound, NetSocket outbound) {
    cut.incrementAndGet();
    inbound.close();
    outbound.close();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
