package io.flightdeck.gateway.store;

import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.store.AppendResult.Status;
import io.flightdeck.gateway.store.StoreUnavailableException.Reason;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The requests coalesced into one transaction, and how the transaction's rows are handed back to each. */
final class AppendGroup {

  private final List<PendingAppend> members;
  private final Set<UUID> maybeCommitted = new HashSet<>();
  private int released;
  /** After any failure the group looks its ids up: they may be stored already (a duplicate, or our own commit). */
  private boolean checked;

  private AppendGroup(List<PendingAppend> members) {
    this.members = members;
  }

  /** Takes requests from the head of the queue up to {@code maxEvents}; always at least one. */
  static AppendGroup take(ArrayDeque<PendingAppend> queue, int maxEvents) {
    List<PendingAppend> members = new ArrayList<>();
    PendingAppend first = queue.poll();
    members.add(first);
    int events = first.size();
    while (!first.alone && !queue.isEmpty() && !queue.peek().alone && events + queue.peek().size() <= maxEvents) {
      PendingAppend next = queue.poll();
      members.add(next);
      events += next.size();
    }
    return new AppendGroup(members);
  }

  int size() {
    return members.size();
  }

  boolean checked() {
    return checked;
  }

  void checkFromNowOn() {
    checked = true;
  }

  int eventCount() {
    int n = 0;
    for (PendingAppend m : members) {
      n += m.size();
    }
    return n;
  }

  /** Events answered so far (completed, failed or expired): the appender releases them from its queue count. */
  int releasedEvents() {
    return released;
  }

  /** The group's events with each id once (the first occurrence), in arrival order. */
  List<NewEvent> distinctEvents() {
    Map<UUID, NewEvent> byId = new LinkedHashMap<>();
    for (PendingAppend m : members) {
      for (NewEvent e : m.events) {
        byId.putIfAbsent(e.id(), e);
      }
    }
    return new ArrayList<>(byId.values());
  }

  void rememberMaybeCommitted(Set<UUID> ids) {
    maybeCommitted.addAll(ids);
  }

  /**
   * Answers every request. The first occurrence of an id the transaction stored is "appended"; any other
   * occurrence, and any id stored before, is a "duplicate" with the original position. An id stored by an
   * earlier attempt whose commit outcome was unknown is still this append's own, so it counts as appended.
   */
  void complete(List<StoredRow> rows) {
    Map<UUID, StoredRow> byId = new HashMap<>(rows.size() * 2);
    for (StoredRow row : rows) {
      byId.put(row.id(), row);
    }
    Set<UUID> claimed = new HashSet<>();
    List<Runnable> answers = new ArrayList<>(members.size());
    for (PendingAppend m : members) {
      List<AppendResult> results = new ArrayList<>(m.size());
      for (NewEvent e : m.events) {
        StoredRow row = byId.get(e.id());
        boolean ours = row.appended() || maybeCommitted.contains(e.id());
        Status status = ours && claimed.add(e.id()) ? Status.APPENDED : Status.DUPLICATE;
        results.add(new AppendResult(e.id(), row.position(), row.streamVersion(), status));
      }
      answers.add(() -> m.completeNow(results));
    }
    Answers.send(answers, members);
    released += eventCount();
  }

  /** Fails every request not answered yet (answering twice is a no-op). */
  void fail(Throwable cause) {
    List<Runnable> answers = new ArrayList<>(members.size());
    for (PendingAppend m : members) {
      answers.add(() -> m.failNow(cause));
    }
    Answers.send(answers, members);
    released += eventCount();
  }

  /**
   * Answers 503 to the requests whose retry deadline has passed, those accepted at or before
   * {@code acceptedByNanos}; the rest stay in the group.
   */
  void failExpired(long acceptedByNanos, Throwable cause) {
    for (Iterator<PendingAppend> it = members.iterator(); it.hasNext(); ) {
      PendingAppend m = it.next();
      if (acceptedByNanos - m.acceptedNanos >= 0) {
        it.remove();
        released += m.size();
        m.fail(new StoreUnavailableException(Reason.STORE_DOWN, "the event store is unavailable", 2, cause));
      }
    }
  }

  /** Puts the requests back at the head of the queue, in order, each to run in a transaction of its own. */
  void requeueSeparately(ArrayDeque<PendingAppend> queue) {
    for (int i = members.size() - 1; i >= 0; i--) {
      PendingAppend m = members.get(i);
      m.alone = true;
      queue.addFirst(m);
    }
    members.clear();
  }
}
