package io.flightdeck.gateway.live;

import io.flightdeck.gateway.api.AccessLog;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.EventStore;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One subscriber's stream, on its event loop. {@code cursor} is the last position accounted for: sent, or
 * filtered out. A live batch that starts after the cursor means events were missed (a resume, or a batch that
 * went by before this connection registered): the connection then reads the difference from the store, holding
 * the live batches that arrive meanwhile, and switches back to live without a gap or a duplicate. A batch bigger
 * than the room left in {@code maxBufferBytes} is held the same way and handed out a piece at a time, at the
 * client's pace ({@link #drainPending}). A client is cut off as slow when a live batch does not fit and it has
 * not taken most of what it was sent, or when it takes nothing at all for {@code stallTimeoutMs} while paced.
 */
final class SseConnection {

  private static final Buffer HEARTBEAT = Buffer.buffer(": heartbeat\n\n");
  /** A catch-up page, or a big batch, goes to the socket in writes of about this many bytes (see {@link Pieces}). */
  private static final int CATCH_UP_WRITE_BYTES = 32 * 1024;

  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final LiveFilter filter;
  /** {@code ?unnamed=true}: messages without the {@code event:} line (see {@link LiveEvent#unnamedFrame()}). */
  private final boolean unnamed;
  private final EventStore store;
  private final LiveConfig config;
  private final LiveConnections connections;
  private final Vertx vertx;
  private final Consumer<SseConnection> onCut;
  /** Bytes handed to the connection and not yet written to the socket. */
  private long unsentBytes;
  private Runnable afterDrain;
  private long drainTimer = -1;
  /** While waiting for a drain: when a write last completed, that is, when the client last took something. */
  private long lastProgressNanos;
  private final ArrayDeque<LiveBatch> pending = new ArrayDeque<>();
  /** The bytes of the batches in {@code pending}. */
  private long pendingBytes;
  private long cursor;
  /** The last id this stream sent on its own, without an event: the greeting's, or a heartbeat's. */
  private long announced;
  /** Behind the live feed: reading the store, or handing out held batches at the client's pace. */
  private boolean catchingUp;
  /** The kernel holds little unsent for this stream while it resumes ({@link Connections#limitKernelUnsent}). */
  private boolean kernelUnsentLimited;
  private boolean closed;
  /** For the access line: the events and bytes written to the socket, and why the server ended the stream. */
  private long sentEvents;
  private long sentBytes;
  /** Set when the server ends the stream; null when the client did (or its connection went). */
  private String endReason;

  SseConnection(Vertx vertx, HttpServerRequest request, LiveFilter filter, boolean unnamed, EventStore store,
                LiveConfig config, LiveConnections connections, Consumer<SseConnection> onCut) {
    this.vertx = vertx;
    this.onCut = onCut;
    this.request = request;
    this.response = request.response();
    this.filter = filter;
    this.unnamed = unnamed;
    this.store = store;
    this.config = config;
    this.connections = connections;
  }

  /**
   * Starts after {@code position}; with {@code resume}, first reads what the client missed from the store. The
   * greeting carries {@code position} as its id: EventSource takes an id from a message without data too (and
   * fires no event), so a client that loses the stream before any event reached it still resumes from here with
   * Last-Event-ID; without one, its reconnect would start at whatever was committed by then.
   */
  void start(long position, boolean resume) {
    cursor = position;
    announced = position;
    write(Buffer.buffer("retry: " + config.retryMs() + "\nid: " + position + "\n: connected\n\n"));
    if (resume) {
      catchingUp = true;
      // a resume is read at the client's pace: its progress must show (see Connections#limitKernelUnsent)
      kernelUnsentLimited = true;
      Connections.limitKernelUnsent(request, true);
      catchUp();
    }
  }

  void onBatch(LiveBatch batch) {
    if (closed) {
      return;
    }
    if (catchingUp) {
      if (pending.size() >= config.maxPendingBatches()
          || pendingBytes + batch.all().length() > config.maxPendingBytes()) {
        // the store has them all: read them from there instead of holding memory
        dropPending();
      }
      hold(batch);
      return;
    }
    if (batch.to() <= cursor) {
      return;
    }
    if (batch.after() > cursor) {
      catchingUp = true;
      hold(batch);
      catchUp();
      return;
    }
    if (unsentBytes + batch.all().length() > config.maxBufferBytes() && unsentBytes <= config.maxBufferBytes() / 2) {
      // a batch bigger than the room left, for a client that has taken most of what it was sent: a big batch,
      // not a slow client (a remote socket takes a few KB at once, not a whole batch of big events). It goes out
      // a piece at a time, each once the client has taken most of the one before, as a catch-up does
      catchingUp = true;
      hold(batch);
      drainPending();
      return;
    }
    deliver(batch);
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
    if (!closed && (!catchingUp || unsentBytes == 0)) {
      if (cursor > announced) {
        announced = cursor;
        write(Buffer.buffer("id: " + cursor + "\n: heartbeat\n\n"));
      } else {
        write(HEARTBEAT);
      }
    }
  }

