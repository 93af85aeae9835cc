package io.flightdeck.gateway.live;

import io.flightdeck.gateway.config.LiveConfig;
import io.vertx.core.AsyncResult;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A resume past what this process's live feed has published: a Last-Event-ID from another gateway process ahead of
 * this one, or one just committed that the feed has not read yet. The stream starts at the client's id (at most the
 * store's last event), but the events up to there were never the feed's: should the store's history change (a
 * failover to a replica lacking the last commits, a restored backup) before the feed reads them, the feed could not
 * take them back ({@link LiveBatch#rewind}), and the stream would skip the new events given their positions without
 * a word. So the stream checks them as the feed checks what it published: the store's last event when it was asked
 * where to start must be the event the feed publishes at that position, and the store must still hold it when a batch
 * ends before it. If not, the stream goes back to where the feed was when the client came, the last position it had
 * checked, as every stream goes back with the feed.
 *
 * <p>The live batches that go by while the store is asked are held, to be checked and handed on in order once it
 * answered: at most {@code maxPendingBatches} and {@code maxPendingBytes} of them, as a catch-up holds.
 */
final class SseResumeAhead {

  private final LiveConfig config;
  /** Where the feed was when the client came: the last position it had checked. */
  private final long base;
  private final ArrayDeque<LiveBatch> held = new ArrayDeque<>();
  private long heldBytes;
  private boolean overflowed;
  /** The store's last event when it answered, which the feed must publish at that position; null once checked. */
  private long lastPosition;
  private UUID lastId;
  /** A question to the store is in flight ({@link Seen#ASK}). */
  private boolean asking;

  SseResumeAhead(long base, LiveConfig config) {
    this.base = base;
    this.config = config;
  }

  /** A live batch that went by while the store was asked. */
  void hold(LiveBatch batch) {
    if (overflowed) {
      return;
    }
    if (held.size() >= config.maxPendingBatches() || heldBytes + batch.all().length() > config.maxPendingBytes()) {
      overflowed = true;
      held.clear();
      heldBytes = 0;
      return;
    }
    held.add(batch);
    heldBytes += batch.all().length();
  }

  /** More went by while the store was asked than is held: the batches are gone, and nothing could be checked. */
  boolean overflowed() {
    return overflowed;
  }

  /**
   * The store answered with {@code last}, its last event (none for an empty store), and the stream starts after
   * {@code start}: checked from now on if that is past the feed. Answers the batches held meanwhile, in order.
   */
  List<LiveBatch> started(long start, Map<Long, UUID> last) {
    if (start > base) {
      for (Map.Entry<Long, UUID> e : last.entrySet()) {
        lastPosition = e.getKey();
        lastId = e.getValue();
      }
    }
    List<LiveBatch> out = List.copyOf(held);
    held.clear();
    heldBytes = 0;
    return out;
  }

  /** Whether the batches to come are still checked: the feed has not published the store's last event yet. */
  boolean checking() {
    return lastId != null;
  }

  /** Where the stream goes back to when the store's history changed: where the feed was when the client came. */
  long base() {
    return base;
  }

  /** The position of the store's last event when it answered: where to ask it again ({@link Seen#ASK}). */
  long lastPosition() {
    return lastPosition;
  }

  /**
   * Checks {@code batch}: {@link Seen#CHANGED} when it shows that the store's history changed since the store
   * answered (another event at the position of its last, or none). A rewind ends the check: the stream goes back
   * with the feed, as every stream does. A batch that ends before that position shows nothing, though new events
   * may have taken lost positions and positions may not reach it again for long: {@link Seen#ASK} the store whether
   * it still holds its last event, unless a question is in flight.
   */
  Seen check(LiveBatch batch) {
    if (lastId == null) {
      return Seen.NOTHING;
    }
    if (!batch.rewind() && batch.to() < lastPosition) {
      // one the feed published before the client came (still on its way) shows nothing new
      if (asking || batch.to() <= base) {
        return Seen.NOTHING;
      }
      asking = true;
      return Seen.ASK;
    }
    UUID expected = lastId;
    lastId = null;
    if (batch.rewind() || batch.after() >= lastPosition) {
      return Seen.NOTHING;
    }
    for (LiveEvent e : batch.events()) {
      if (e.position() == lastPosition) {
        return e.id().equals(expected) ? Seen.NOTHING : Seen.CHANGED;
      }
    }
    return Seen.CHANGED;
  }

  /**
   * The store's answer to {@link Seen#ASK}: its ids at {@link #lastPosition}. Whether the store's history changed
   * (it holds another event there, or none) while the check was still on; a failed read shows nothing (the next
   * batch asks again).
   */
  boolean changed(AsyncResult<Map<Long, UUID>> ids) {
    asking = false;
    if (lastId == null || ids.failed() || lastId.equals(ids.result().get(lastPosition))) {
      return false;
    }
    lastId = null;
    return true;
  }

  /** What a checked batch showed. */
  enum Seen {
    NOTHING, CHANGED, ASK
  }
}
