package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  @DisplayName("a full run measures ingest alone once (alone); --only alone-single runs its single-event maximum only")
  void aloneSingleIsPartOfAlone(@TempDir Path dir) throws IOException {
    String jar = Files.createFile(dir.resolve("gateway.jar")).toString();
    BenchOptions full = BenchOptions.parse(List.of("--jar", jar), Map.of());
    assertTrue(full.runs(BenchOptions.Phase.ALONE));
    assertFalse(full.runs(BenchOptions.Phase.ALONE_SINGLE));
    BenchOptions one = BenchOptions.parse(List.of("--jar", jar, "--only", "alone-single"), Map.of());
    assertTrue(one.runs(BenchOptions.Phase.ALONE_SINGLE));
    assertFalse(one.runs(BenchOptions.Phase.ALONE));
    assertFalse(one.runs(BenchOptions.Phase.SINGLE));
  }
}
