package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The benchmark's command line, as an operator types it. */
class BenchOptionsTest {

  @Test
  @DisplayName("a malformed --db-url is refused without printing its password")
  void malformedDbUrlHidesPassword() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchOptions.parse(
        List.of("--db-url", "postgresql://postgres:S3cretPassw0rd@127.0.0.1:5432/x?sslmode=bogus"), Map.of()));
    assertTrue(e.getMessage().startsWith("--db-url is not a postgresql:// URL"), e.getMessage());
    assertFalse(e.getMessage().contains("S3cretPassw0rd"), e.getMessage());
  }
}
