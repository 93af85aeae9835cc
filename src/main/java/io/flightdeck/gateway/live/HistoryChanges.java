package io.flightdeck.gateway.live;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The store's recent history changes as this process saw them, so that a resume with an id of the old history is
 * told. A stream cut off while catching up past the change (its data still unsent, see {@link SseConnection}) was
 * never sent the id line that takes a live stream back: its client resumes with its own last id, a position the old
 * history had reached and the new one gave to other events. Resumed after that id, it would skip the new events
 * before it without a word. So every change is kept as the last event the store kept ({@code common}) and how far the
 * old history had reached as far as this process knew: the live feed's position before it went back, or a position a
 * stream started at past the feed ({@link SseResumeAhead}), if higher. A resume with an id in between starts after
 * {@code common} instead, told as a live stream is ({@link #resumeFrom}).
 *
 * <p>An id there may be a client's of the new history too (it got the new events in those positions): it gets them
 * again, at least once rather than never. So changes are remembered for a while only ({@link #forRetry}: a client
 * cut off reconnects within {@code live.retryMs}), at most {@link #REMEMBERED} of them. The live feed records them on
 * its context and every event loop's {@link LiveHub} reads them: an immutable list, swapped whole.
 */
public final class HistoryChanges {

  /** How many changes are remembered: failovers do not come by the dozen. */
  static final int REMEMBERED = 16;
  /**
   * How long a change is remembered at least: far longer than a cut-off client waits to reconnect with the default
   * {@code live.retryMs}; twice that wait when it is longer ({@link #forRetry}).
   */
  static final long REMEMBERED_FOR_NANOS = TimeUnit.MINUTES.toNanos(10);

  /** The store kept the events up to {@code common}; the old history had reached {@code reached}. */
  private record Change(long common, long reached, long atNanos) {
  }

  /** {@link System#nanoTime}, but for tests. */
  private final LongSupplier nanoClock;
  private final long rememberedForNanos;
  private final AtomicReference<List<Change>> recent = new AtomicReference<>(List.of());
  /** The highest position a stream of this process started at past the live feed: ids the feed may never have had. */
  private final AtomicLong startedAhead = new AtomicLong();

  /**
   * Changes remembered for {@link #REMEMBERED_FOR_NANOS}, or for twice {@code retryMs} (live.retryMs, the wait a
   * browser is told to keep before it reconnects) when that is longer: a client cut off past a change must still find
   * it remembered when it comes back.
   */
  public static HistoryChanges forRetry(int retryMs) {
    return new HistoryChanges(System::nanoTime, rememberedFor(retryMs));
  }

  HistoryChanges(LongSupplier nanoClock, long rememberedForNanos) {
    this.nanoClock = nanoClock;
    this.rememberedForNanos = rememberedForNanos;
  }

  static long rememberedFor(int retryMs) {
    return Math.max(REMEMBERED_FOR_NANOS, TimeUnit.MILLISECONDS.toNanos(2L * retryMs));
  }

  /** A stream resumed past the live feed starts after {@code position} (its greeting gives it as the client's id). */
  void startedAhead(long position) {
    startedAhead.accumulateAndGet(position, Math::max);
  }

  /**
   * The live feed went back to {@code common} from {@code published}: the old history had reached that far, or
   * further if a stream started past the feed.
   */
  void feedWentBack(long common, long published) {
    changed(common, Math.max(published, startedAhead.get()));
  }

  /** The store no longer holds what it held after {@code common}, up to {@code reached} at least. */
  void changed(long common, long reached) {
    if (reached <= common) {
      return;
    }
    long now = nanoClock.getAsLong();
    recent.updateAndGet(changes -> {
      List<Change> kept = new ArrayList<>(REMEMBERED);
      for (Change c : changes) {
        if (!expired(c, now)) {
          kept.add(c);
        }
      }
      kept.add(new Change(common, reached, now));
      return List.copyOf(kept.subList(Math.max(0, kept.size() - REMEMBERED), kept.size()));
    });
  }

  /**
   * Where a resume with {@code id} starts when that id may be a position of an old history: after the last event the
   * store kept of a remembered change with {@code common < id <= reached} (the lowest, if several), so the client
   * gets every event after it, the new ones in the lost positions included; null when no change covers it.
   */
  Long resumeFrom(long id) {
    long now = nanoClock.getAsLong();
    Long from = null;
    for (Change c : recent.get()) {
      if (c.common() < id && id <= c.reached() && !expired(c, now) && (from == null || c.common() < from)) {
        from = c.common();
      }
    }
    return from;
  }

  private boolean expired(Change c, long now) {
    return now - c.atNanos() > rememberedForNanos;
  }
}
