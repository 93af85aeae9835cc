package io.flightdeck.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The network transport an operator's gateway runs on. */
@ExtendWith(PostgresExtension.class)
class TransportIT {

  @Test
  @DisplayName("on Linux x86-64 the gateway runs on Netty's native epoll transport, and says so when it listens")
  void nativeEpollOnLinux(TestDatabase db) {
    assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"),
        "the shipped native library is the Linux x86-64 one; elsewhere the gateway runs on java.nio");
    try (GatewayProcess gateway = GatewayProcess.start(Map.of(
        "FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0"))) {
      gateway.awaitPort(Duration.ofSeconds(60));
      assertTrue(gateway.stdout().contains("native epoll transport)"), gateway.describe());
      gateway.sendSigterm();
      assertEquals(0, gateway.waitFor(Duration.ofSeconds(10)), gateway.describe());
    }
  }
}
