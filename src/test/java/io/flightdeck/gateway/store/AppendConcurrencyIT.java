package io.flightdeck.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Many clients appending at once, through two gateway processes sharing one event store. */
@ExtendWith(PostgresExtension.class)
class AppendConcurrencyIT {

  private static final Duration ANSWERS_WITHIN = Duration.ofSeconds(30);
  // two gateways on the one database: first starts first and closes last
  @RegisterExtension
  @Order(1)
  static final ClassGateway first = ClassGateway.defaults();
  @RegisterExtension
  @Order(2)
  static final ClassGateway second = ClassGateway.defaults();

  @Test
  @DisplayName("twenty clients sending one event at once through two gateways store it once and all learn its position")
  void sameIdConcurrentlyIsStoredOnce(TestDatabase db) throws Exception {
    JsonObject event = HttpTestClient.pageView("idem-visitor", "/pricing");
    String id = event.getString("id");
    List<CompletableFuture<Response>> sent = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      sent.add(gateway(i).http().postEventsAsync(event));
    }

    List<Response> answers = StoreProbe.all(sent, ANSWERS_WITHIN);

    Map<String, Integer> statuses = new HashMap<>();
    Set<Long> positions = new HashSet<>();
    for (Response r : answers) {
      assertEquals(200, r.status(), r.body());
      JsonObject result = r.results().getJsonObject(0);
      assertEquals(id, result.getString("id"));
      statuses.merge(result.getString("status"), 1, Integer::sum);
      positions.add(result.getLong("position"));
    }
    assertEquals(Map.of("appended", 1, "duplicate", 19), statuses);
    assertEquals(1, positions.size(), "every answer names the same position: " + positions);
    assertEquals(1L, StoreProbe.rowsWithId(db, id));
    assertEquals(positions.iterator().next(), db.queryLong("SELECT position FROM events WHERE id = ?::uuid", id));
  }

  @Test
  @DisplayName("one stream written concurrently through two gateways numbers its events 1..N in position order")
  void oneStreamConcurrentlyHasGapFreeVersions(TestDatabase db) throws Exception {
    String stream = "busy-visitor";
    List<CompletableFuture<Response>> sent = new ArrayList<>();
    int expected = 0;
    for (int i = 0; i < 100; i++) {
      sent.add(gateway(i).http().postEventsAsync(HttpTestClient.pageView(stream, "/single/" + i)));
      expected++;
      if (i % 5 == 0) {
        JsonArray batch = new JsonArray();
        for (int j = 0; j < 10; j++) {
          batch.add(HttpTestClient.pageView(stream, "/batch/" + i + "/" + j));
        }
        sent.add(gateway(i + 1).http().postEventsAsync(new JsonObject().put("events", batch)));
        expected += batch.size();
      }
    }

    Map<String, Long> answeredVersions = new HashMap<>();
    for (Response r : StoreProbe.all(sent, ANSWERS_WITHIN)) {
      assertEquals(200, r.status(), r.body());
      long previous = 0;
      for (int k = 0; k < r.results().size(); k++) {
        JsonObject result = r.results().getJsonObject(k);
        assertEquals("appended", result.getString("status"));
        assertTrue(result.getLong("streamVersion") > previous, "a batch keeps its order in the stream: " + r.body());
        previous = result.getLong("streamVersion");
        answeredVersions.put(result.getString("id"), result.getLong("streamVersion"));
      }
    }

    List<List<Object>> rows = db.query(
        "SELECT id::text, stream_version FROM events WHERE stream_id = ? ORDER BY position", stream);
    assertEquals(expected, rows.size());
    for (int i = 0; i < rows.size(); i++) {
      long version = ((Number) rows.get(i).get(1)).longValue();
      assertEquals(i + 1L, version, "the event at the " + (i + 1) + ". position of the stream has version " + version);
      assertEquals(answeredVersions.get((String) rows.get(i).get(0)), version, "the answer named the stored version");
    }
  }

  @Test
  @DisplayName("an append that waited for the position lock while another writer added to its stream gets the next version")
  void appendWaitingForTheLockNumbersAfterTheWriterBeforeIt(TestDatabase db) throws Exception {
    String stream = "raced-visitor";
    CompletableFuture<Response> sent;
    try (Connection other = db.connect()) {
      other.setAutoCommit(false);
      // holds the position lock with the stream's first event, not committed yet
      StoreProbe.insertRaw(other, stream, 1);
      sent = first.http().postEventsAsync(HttpTestClient.pageView(stream, "/after-the-other-writer"));
      // the gateway's statement started (and took its snapshot) before the other writer's commit
      await().atMost(Duration.ofSeconds(10)).until(() -> !StoreProbe.appendBackendsWaitingOnLock(db).isEmpty());
      other.commit();
    }

    Response r = StoreProbe.within(sent, ANSWERS_WITHIN);
    assertEquals(200, r.status(), r.body());
    assertEquals("appended", r.results().getJsonObject(0).getString("status"));
    assertEquals(2L, r.results().getJsonObject(0).getLong("streamVersion"), r.body());
    assertEquals(List.of(List.<Object>of(1L), List.<Object>of(2L)),
        db.query("SELECT stream_version FROM events WHERE stream_id = ? ORDER BY position", stream));
  }

  @Test
  @DisplayName("two hundred concurrent single-event requests share far fewer than two hundred transactions")
  void concurrentRequestsAreGroupCommitted(TestDatabase db) throws Exception {
    List<CompletableFuture<Response>> sent = new ArrayList<>();
    // Commits are made slow (as on a busy disk) until the appender's connections are all busy, so the count below
    // depends on coalescing, not on how fast this machine happens to commit compared to how fast requests arrive.
    try (StoreProbe.PositionLock lock = StoreProbe.PositionLock.hold(db)) {
      for (int i = 0; i < 200; i++) {
        sent.add(first.http().postEventsAsync(HttpTestClient.pageView("group-" + i, "/landing")));
      }
      await().atMost(Duration.ofSeconds(10))
          .until(() -> StoreProbe.appendBackendsWaitingOnLock(db).size()
              == first.get().config().appender().maxConcurrentTransactions());
      // and while the commit is held, nobody is told their event is stored
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
          .until(() -> sent.stream().noneMatch(CompletableFuture::isDone));
    }

    for (Response r : StoreProbe.all(sent, ANSWERS_WITHIN)) {
      assertEquals(200, r.status(), r.body());
      assertEquals("appended", r.results().getJsonObject(0).getString("status"));
    }

    assertEquals(200L, db.queryLong("SELECT count(*) FROM events WHERE stream_id LIKE 'group-%'"));
    long transactions = db.queryLong("SELECT count(DISTINCT tx_id) FROM events WHERE stream_id LIKE 'group-%'");
    assertTrue(transactions <= 20, "200 requests were committed in " + transactions + " transactions");
  }

  private static ClassGateway gateway(int i) {
    return i % 2 == 0 ? first : second;
  }
}
