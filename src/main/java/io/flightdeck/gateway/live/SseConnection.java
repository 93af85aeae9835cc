package io.flightdeck.gateway.live;

import io.flightdeck.gateway.api.AccessLog;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.EventStore;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One subscriber's stream, on its event loop: where it is, what it wants, and how it ends. {@code cursor} is the
 * last position accounted for: sent, or filtered out. A live batch that follows the cursor goes out at once. One
 * that starts after the cursor means events were missed (a resume, or a batch that went by before this connection
 * registered), and one bigger than the room left in {@code maxBufferBytes} must go at the client's pace: both go to
 * {@link SseCatchUp}, which holds the live batches meanwhile and switches back to live without a gap or a
 * duplicate. A client is cut off as slow when a live batch does not fit and it has not taken most of what it was
 * sent, or when it takes nothing at all for {@code stallTimeoutMs} while paced: both are seen by {@link SseWriter},
 * which counts the unsent bytes. {@link SseAccessLine} keeps what the stream's access line reports.
 */
final class SseConnection {

  private static final Buffer HEARTBEAT = Buffer.buffer(": heartbeat\n\n");
  private static final String CHANGED = ": the event store's history changed after this event";

  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final LiveFilter filter;
  /** {@code ?unnamed=true}: messages without the {@code event:} line (see {@link LiveEvent#unnamedFrame()}). */
  private final boolean unnamed;
  private final LiveConfig config;
  private final LiveConnections connections;
  private final Consumer<SseConnection> onCut;
  private final SseAccessLine access = new SseAccessLine();
  private final SseWriter writer;
  private final SseCatchUp catchUp;
  private final EventStore store;
  private final HistoryChanges changes;
  private long cursor;
  /** The last id this stream sent on its own, without an event: the greeting's, or a heartbeat's. */
  private long announced;
  /** Whether {@link #start} ran: a resume past what this process published asks the store first. */
  private boolean started;
  /** A resume past what the live feed published: set while the store is asked, and until its check is done. */
  private SseResumeAhead ahead;
  /**
   * The client resumed with an id of a history the store no longer has ({@link HistoryChanges}): the stream starts
   * where it changed, and says so right after the greeting with the id line and comment a live stream gets when the
   * feed goes back there ({@link #rewound}), before any event.
   */
  private final boolean toldChanged;
  private boolean closed;

  SseConnection(Vertx vertx, HttpServerRequest request, LiveFilter filter, boolean unnamed, EventStore store,
                LiveConfig config, AtomicLong published, LiveConnections connections, HistoryChanges changes,
                boolean toldChanged, Consumer<SseConnection> onCut) {
    this.onCut = onCut;
    this.toldChanged = toldChanged;
    this.changes = changes;
    this.request = request;
    this.response = request.response();
    this.filter = filter;
    this.unnamed = unnamed;
    this.config = config;
    this.connections = connections;
    this.store = store;
    this.writer = new SseWriter(this, response, vertx, config, access);
    this.catchUp = new SseCatchUp(this, writer, request, filter, store, config, connections.metrics(),
        published);
  }

  /**
   * Starts after {@code position}; with {@code resume}, first reads what the client missed from the store. The
   * greeting carries {@code position} as its id: EventSource takes an id from a message without data too (and
   * fires no event), so a client that loses the stream before any event reached it still resumes from here with
   * Last-Event-ID; without one, its reconnect would start at whatever was committed by then.
   */
  void start(long position, boolean resume) {
    if (closed) {
      // the client left, or the gateway stopped, while the store's head was asked for
      return;
    }
    started = true;
    cursor = position;
    announced = position;
    writer.write(Buffer.buffer("retry: " + config.retryMs() + "\nid: " + position + "\n: connected\n\n"));
    if (toldChanged) {
      writer.write(changedAfter(position));
    }
    if (resume) {
      catchUp.resume();
    }
  }

  /**
   * A resume past what the live feed published, at {@code base}: the store is asked where to start, then
   * {@link #startAhead} runs. The live batches that go by meanwhile are held (see {@link SseResumeAhead}).
   */
  void awaitStore(long base) {
    ahead = new SseResumeAhead(base, config);
  }