  void closed() {
    closed = true;
    dropPending();
    if (drainTimer >= 0) {
      vertx.cancelTimer(drainTimer);
      drainTimer = -1;
    }
  }

  /**
   * Ends the stream (shutdown). A client with data still unsent is cut off instead: its end would be queued behind
   * that data, and the server's graceful shutdown would wait for a client that may never read again until
   * {@code http.shutdownTimeoutMs}, past the drain's budget on SIGTERM, so the appender and the projections would not
   * be stopped in order. It resumes from its last id like the others.
   */
  void end() {
    ended("shutdown");
    if (unsentBytes > 0) {
      abort();
    } else if (!closed) {
      closed = true;
      dropPending();
      response.end();
    }
  }

  /** Closes the stream at once, dropping whatever is still queued for the client. */
  private void abort() {
    if (!closed) {
      closed();
      Connections.closeNow(request);
    }
  }

  private void deliver(LiveBatch batch) {
    int sent = 0;
    if (batch.after() == cursor && filter.all() && !unnamed) {
      sent = batch.events().size();
      write(batch.all(), sent);
    } else {
      Buffer out = Buffer.buffer();
      for (LiveEvent e : batch.events()) {
        if (e.position() > cursor && filter.matches(e)) {
          out.appendBuffer(frame(e));
          sent++;
        }
      }
      if (sent > 0) {
        write(out, sent);
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

  private void catchUp() {
    store.readAll(cursor, config.catchUpPageSize()).onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        // the client resumes with Last-Event-ID once the store answers again. Closed at once, as a cut-off is:
        // a graceful close would wait for a client that stopped reading to take what is still queued for it
        ended("store_unavailable");
        abort();
        return;
      }
      List<EventEnvelope> events = ar.result().events();
      Pieces pieces = new Pieces();
      boolean full = false;
      for (EventEnvelope e : events) {
        // serialized only when it is sent: a filtered resume may skip most of what it reads
        boolean room = !filter.matches(e.type(), e.streamId(), e.metadata().getString("site"))
            || pieces.add(frame(LiveEvent.of(e)));
        cursor = e.position();
        if (!room) {
          // at most about maxBufferBytes unsent whatever the events' size: the rest of the page is read again
          full = true;
          break;
        }
      }
      pieces.flush();
      if (closed) {
        return;
      }
      Runnable next = full || ar.result().more() ? this::catchUp : this::drainPending;
      if (unsentBytes > config.maxBufferBytes() / 2) {
        // read the next page only once the client has taken most of this one: a resuming client reads at its own
        // pace, and memory stays at about one page. Nor does it go live before: a live write counts what is still
        // unsent against maxBufferBytes, and the end of the catch-up would count as a slow client's backlog
        awaitDrain(next);
      } else {
        next.run();
      }
    });
  }

  /**
   * Runs {@code next} once the client has taken most of what it was sent; a client that takes nothing at all for
   * {@code stallTimeoutMs} is cut off. Any write that completes meanwhile is progress and starts that time again.
   */
  private void awaitDrain(Runnable next) {
    afterDrain = next;
    lastProgressNanos = System.nanoTime();
    armStallTimer(config.stallTimeoutMs());
  }

