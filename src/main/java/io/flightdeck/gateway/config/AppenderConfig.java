package io.flightdeck.gateway.config;

/**
 * The group-commit appender: how requests are coalesced into transactions and how much may wait.
 *
 * @param maxQueuedEvents events accepted but not yet committed; above it ingest answers 503
 * @param maxEventsPerTransaction events coalesced into one transaction (one request is never split)
 * @param maxConcurrentTransactions transactions in flight at once, each on its own connection
 * @param retryInitialDelayMs first back-off after a transient store error
 * @param retryMaxDelayMs back-off ceiling
 * @param retryDeadlineMs an append still failing this long after it was accepted answers 503
 * @param lingerMicros a transaction waits until its oldest request has been queued this long (0: never waits)
 */
public record AppenderConfig(int maxQueuedEvents, int maxEventsPerTransaction, int maxConcurrentTransactions,
                             long retryInitialDelayMs, long retryMaxDelayMs, long retryDeadlineMs, int lingerMicros) {

  static AppenderConfig from(Section s, IngestConfig ingest) {
    AppenderConfig config = new AppenderConfig(
        s.integer("maxQueuedEvents", 50_000, 1, 10_000_000),
        s.integer("maxEventsPerTransaction", 2000, 1, 100_000),
        s.integer("maxConcurrentTransactions", 1, 1, 64),
        s.number("retryInitialDelayMs", 25, 1, 60_000),
        s.number("retryMaxDelayMs", 1000, 1, 60_000),
        s.number("retryDeadlineMs", 5000, 0, 600_000),
        s.integer("lingerMicros", 1000, 0, 1_000_000));
    if (config.retryMaxDelayMs < config.retryInitialDelayMs) {
      // as for projections: the back-off would never start where the file says, nor double
      throw new ConfigException(s.key("retryMaxDelayMs"), "must be at least retryInitialDelayMs ("
          + config.retryInitialDelayMs + ")");
    }
    if (config.maxQueuedEvents < ingest.maxBatchEvents()) {
      throw new ConfigException(s.key("maxQueuedEvents"),
          "must be at least ingest.maxBatchEvents (" + ingest.maxBatchEvents() + ") or a full batch could never be queued");
    }
    return config;
  }
}
