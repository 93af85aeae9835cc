package io.flightdeck.gateway.live;

import io.flightdeck.gateway.api.LogThrottle;
import io.flightdeck.gateway.config.LiveConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.EventStore;
import io.vertx.core.AsyncResult;
import io.vertx.core.http.HttpServerRequest;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stream behind the live feed, brought back to it at its client's pace without a gap or a duplicate: reads what
 * the client missed from the store a page at a time, holds the live batches that arrive meanwhile (or drops them, to
 * be read from the store, once too many are held), and hands the held batches out in order, a big one a piece at a
 * time ({@link SsePieces}). Each next page or piece goes once the client has taken most of the one before
 * ({@link SseWriter#awaitDrain}), so a stream holds about {@code maxBufferBytes} unsent whatever the events' size.
 * The cursor stays the stream's ({@link SseConnection}): this moves it past what it sent or filtered out.
 *
 * <p>It reads no further than the live feed has published: an event the feed has not seen yet may be lost when the
 * store's history changes (a failover), and the feed could not take back what it never published, so a stream past
 * it would skip the new events given that position and never be told (see {@link LiveBatch#rewind}). What comes
 * after is the feed's to give, in the batches that follow: a catch-up that saw more in the store waits for them, still
 * at its client's pace, and goes live only once it has gone as far as it saw.
 */
final class SseCatchUp {

  private static final Logger LOG = LoggerFactory.getLogger(SseCatchUp.class);
  /**
   * One line a second at most: when the store is down, every resuming stream's read fails at once. The streams' access
   * lines say they ended for store_unavailable; this says why the reads failed.
   */
  private static final LogThrottle READ_FAILURES = new LogThrottle(1, TimeUnit.SECONDS);

  private final SseConnection stream;
  private final SseWriter writer;
  private final HttpServerRequest request;
  private final LiveFilter filter;
  private final EventStore store;
  private final LiveConfig config;
  private final GatewayMetrics metrics;
  /** How far the live feed has published (shared with it): how far a catch-up reads. */
  private final AtomicLong published;
  // made once: a paced stream waits for its client once per page or piece
  private final Runnable nextPage = this::readPage;
  private final Runnable nextHeld = this::drainPending;
  private final ArrayDeque<LiveBatch> pending = new ArrayDeque<>();
  /** The bytes of the batches in {@code pending}. */
  private long pendingBytes;
  /** Behind the live feed: reading the store, or handing out held batches at the client's pace. */
  private boolean behind;
  /** The kernel holds little unsent for this stream while it resumes ({@link Connections#limitKernelUnsent}). */
  private boolean kernelUnsentLimited;
  /** How many times the store's history changed under this stream ({@link #rewound}): a page read before is stale. */
  private int rewinds;
  /** The furthest position a read saw in the store beyond what the feed had published: live only once past it. */
  private long seenInStore;
  /** Nothing to do until the feed publishes what a read saw beyond it: its next batch starts the catch-up again. */
  private boolean waitingForFeed;

  SseCatchUp(SseConnection stream, SseWriter writer, HttpServerRequest request, LiveFilter filter, EventStore store,
             LiveConfig config, GatewayMetrics metrics, AtomicLong published) {
    this.stream = stream;
    this.writer = writer;
    this.request = request;
    this.filter = filter;
    this.store = store;
    this.config = config;
    this.metrics = metrics;
    this.published = published;
  }

  /** Whether the stream is behind the live feed: live batches go to {@link #holdMeanwhile}. */
  boolean behind() {
    return behind;
  }

  /** A resume ({@code Last-Event-ID}): reads what the client missed from the store first. */
  void resume() {
    behind = true;
    // a resume is read at the client's pace: its progress must show (see Connections#limitKernelUnsent)
    kernelUnsentLimited = true;
    Connections.limitKernelUnsent(request, true);
    readPage();
  }

  /** A live batch that starts after the cursor: what came before it is read from the store, then it follows. */
  void missed(LiveBatch batch) {
    behind = true;
    hold(batch);
    readPage();
  }

  /** A live batch bigger than the room left, for a client that has taken most of what it was sent. */
  void pace(LiveBatch batch) {
    behind = true;
    hold(batch);
    drainPending();
  }

  /** A live batch that arrives while behind: held for later, the store's to give once too many are held. */
  void holdMeanwhile(LiveBatch batch) {
    if (pending.size() >= config.maxPendingBatches()
        || pendingBytes + batch.all().length() > config.maxPendingBytes()) {
      // the store has them all: read them from there instead of holding memory
      dropPending();
    }
    hold(batch);
    feedCaughtUp();
  }

  /**
   * The store's history changed after {@code rewind}'s position, which this stream has not gone past (see
   * {@link LiveBatch#rewind}). The live batches held may hold lost events: they go, and the store has what replaced
   * them. The rewind itself is held in their place: it tells {@link #drainPending} that the events up to its
   * position are the store's to give, so the stream does not go live before it has read them (a paced batch's rest,
   * say), which it would otherwise do only once another batch showed it had missed them.
   */
  void rewound(LiveBatch rewind) {
    rewinds++;
    dropPending();
    hold(rewind);
    // what a read saw beyond the feed may be lost: the feed's position from now on tells
    seenInStore = Math.min(seenInStore, rewind.to());
    feedCaughtUp();
  }

  private void feedCaughtUp() {
    if (waitingForFeed) {
      waitingForFeed = false;
      drainPending();
    }
  }

  /**
   * Logs (throttled) a read of the store that failed a resuming stream: its catch-up's, or the ask where a resume past
   * the feed starts ({@link SseConnection#startAhead}). The stream is closed for store_unavailable by the caller.
   */
  static void readFailed(Throwable failure) {
    READ_FAILURES.log(n -> LOG.warn("live: {} read(s) of the store for a resuming stream failed (a catch-up read, or "
        + "where a resume starts), their streams closed; clients resume with Last-Event-ID: {}", n, why(failure)));
  }

  /** A failure's message and, under it, its innermost cause's (the store's own words: a timeout, a refusal). */
  private static String why(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == failure ? String.valueOf(failure.getMessage()) : failure.getMessage() + ": " + root.getMessage();
  }

  void dropPending() {
    pending.clear();
    pendingBytes = 0;
  }

  private void readPage() {
    // taken before the read: every event up to there was committed, so the read sees it
    long upTo = published.get();
    int asked = rewinds;
    store.readAll(stream.cursor(), config.catchUpPageSize()).onComplete(ar -> onPage(ar, upTo, asked));
  }

  private void onPage(AsyncResult<EventPages.Page> ar, long upTo, int asked) {
    if (stream.isClosed()) {
      return;
    }
    if (ar.failed()) {
      readFailed(ar.cause());
      // the client resumes with Last-Event-ID once the store answers again. Closed at once, as a cut-off is:
      // a graceful close would wait for a client that stopped reading to take what is still queued for it
      stream.abort("store_unavailable");
      return;
    }
    if (asked != rewinds) {
      // read before the store's history changed, it may hold lost events; the cursor is still before the change (a
      // stream past it ended), so it is read again from there, on the new history
      readPage();
      return;
    }
    List<EventEnvelope> events = ar.result().events();
    boolean full = writePage(events, upTo);
    if (stream.isClosed()) {
      return;
    }
    boolean rest = full || (ar.result().more() && events.get(events.size() - 1).position() <= upTo);
    if (!rest) {
      // the store had nothing else up to there: what follows is the feed's to give
      stream.cursorTo(Math.max(stream.cursor(), upTo));
      if (!events.isEmpty()) {
        seenInStore = Math.max(seenInStore, events.get(events.size() - 1).position());
      }
    }
    Runnable next = rest ? nextPage : nextHeld;
    if (!writer.mostlyTaken()) {
      // read the next page only once the client has taken most of this one: a resuming client reads at its own
      // pace, and memory stays at about one page. Nor does it go live before: a live write counts what is still
      // unsent against maxBufferBytes, and the end of the catch-up would count as a slow client's backlog
      writer.awaitDrain(next);
    } else {
      next.run();
    }
  }

  /**
   * Writes what of a page up to {@code upTo} matches, until about {@code maxBufferBytes} are unsent; answers whether
   * it stopped there.
   */
  private boolean writePage(List<EventEnvelope> events, long upTo) {
    SsePieces pieces = new SsePieces(writer, metrics);
    boolean full = false;
    for (EventEnvelope e : events) {
      if (e.position() > upTo) {
        break;
      }
      // serialized only when it is sent: a filtered resume may skip most of what it reads
      boolean room = !filter.matches(e.type(), e.streamId(), e.metadata().getString("site"))
          || pieces.add(stream.frame(LiveEvent.of(e)));
      stream.cursorTo(e.position());
      if (!room) {
        // at most about maxBufferBytes unsent whatever the events' size: the rest of the page is read again
        full = true;
        break;
      }
    }
    pieces.flush();
    return full;
  }

  /**
   * Hands out the held batches in order at the client's pace: of each, what fits in about {@code maxBufferBytes}
   * unsent, the rest once the client has taken most of it. Goes live once nothing is held and the client has taken
   * most of what it was sent, so the first live write finds room for a batch.
   */
  private void drainPending() {
    while (!pending.isEmpty()) {
      LiveBatch next = pending.peek();
      if (next.to() <= stream.cursor()) {
        releaseFirst();
        continue;
      }
      if (next.after() > stream.cursor()) {
        // committed and published, but after the read above (or dropped from a full queue): read again
        readPage();
        return;
      }
      if (!writer.mostlyTaken()) {
        writer.awaitDrain(nextHeld);
        return;
      }
      if (deliverPart(next)) {
        releaseFirst();
      }
      if (stream.isClosed()) {
        return;
      }
    }
    if (!writer.mostlyTaken()) {
      writer.awaitDrain(nextHeld);
      return;
    }
    if (stream.cursor() < seenInStore) {
      waitingForFeed = true;
      return;
    }
    goLive();
  }

  private void goLive() {
    behind = false;
    if (kernelUnsentLimited) {
      // live: the kernel's buffer is slack for a client's short pauses again, as on every other stream
      kernelUnsentLimited = false;
      Connections.limitKernelUnsent(request, false);
    }
  }

  /**
   * Writes what of {@code batch} comes after the cursor and matches, until about {@code maxBufferBytes} are unsent;
   * answers whether that got to the batch's end. Called with at most half of it unsent, so each call gets further.
   */
  private boolean deliverPart(LiveBatch batch) {
    if (batch.after() == stream.cursor() && writer.fits(batch.all().length())) {
      stream.deliver(batch);
      return true;
    }
    SsePieces pieces = new SsePieces(writer, metrics);
    for (LiveEvent e : batch.events()) {
      if (e.position() <= stream.cursor()) {
        continue;
      }
      boolean room = !filter.matches(e) || pieces.add(stream.frame(e));
      stream.cursorTo(e.position());
      if (!room) {
        pieces.flush();
        return stream.cursor() == batch.to();
      }
    }
    stream.cursorTo(batch.to());
    if (pieces.flush() > 0) {
      metrics.sseLatency().record(System.nanoTime() - batch.notifiedNanos(), TimeUnit.NANOSECONDS);
    }
    return true;
  }

  private void hold(LiveBatch batch) {
    pending.add(batch);
    pendingBytes += batch.all().length();
  }

  private void releaseFirst() {
    pendingBytes -= pending.poll().all().length();
  }
}
