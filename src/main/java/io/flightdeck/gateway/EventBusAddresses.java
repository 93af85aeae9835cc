package io.flightdeck.gateway;

/** Event-bus addresses, all in one place. Messages on them are JSON objects unless said otherwise. */
public final class EventBusAddresses {

  private EventBusAddresses() {
  }

  /**
   * Published (to every consumer in this process) when the store has new events: {@code {"from": f, "to": t}}
   * from a NOTIFY, or {@code {"resync": true}} after the LISTEN connection was re-established, when
   * notifications may have been lost and consumers must catch up from their own position.
   */
  public static final String STORE_APPENDED = "flightdeck.store.appended";

  /**
   * Published when an operator changed a projection (rebuild): {@code {"projection": name}}. Arrives from any
   * gateway process on the database through NOTIFY.
   */
  public static final String PROJECTION_CHANGED = "flightdeck.projection.changed";

  /**
   * Published (local only, no body) when the projections' shared read added new events to the window of recent
   * events: the runners of this process step from there instead of reading the store each.
   */
  public static final String PROJECTION_EVENTS_READ = "flightdeck.projection.events.read";

  /**
   * Published (local only) when a projection's lease changed hands in this process, taken, lost or given back:
   * {@code {"projection": name}}. The projection figures are sampled again at once, rather than showing the
   * projection stopped (or run by the process that left) until the next periodic sample.
   */
  public static final String PROJECTION_LEASE_CHANGED = "flightdeck.projection.lease.changed";

  /**
   * Published by the live feed with every range of new events, read and serialized once: a
   * {@code live.LiveBatch} (local only, passed by reference) for the SSE connections of every event loop.
   */
  public static final String LIVE_BATCH = "flightdeck.live.batch";
}
