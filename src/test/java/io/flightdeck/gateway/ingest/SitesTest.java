package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.config.CustomEventsConfig;
import io.flightdeck.gateway.config.SiteConfig;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SitesTest {

  /** One event a second, ten at once: a token spent here comes back only after a second. */
  private static Sites.Site tinySite() {
    SiteConfig config = new SiteConfig("tiny", "tiny-write-key", List.of("*"), 1, 10, CustomEventsConfig.none(8192));
    return new Sites(List.of(config)).byWriteKey("tiny-write-key").orElseThrow();
  }

  @Test
  @DisplayName("tokens given back can be spent again at once")
  void refundedTokensCanBeSpentAgain() {
    Sites.Site site = tinySite();
    assertEquals(0, Sites.consume(site, 10));
    assertTrue(Sites.consume(site, 10) > 0, "the burst is used up");

    Sites.refund(site, 10);

    assertEquals(0, Sites.consume(site, 10));
  }

  @Test
  @DisplayName("tokens given back never raise a site's bucket above its burst")
  void refundIsCappedAtTheBurst() {
    Sites.Site site = tinySite();
    assertEquals(0, Sites.consume(site, 4));

    Sites.refund(site, 4);
    Sites.refund(site, 4);

    assertEquals(0, Sites.consume(site, 10));
    assertTrue(Sites.consume(site, 1) > 0, "the bucket held the burst, no more");
  }

  @Test
  @DisplayName("buckets refill by the monotonic clock, so a wall clock set back does not stop every site's refill")
  void bucketsRefillByTheMonotonicClock() {
    Sites.Site site = tinySite();

    long before = System.nanoTime();
    // the time the bucket reads for an operation, by the clock it refills by
    long read = site.bucket().asVerbose().getAvailableTokens().getOperationTimeNanos();
    long after = System.nanoTime();

    // System.currentTimeMillis() (bucket4j's default) would have refilled nothing for as long as a clock set back
    // an hour took to come back to where it was: each site 429 once its burst is spent, Retry-After saying seconds
    assertTrue(before <= read && read <= after, "read " + read + ", not between " + before + " and " + after);
  }
}
