package io.flightdeck.gateway.config;

/**
 * The projection engine: how projections catch up with the store and what they do when an apply fails.
 *
 * @param enabled run the projections in this process (another process on the same database may run them)
 * @param batchSize events applied in one transaction
 * @param windowEvents the most recent events the process keeps after reading them once for all of its
 *     projections; a projection further behind reads the store itself; 0: every projection always does
 * @param pollIntervalMs look for new events this often even without a notification
 * @param minIntervalMs at most one batch per projection this often while events trickle in (a backlog runs
 *     back to back): bounds the commits per second under load at the price of this much extra lag
 * @param concurrentSteps projection steps (transactions) for new events of this process running at once; the
 *     others wait their turn (a backlog's full batches do not)
 * @param takeoverIntervalMs a process that does not run a projection tries to take it over this often
 * @param maxAttempts applies of one failing event before it goes to the dead letters
 * @param retryInitialDelayMs first back-off after a failed apply
 * @param retryMaxDelayMs back-off ceiling
 * @param scanPositions the most store positions one read of a projection's events covers: a projection of few
 *     types reads a long run of other events a range at a time, each read well within db.statementTimeoutMs; a read
 *     cancelled at that timeout even so is read again over half the range, which grows back as reads succeed. One
 *     of every type reads one position per event: batchSize bounds its reads
 */
public record ProjectionsConfig(boolean enabled, int batchSize, int windowEvents, long pollIntervalMs,
                                long minIntervalMs, int concurrentSteps, long takeoverIntervalMs,
                                int maxAttempts, long retryInitialDelayMs, long retryMaxDelayMs, int scanPositions) {

  static ProjectionsConfig from(Section s) {
    ProjectionsConfig config = new ProjectionsConfig(
        s.bool("enabled", true),
        s.integer("batchSize", 5000, 1, 100_000),
        s.integer("windowEvents", 5000, 0, 1_000_000),
        s.number("pollIntervalMs", 1000, 10, 3_600_000),
        s.number("minIntervalMs", 60, 0, 60_000),
        s.integer("concurrentSteps", 1, 1, 64),
        s.number("takeoverIntervalMs", 2000, 10, 3_600_000),
        s.integer("maxAttempts", 5, 1, 1000),
        s.number("retryInitialDelayMs", 100, 1, 600_000),
        s.number("retryMaxDelayMs", 5000, 1, 3_600_000),
        s.integer("scanPositions", 100_000, 1, 1_000_000_000));
    if (config.retryMaxDelayMs < config.retryInitialDelayMs) {
      throw new ConfigException(s.key("retryMaxDelayMs"), "must be at least retryInitialDelayMs");
    }
    return config;
  }

  /** The delay before attempt {@code attempt + 1}: doubling from the initial delay, capped. */
  public long backoffMs(int attempt) {
    long delay = retryInitialDelayMs << Math.min(Math.max(attempt - 1, 0), 30);
    return Math.min(delay <= 0 ? retryMaxDelayMs : delay, retryMaxDelayMs);
  }
}
