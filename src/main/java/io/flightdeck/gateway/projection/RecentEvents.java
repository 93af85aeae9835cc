package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.store.EventPages;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The store's newest events, read and decoded once per process for all of its projections (by
 * {@link RecentEventsReader}) instead of once per projection. Bounded: it keeps at most {@code capacity} events.
 * Written only by the reader's context; the runners read the current {@link Window} from theirs.
 *
 * <p>Events every projection running here has applied are let go at the next read, even below the capacity: kept
 * for the capacity regardless, each event outlived a young collection or two of the JVM and was copied at each,
 * which doubled the gateway's GC pauses under load. A runner that has not reported for a while (a standby, a
 * stopped one) no longer holds events back.
 *
 * <p>Positions become visible in commit order (V1's position lock), so a read of the events after position
 * {@code a} sees every event that will ever commit in {@code (a, last position read]}: a window holds every
 * committed event of its range, and a step that applies the window's events after its checkpoint applies
 * exactly what a read from the store would have returned.
 */
final class RecentEvents {

  /** The most bytes of events kept (as {@link EventPages} counts them), however few events that is. */
  static final long MAX_BYTES = 8L * EventPages.MAX_PAGE_BYTES;

  private final int capacity;
  private final long maxBytes;
  private final long idleAfterNanos;
  private volatile Window window;
  private volatile long wantedAt;
  /** Each local runner's last committed checkpoint, by projection, and when it was reported. */
  private final Map<String, Applied> applied = new ConcurrentHashMap<>();

  private record Applied(long checkpoint, long atNanos) {
  }

  /**
   * @param capacity the most events kept; 0 turns the window off, and every projection reads the store itself
   * @param idleAfterMs with no step of a projection of this process for this long, the reader stops reading
   */
  RecentEvents(int capacity, long idleAfterMs) {
    this(capacity, MAX_BYTES, idleAfterMs);
  }

  /** @param maxBytes the most bytes of events kept: large events leave room for fewer than {@code capacity} */
  RecentEvents(int capacity, long maxBytes, long idleAfterMs) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.idleAfterNanos = idleAfterMs * 1_000_000L;
    this.wantedAt = System.nanoTime() - idleAfterNanos;
  }

  /** The current window, or null while nothing is read (window off, or no projection running here). */
  Window window() {
    return window;
  }

  /** A runner of this process is about to step: the reader keeps (or starts) reading new events. */
  void touch() {
    wantedAt = System.nanoTime();
  }

  /** A runner of this process committed its checkpoint at {@code checkpoint}. */
  void applied(String projection, long checkpoint) {
    applied.put(projection, new Applied(checkpoint, System.nanoTime()));
  }

  /** A runner of this process stopped: it no longer holds events back. */
  void left(String projection) {
    applied.remove(projection);
  }

  /** The lowest checkpoint reported recently by a runner of this process; -1 when none reported. */
  private long lowestApplied() {
    long now = System.nanoTime();
    long lowest = Long.MAX_VALUE;
    for (Applied a : applied.values()) {
      if (now - a.atNanos() < idleAfterNanos) {
        lowest = Math.min(lowest, a.checkpoint());
      }
    }
    return lowest == Long.MAX_VALUE ? -1 : lowest;
  }

  /** Whether a runner stepped recently: a process that runs no projection (a standby) reads nothing. */
  boolean wanted() {
    return capacity > 0 && System.nanoTime() - wantedAt < idleAfterNanos;
  }

  /** Whether the reader publishes new events: if so, runners wait for it rather than for the store's notices. */
  boolean reading() {
    return window != null;
  }

  /** Starts an empty window at {@code head}: the events after it will be read. */
  void startAt(long head) {
    window = new Window(head, head, null, new EventEnvelope[0], new long[0]);
  }

  /** Forgets everything, freeing the memory; a later {@link #startAt} begins again. */
  void clear() {
    window = null;
  }

  /**
   * Adds the events read after the window's end (non-empty, ascending, every committed event from the end up to
   * the last of them), which hold {@code bytes} together, drops those every runner here has applied, and the oldest
   * beyond the capacity or beyond {@link #maxBytes} (the newest event always stays).
   */
  void append(List<EventEnvelope> read, long bytes) {
    Window w = window;
    int kept = w.events.length;
    EventEnvelope[] all = Arrays.copyOf(w.events, kept + read.size());
    long[] sizes = Arrays.copyOf(w.bytes, all.length);
    for (int i = 0; i < read.size(); i++) {
      all[kept + i] = read.get(i);
      // a page's bytes are known only in all: shared out evenly, near enough to bound the window
      sizes[kept + i] = bytes / read.size();
    }
    long to = all[all.length - 1].position();
    UUID toId = all[all.length - 1].id();
    // what every runner applied, but never past the window's end, so the window goes on from there
    long applied = Math.max(w.after, Math.min(lowestApplied(), to));
    int keepFrom = Math.max(Math.max(firstAfter(all, applied), all.length - capacity), withinBytes(sizes));
    long after = keepFrom == 0 ? w.after : Math.max(applied, all[keepFrom - 1].position());
    window = keepFrom == 0 ? new Window(after, to, toId, all, sizes)
        : new Window(after, to, toId, Arrays.copyOfRange(all, keepFrom, all.length),
            Arrays.copyOfRange(sizes, keepFrom, sizes.length));
  }

  /** The index of the oldest event from which on the newest hold at most {@link #maxBytes} (the last one, else). */
  private int withinBytes(long[] sizes) {
    long total = 0;
    for (int i = sizes.length - 1; i >= 0; i--) {
      total += sizes[i];
      if (total > maxBytes) {
        return Math.min(i + 1, sizes.length - 1);
      }
    }
    return 0;
  }

  /** The index of the first of {@code events} (ascending) after {@code position}; their length when none is. */
  private static int firstAfter(EventEnvelope[] events, long position) {
    int lo = 0;
    int hi = events.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (events[mid].position() <= position) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /**
   * Every committed event with a position in {@code (after, to]}, ascending, with about the bytes each holds, and the
   * id of the event at {@code to} (null when the window only started there, at the head, and read nothing yet): a
   * reader checks the store still holds it before it reads on, and a step before it uses the window (see
   * {@link io.flightdeck.gateway.store.EventStore#readAllFollowing}). Never changed once published.
   */
  record Window(long after, long to, UUID toId, EventEnvelope[] events, long[] bytes) {

    /** Whether the window holds every event after {@code checkpoint}, up to its end. */
    boolean covers(long checkpoint) {
      return checkpoint >= after && checkpoint <= to;
    }

    /** Whether it holds events after {@code checkpoint}: a step from there needs no read of the store. */
    boolean ahead(long checkpoint) {
      return checkpoint >= after && checkpoint < to;
    }

    /**
     * The events after {@code checkpoint} (which it {@link #covers}) of {@code types} (null: every type), at most
     * {@code limit}, and the position a step applying them moves the checkpoint to.
     */
    Slice after(long checkpoint, Set<String> types, int limit) {
      int i = firstAfter(checkpoint);
      List<EventEnvelope> out = new ArrayList<>(Math.min(limit, events.length - i));
      for (; i < events.length; i++) {
        EventEnvelope e = events[i];
        if (types == null || types.contains(e.type())) {
          out.add(e);
          if (out.size() == limit) {
            return new Slice(out, e.position(), true);
          }
        }
      }
      return new Slice(out, to, false);
    }

    private int firstAfter(long position) {
      return RecentEvents.firstAfter(events, position);
    }
  }

  /** A step's events, the checkpoint after them, and whether the limit cut it short (more may follow). */
  record Slice(List<EventEnvelope> events, long to, boolean full) {
  }
}
