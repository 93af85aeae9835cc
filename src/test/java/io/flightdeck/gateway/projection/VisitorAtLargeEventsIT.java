package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.GatewayProcess;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code GET /v1/visitors/{streamId}?at=} folds the stream's events from the store; like every read of events it
 * must read them in pages of about 8 MiB, not only of a number of events, whatever their size.
 */
@ExtendWith(PostgresExtension.class)
class VisitorAtLargeEventsIT {

  private static final String STREAM = "large-at";
  /** About 350 KB each (a metadata value of random hex), about 100 MB in all: well under 1,000 events. */
  private static final int EVENTS = 300;

  @Test
  @DisplayName("?at= on a stream of large events is answered by a gateway with a 128 MiB heap: the fold reads pages "
      + "of about 8 MiB, not 1,000 events at once whatever their size")
  void foldReadsPagesBoundedByBytes(TestDatabase db) {
    try (GatewayProcess gateway = GatewayProcess.start(Map.of(
        "FLIGHTDECK_DB_URL", db.url(),
        "FLIGHTDECK_HTTP_PORT", "0",
        "FLIGHTDECK_PROJECTIONS_ENABLED", "false",
        // what one page of the fold may hold is then well within the heap and direct memory; all 300 events are not
        "JAVA_TOOL_OPTIONS", "-Xmx128m"))) {
      int port = gateway.awaitPort(Duration.ofSeconds(60));
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), ?, g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g),
                 jsonb_build_object('k', (SELECT string_agg(md5(random()::text || g || i), '')
                                          FROM generate_series(1, 11000) i)),
                 now()
          FROM generate_series(1, ?) g""", STREAM, EVENTS);
      long bytes = db.queryLong("SELECT sum(octet_length(metadata::text)) FROM events WHERE stream_id = ?", STREAM);
      assertTrue(bytes > 96L * 1024 * 1024, "the stream holds " + bytes + " bytes of metadata");

      HttpTestClient http = new HttpTestClient("http://127.0.0.1:" + port);
      Response r = http.getWithReadToken("/v1/visitors/" + STREAM + "?at=2100-01-01T00:00:00Z");

      assertEquals(200, r.status(), r.body() + "\n" + gateway.describe());
      assertEquals(EVENTS, r.json().getLong("pageViews"), r.body());
      assertEquals("/p" + EVENTS, r.json().getString("lastPage"), r.body());
      assertTrue(gateway.isAlive(), gateway.describe());
    }
  }
}
