package io.flightdeck.gateway.ingest;

import io.flightdeck.gateway.config.CustomEventsConfig;
import io.flightdeck.gateway.config.SiteConfig;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The configured sites by write key, each with its own rate-limit bucket (one per site: bounded by config). */
public final class Sites {

  /**
   * A site as ingest uses it. {@code namedCustomEvents}: its custom types as POST /v1/events takes them
   * ({@link CustomEventsConfig#namedOnly}), made once rather than per request.
   */
  public record Site(SiteConfig config, Bucket bucket, CustomEventsConfig namedCustomEvents) {
  }

  private final Map<String, Site> byWriteKey = new HashMap<>();
  private final List<SiteConfig> all;

  public Sites(List<SiteConfig> sites) {
    this.all = sites;
    for (SiteConfig s : sites) {
      // by System.nanoTime(), not bucket4j's default of the wall clock: a bucket refills nothing while the time it
      // reads is before its last refill, so a clock set back (an NTP step, a VM resumed) would refuse every site 429
      // for as long as the step, each answer's Retry-After saying seconds; a clock set forward would fill them
      Bucket bucket = Bucket.builder()
          .withNanosecondPrecision()
          .addLimit(limit -> limit.capacity(s.burst()).refillGreedy(s.eventsPerSecond(), Duration.ofSeconds(1)))
          .build();
      byWriteKey.put(s.writeKey(), new Site(s, bucket, s.customEvents().namedOnly()));
    }
  }

  public Optional<Site> byWriteKey(String writeKey) {
    return Optional.ofNullable(byWriteKey.get(writeKey));
  }

  /** Whether any site accepts this browser origin: decides CORS preflights, which carry no write key. */
  public boolean anyAllows(String origin) {
    return all.stream().anyMatch(s -> s.allowsOrigin(origin));
  }

  /**
   * Takes {@code events} tokens from the site's bucket; answers 0 when allowed, else the whole seconds to wait.
   */
  public static long consume(Site site, int events) {
    ConsumptionProbe probe = site.bucket().tryConsumeAndReturnRemaining(events);
    if (probe.isConsumed()) {
      return 0;
    }
    return Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
  }

  /**
   * Gives back {@code events} tokens that {@link #consume} took for a request the gateway then could not store (503):
   * the client's retry must not meet 429 for the gateway's outage. The bucket never holds more than its burst, so a
   * refund after the bucket refilled meanwhile leaves it where it would be had the request never come.
   */
  public static void refund(Site site, int events) {
    site.bucket().addTokens(events);
  }
}
