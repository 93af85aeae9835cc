package io.flightdeck.gateway.config;

/**
 * The live feed, {@code GET /v1/live}.
 *
 * @param maxConnections SSE connections per process (all event loops together); beyond it 503
 * @param heartbeatSeconds a comment line this often keeps proxies and idle timeouts from closing quiet streams
 * @param retryMs the {@code retry:} hint: how long a browser waits before reconnecting
 * @param maxBufferBytes bytes waiting to be sent to one client; when a batch does not fit, a client with more than
 *     half of it untaken is disconnected (it resumes with Last-Event-ID) instead of growing memory or slowing the
 *     others, and one that took most of it gets the batch a piece at a time, at its pace
 * @param pollIntervalMs look for new events this often even without a notification
 * @param catchUpPageSize events read per round trip when a client resumes
 * @param maxPendingBatches live batches held for one client while it catches up from the store; beyond it they
 *     are dropped and read from the store instead. Also while a resume past the feed asks the store where to start;
 *     beyond it that stream is closed and its client resumes again
 * @param maxPendingBytes the same held batches' bytes: the batches every lagging client holds end at the newest, so
 *     this bounds them all together (plus one batch), whatever the events' size
 * @param stallTimeoutMs a client that takes nothing of its catch-up (or of a batch handed out a piece at a time)
 *     for this long is disconnected
 * @param minIntervalMs at most one read and fan-out of new events this often while they trickle in
 */
public record LiveConfig(int maxConnections, int heartbeatSeconds, int retryMs, int maxBufferBytes,
                         long pollIntervalMs, int catchUpPageSize, int maxPendingBatches, int maxPendingBytes,
                         long stallTimeoutMs, long minIntervalMs) {

  static LiveConfig from(Section s) {
    return new LiveConfig(
        s.integer("maxConnections", 10_000, 0, 1_000_000),
        s.integer("heartbeatSeconds", 15, 1, 3600),
        s.integer("retryMs", 2000, 0, 3_600_000),
        s.integer("maxBufferBytes", 262_144, 1024, 64 * 1024 * 1024),
        s.number("pollIntervalMs", 1000, 10, 3_600_000),
        s.integer("catchUpPageSize", 500, 1, 10_000),
        s.integer("maxPendingBatches", 256, 1, 100_000),
        s.integer("maxPendingBytes", 4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
        s.number("stallTimeoutMs", 30_000, 100, 3_600_000),
        s.number("minIntervalMs", 30, 0, 1000));
  }
}
