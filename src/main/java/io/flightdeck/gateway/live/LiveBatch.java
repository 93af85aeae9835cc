package io.flightdeck.gateway.live;

import io.vertx.core.buffer.Buffer;
import java.util.List;

/**
 * Events the live feed read in one go, in position order. {@code after} is the feed's position before them and
 * {@code to} after them: a connection whose own position is below {@code after} missed a batch and must read
 * the difference from the store first. Positions can have holes (rolled-back appends), so "after" and "to",
 * not position + 1, tell whether batches follow each other.
 *
 * @param all every frame of the batch, concatenated once, for the connections without filters
 * @param notifiedNanos when the notification that led to this batch reached the process ({@code System.nanoTime})
 * @param rewind no events: the store's history changed after {@code to}, and the feed goes on from there (see
 *     {@link #rewind(long)})
 */
public record LiveBatch(long after, long to, List<LiveEvent> events, Buffer all, long notifiedNanos, boolean rewind) {

  public static LiveBatch of(long after, long to, List<LiveEvent> events, long notifiedNanos) {
    Buffer all = Buffer.buffer();
    for (LiveEvent e : events) {
      all.appendBuffer(e.frame());
    }
    return new LiveBatch(after, to, List.copyOf(events), all, notifiedNanos, false);
  }

  /**
   * The store no longer holds the events the feed published after {@code position} (a failover to a replica that
   * had not received them, a restored backup): other events may take their positions, and the feed's next batch
   * starts there. Sent in order with the batches, so every connection sees it between the right two.
   */
  public static LiveBatch rewind(long position) {
    return new LiveBatch(position, position, List.of(), Buffer.buffer(), 0, true);
  }
}
