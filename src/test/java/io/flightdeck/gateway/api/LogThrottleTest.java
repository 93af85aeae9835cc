package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LogThrottleTest {

  @Test
  @DisplayName("the first occurrence is logged at once; later ones within the interval are only counted, and the "
      + "next line after it says how many it stands for")
  void oneLinePerInterval() {
    LogThrottle throttle = new LogThrottle(200, TimeUnit.MILLISECONDS);
    List<Long> lines = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      throttle.log(lines::add);
    }
    assertEquals(List.of(1L), lines, "a burst writes one line");
    AtomicLong later = new AtomicLong();
    Awaitility.await().atMost(5, TimeUnit.SECONDS).pollInterval(20, TimeUnit.MILLISECONDS).until(() -> {
      later.incrementAndGet();
      throttle.log(lines::add);
      return lines.size() == 2;
    });
    // the second line stands for the 999 suppressed in the burst and every occurrence since, itself included
    assertEquals(999 + later.get(), lines.get(1));
  }
}