  /**
   * The store answered a resume past the live feed ({@link #awaitStore}) with {@code last}, its last event: the
   * stream starts at the client's {@code id}, or at that event when the id is past it (a store restored from an
   * older backup, a client of another store), since any id this store gave out is at most its last position. The
   * batches held meanwhile follow, as if they had come after the start: a rewind among them takes the stream back,
   * with the id line a live stream gets. A stream that starts past the feed gets them all, checked (see
   * {@link SseResumeAhead}); one that does not reads from the store what it missed, as every resume does.
   */
  void startAhead(long id, AsyncResult<Map<Long, UUID>> last) {
    if (closed) {
      return;
    }
    if (last.failed() || ahead.overflowed()) {
      if (last.failed()) {
        SseCatchUp.readFailed(last.cause());
      }
      // closed at once, as when a catch-up's read fails: the client resumes with its Last-Event-ID
      abort("store_unavailable");
      return;
    }
    long position = Math.min(id, last.result().keySet().stream().findFirst().orElse(0L));
    if (position > ahead.base()) {
      // an id the feed never had: should the store lose it before the feed reads it, a resume with it is told
      changes.startedAhead(position);
    }
    List<LiveBatch> held = ahead.started(position, last.result());
    boolean checking = ahead.checking();
    if (!checking) {
      ahead = null;
    }
    start(position, false);
    for (LiveBatch batch : held) {
      if (checking || batch.rewind()) {
        onBatch(batch);
      }
    }
    if (!checking && !closed) {
      catchUp.resume();
    }
  }

  void onBatch(LiveBatch batch) {
    if (closed) {
      return;
    }
    if (!started) {
      if (ahead != null) {
        ahead.hold(batch);
      }
      return;
    }
    if (ahead != null && checkedAhead(batch)) {
      return;
    }
    if (batch.rewind()) {
      rewound(batch);
      return;
    }
    if (catchUp.behind()) {
      catchUp.holdMeanwhile(batch);
      return;
    }
    if (batch.to() <= cursor) {
      return;
    }
    if (batch.after() > cursor) {
      catchUp.missed(batch);
      return;
    }
    if (!writer.fits(batch.all().length()) && writer.mostlyTaken()) {
      // a batch bigger than the room left, for a client that has taken most of what it was sent: a big batch,
      // not a slow client (a remote socket takes a few KB at once, not a whole batch of big events). It goes out
      // a piece at a time, each once the client has taken most of the one before, as a catch-up does
      catchUp.pace(batch);
      return;
    }
    deliver(batch);
  }

  /**
   * Checks a batch for a stream started past the live feed (see {@link SseResumeAhead}); when it shows the store's
   * history changed, the stream goes back as it does with the feed. Answers whether the stream ended.
   */
  private boolean checkedAhead(LiveBatch batch) {
    SseResumeAhead check = ahead;
    SseResumeAhead.Seen seen = check.check(batch);
    if (!check.checking()) {
      ahead = null;
    }
    if (seen == SseResumeAhead.Seen.ASK) {
      long position = check.lastPosition();
      store.idsBetween(position, position, 1).onComplete(ids -> storeAnswered(check, ids));
    } else if (seen == SseResumeAhead.Seen.CHANGED) {
      aheadChanged(check);
    }
    return closed;
  }

  /**
   * The store's answer to a check's question ({@link SseResumeAhead.Seen#ASK}). When its history changed, the stream
   * goes back, and reads from the store what the feed published since: no batch may come to show it missed them.
   */
  private void storeAnswered(SseResumeAhead check, AsyncResult<Map<Long, UUID>> ids) {
    if (closed || check != ahead || !check.changed(ids)) {
      return;
    }
    ahead = null;
    aheadChanged(check);
    if (!closed && !catchUp.behind()) {
      catchUp.resume();
    }
  }

  /**
   * A check of a stream started past the feed showed the store's history changed: remembered for resumes with an id
   * of the old history ({@link HistoryChanges}), and the stream goes back where the feed was when the client came.
   */
  private void aheadChanged(SseResumeAhead check) {
    changes.changed(check.base(), check.lastPosition());
    rewound(LiveBatch.rewind(check.base()));
  }

  /**
   * The store no longer holds the events after {@code position} (see {@link LiveBatch#rewind}): other events may
   * take their positions. A stream that went past it goes back there and tells the client with an id line, which
   * EventSource takes as its Last-Event-ID, so a reconnect resumes from there too; the events that follow are the
   * store's new ones. One still before it that is catching up lets go of the live batches it held, which may hold
   * lost events, and reads them from the store. A stream catching up past it (its reads went by the old history) is
   * ended instead, after the same id line, and its client resumes from there; one with data still unsent is cut
   * off, as at shutdown, and resumes by its last id.
   */
  private void rewound(LiveBatch rewind) {
    long position = rewind.to();
    if (cursor <= position) {
      if (catchUp.behind()) {
        catchUp.rewound(rewind);
      }
      return;
    }
    Buffer back = changedAfter(position);
    if (!catchUp.behind()) {
      cursor = position;
      announced = position;
      writer.write(back);
    } else if (writer.unsent() > 0) {
      abort("store_history_changed");
    } else {
      writer.write(back);
      ended("store_history_changed");
      closed = true;
      catchUp.dropPending();
      response.end();
    }
  }