  /** One timer per wait, not one per write: when it fires after progress, it waits out the rest of the time. */
  private void armStallTimer(long delayMs) {
    drainTimer = vertx.setTimer(Math.max(1, delayMs), id -> {
      drainTimer = -1;
      long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastProgressNanos);
      if (idleMs >= config.stallTimeoutMs()) {
        cutOff();
      } else {
        armStallTimer(config.stallTimeoutMs() - idleMs);
      }
    });
  }

  private void written(int bytes) {
    unsentBytes -= bytes;
    if (afterDrain == null) {
      return;
    }
    lastProgressNanos = System.nanoTime();
    if (unsentBytes <= config.maxBufferBytes() / 2) {
      Runnable next = afterDrain;
      afterDrain = null;
      vertx.cancelTimer(drainTimer);
      drainTimer = -1;
      if (!closed) {
        next.run();
      }
    }
  }

  /**
   * Hands out the held batches in order at the client's pace: of each, what fits in about {@code maxBufferBytes}
   * unsent, the rest once the client has taken most of it. Goes live once nothing is held and the client has taken
   * most of what it was sent, so the first live write finds room for a batch.
   */
  private void drainPending() {
    while (!pending.isEmpty()) {
      LiveBatch next = pending.peek();
      if (next.to() <= cursor) {
        releaseFirst();
        continue;
      }
      if (next.after() > cursor) {
        // committed and published, but after the read above (or dropped from a full queue): read again
        catchUp();
        return;
      }
      if (unsentBytes > config.maxBufferBytes() / 2) {
        awaitDrain(this::drainPending);
        return;
      }
      if (deliverPart(next)) {
        releaseFirst();
      }
      if (closed) {
        return;
      }
    }
    if (unsentBytes > config.maxBufferBytes() / 2) {
      awaitDrain(this::drainPending);
      return;
    }
    catchingUp = false;
    if (kernelUnsentLimited) {
      // live: the kernel's buffer is slack for a client's short pauses again, as on every other stream
      kernelUnsentLimited = false;
      Connections.limitKernelUnsent(request, false);
    }
  }

  private void hold(LiveBatch batch) {
    pending.add(batch);
    pendingBytes += batch.all().length();
  }

  private void releaseFirst() {
    pendingBytes -= pending.poll().all().length();
  }

  private void dropPending() {
    pending.clear();
    pendingBytes = 0;
  }

  /**
   * Writes what of {@code batch} comes after the cursor and matches, until about {@code maxBufferBytes} are unsent;
   * answers whether that got to the batch's end. Called with at most half of it unsent, so each call gets further.
   */
  private boolean deliverPart(LiveBatch batch) {
    if (batch.after() == cursor && unsentBytes + batch.all().length() <= config.maxBufferBytes()) {
      deliver(batch);
      return true;
    }
    Pieces pieces = new Pieces();
    for (LiveEvent e : batch.events()) {
      if (e.position() <= cursor) {
        continue;
      }
      boolean room = !filter.matches(e) || pieces.add(frame(e));
      cursor = e.position();
      if (!room) {
        pieces.flush();
        return cursor == batch.to();
      }
    }
    cursor = batch.to();
    if (pieces.flush() > 0) {
      connections.metrics().sseLatency().record(System.nanoTime() - batch.notifiedNanos(), TimeUnit.NANOSECONDS);
    }
    return true;
  }

  private Buffer frame(LiveEvent e) {
    return unnamed ? e.unnamedFrame() : e.frame();
  }

  /**
   * Writes live data. A client that lets more than {@code maxBufferBytes} pile up unsent is cut off rather than
   * buffered without bound; it resumes from its last id. Bytes are counted here, from each write to its completion
   * (the data reached the socket, or the HTTP/2 flow-control window let it go), because Vert.x's own write-queue
   * check counts writes, not bytes, and does nothing for HTTP/2 streams. {@code buffer} holds {@code events} events.
   */
  private void write(Buffer buffer, int events) {
    writeQueued(buffer, events);
    if (!closed && unsentBytes > config.maxBufferBytes()) {
      cutOff();
    }
  }

  /** A message without an event: the greeting, a heartbeat. */
  private void write(Buffer buffer) {
    write(buffer, 0);
  }

  private void writeQueued(Buffer buffer, int events) {
    if (closed) {
      return;
    }
    int bytes = buffer.length();
    unsentBytes += bytes;
    response.write(buffer).onComplete(ar -> {
      if (ar.succeeded()) {
        sentEvents += events;
        sentBytes += bytes;
      }
      written(bytes);
    });
  }

  /** The server ends the stream, for {@code reason}: the first reason given is the one logged. */
  private void ended(String reason) {
    if (endReason == null && !closed) {
      endReason = reason;
    }
  }

  /** For the stream's access line, once it ended. */
  AccessLog.StreamEnd accessEnd() {
    return new AccessLog.StreamEnd(sentEvents, sentBytes, endReason == null ? "client_closed" : endReason);
  }

  /**
   * Messages for the socket, gathered into writes of about {@link #CATCH_UP_WRITE_BYTES}: each write's completion
   * shows the client's progress (one write of a whole page would complete only once the client had taken all of it).
   */
  private final class Pieces {

    private Buffer out;
    /** The messages in {@code out}. */
    private int inOut;
    private int sent;

    /** Adds one message; answers whether there is room for more (at most about maxBufferBytes unsent). */
    boolean add(Buffer frame) {
      out = out == null ? Buffer.buffer() : out;
      out.appendBuffer(frame);
      inOut++;
      sent++;
      if (out.length() >= CATCH_UP_WRITE_BYTES) {
        writeOut();
      }
      return unsentBytes + (out == null ? 0 : out.length()) <= config.maxBufferBytes();
    }

    /** Writes what is gathered; answers how many messages were added in all. */
    int flush() {
      if (out != null) {
        writeOut();
      }
      if (sent > 0) {
        connections.metrics().sseDelivered().increment(sent);
      }
      return sent;
    }

    private void writeOut() {
      writeQueued(out, inOut);
      out = null;
      inOut = 0;
    }
  }

  /** Drops a slow client at once: its slot and its buffered data are released now, not at the idle timeout. */
  private void cutOff() {
    if (closed) {
      return;
    }
    ended("slow_client");
    closed();
    connections.slowClientDropped();
    onCut.accept(this);
    Connections.closeNow(request);
  }
}
