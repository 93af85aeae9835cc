package io.flightdeck.gateway.bench;

/**
 * One load shape.
 *
 * @param name what the report calls it
 * @param connections keep-alive connections, exactly; one request in flight on each at most
 * @param eventsPerRequest 1 sends a single event object, more a {@code {"events": [...]}} batch
 * @param ratePerSecond open loop: requests started per second on a fixed schedule; 0 for a closed loop, where
 *     each connection sends its next request when the previous answer arrives
 */
record LoadSpec(String name, int connections, int eventsPerRequest, double ratePerSecond) {

  static LoadSpec closedLoop(String name, int connections, int eventsPerRequest) {
    return new LoadSpec(name, connections, eventsPerRequest, 0);
  }

  static LoadSpec openLoop(String name, int connections, int eventsPerRequest, double ratePerSecond) {
    return new LoadSpec(name, connections, eventsPerRequest, ratePerSecond);
  }

  boolean openLoop() {
    return ratePerSecond > 0;
  }

  /** The share of this load one lane of {@code lanes} carries. */
  LoadSpec lane(int index, int lanes) {
    int share = connections / lanes + (index < connections % lanes ? 1 : 0);
    return new LoadSpec(name, share, eventsPerRequest, ratePerSecond * share / connections);
  }
}