  /** The id line, and its comment, that tell a client the store's history changed after {@code position}. */
  private static Buffer changedAfter(long position) {
    return Buffer.buffer("id: " + position + "\n" + CHANGED + "\n\n");
  }

  /**
   * A comment line on a quiet stream. While catching up, only once the client has taken everything sent: a
   * filtered resume may read the store for a long time without a match, and proxies and idle timeouts must not
   * close the stream meanwhile; with data still unsent the client sets the pace, and a heartbeat behind it would
   * only add to its backlog.
   *
   * <p>When the stream has gone past events since the greeting or the last such heartbeat, the heartbeat also
   * carries the cursor as an id, as the greeting does (redundant after a sent event, not after a filter's):
   * EventSource takes it as its Last-Event-ID without firing an event, so a filtered client that reconnects resumes
   * from here instead of reading again everything since its last match. Everything up to the cursor was written
   * before this, in order, so the client has it by the time it reads the id.
   */
  void heartbeat() {
    if (!closed && started && (!catchUp.behind() || writer.unsent() == 0)) {
      if (cursor > announced) {
        announced = cursor;
        writer.write(Buffer.buffer("id: " + cursor + "\n: heartbeat\n\n"));
      } else {
        writer.write(HEARTBEAT);
      }
    }
  }

  void closed() {
    closed = true;
    // the batches held while the store was asked go now, not once it answers
    ahead = null;
    catchUp.dropPending();
    writer.closed();
  }

  /**
   * Ends the stream (shutdown). A client with data still unsent is cut off instead: its end would be queued behind
   * that data, and the server's graceful shutdown would wait for a client that may never read again until
   * {@code http.shutdownTimeoutMs}, past the drain's budget on SIGTERM, so the appender and the projections would not
   * be stopped in order. It resumes from its last id like the others.
   */
  void end() {
    if (writer.unsent() > 0) {
      abort("shutdown");
    } else {
      ended("shutdown");
      if (!closed) {
        closed = true;
        catchUp.dropPending();
        response.end();
      }
    }
  }

  /** Closes the stream at once for {@code reason}, dropping whatever is still queued for the client. */
  void abort(String reason) {
    ended(reason);
    if (!closed) {
      closed();
      Connections.closeNow(request);
    }
  }

  /** Drops a slow client at once: its slot and its buffered data are released now, not at the idle timeout. */
  void cutOff() {
    if (closed) {
      return;
    }
    ended("slow_client");
    closed();
    connections.slowClientDropped();
    onCut.accept(this);
    Connections.closeNow(request);
  }

  boolean isClosed() {
    return closed;
  }

  long cursor() {
    return cursor;
  }

  /** Everything up to {@code position} is accounted for: sent, or filtered out. */
  void cursorTo(long position) {
    cursor = position;
  }

  /** Writes what of {@code batch} comes after the cursor and matches, all at once, and moves the cursor past it. */
  void deliver(LiveBatch batch) {
    int sent = 0;
    if (batch.after() == cursor && filter.all() && !unnamed) {
      sent = batch.events().size();
      writer.write(batch.all(), sent);
    } else {
      Buffer out = Buffer.buffer();
      for (LiveEvent e : batch.events()) {
        if (e.position() > cursor && filter.matches(e)) {
          out.appendBuffer(frame(e));
          sent++;
        }
      }
      if (sent > 0) {
        writer.write(out, sent);
      }
    }
    cursor = batch.to();
    if (sent > 0 && !closed) {
      // (a write that cut the client off delivered nothing: its data was dropped with the connection)
      GatewayMetrics metrics = connections.metrics();
      metrics.sseDelivered().increment(sent);
      metrics.sseLatency().record(System.nanoTime() - batch.notifiedNanos(), TimeUnit.NANOSECONDS);
    }
  }

  Buffer frame(LiveEvent e) {
    return unnamed ? e.unnamedFrame() : e.frame();
  }

  /** The server ends the stream, for {@code reason}: the first reason given is the one logged. */
  private void ended(String reason) {
    if (!closed) {
      access.ended(reason);
    }
  }

  /** For the stream's access line, once it ended. */
  AccessLog.StreamEnd accessEnd() {
    return access.end();
  }
}
