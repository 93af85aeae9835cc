package io.flightdeck.gateway.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.SseTestClient.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The live feed when the store's history changes under it: a failover promotes a replica that had not received the
 * last commits, so the events after its last one are gone and new events take their positions. Each test makes
 * that happen to its database, as the promoted replica would have it: the events after a position deleted (the
 * append-only triggers off, as a replica's copy never needed them) and the position sequence put back there.
 */
@ExtendWith(PostgresExtension.class)
class LiveHistoryChangeIT {

  static final Duration WAIT = Duration.ofSeconds(15);

  // no projections: their checkpoints would be past the positions given out again (a real replica's are not)
  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_PROJECTIONS_ENABLED", "false",
      "FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "200"));

  static JsonArray post(JsonObject... events) {
    return gateway.http().postBatch(events);
  }

  static long position(JsonArray results, int i) {
    return results.getJsonObject(i).getLong("position");
  }

  static void failOverTo(long kept) {
    gateway.db().loseEventsAfter(kept);
  }

  static List<String> ids(List<Message> messages) {
    List<String> out = new ArrayList<>();
    for (Message m : messages) {
      out.add(new JsonObject(m.data()).getString("id"));
    }
    return out;
  }

  @Test
  @DisplayName("a stream that was sent events the store then lost goes back to the last event the store kept (its id "
      + "line says so) and gets the new events that took the lost ones' positions, then the next")
  void streamFollowsTheStoreBack() throws Exception {
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=back-1", Map.of())) {
      assertEquals("connected", sse.nextComment(WAIT));
      JsonArray kept = post(HttpTestClient.pageView("back-1", "/kept-1"), HttpTestClient.pageView("back-1", "/kept-2"));
      JsonArray lost = post(HttpTestClient.pageView("back-1", "/lost-1"), HttpTestClient.pageView("back-1", "/lost-2"));
      assertEquals(4, sse.take(4, WAIT).size());
      long common = position(kept, 1);
      failOverTo(common);

      JsonObject first = HttpTestClient.pageView("back-1", "/new-1");
      JsonObject second = HttpTestClient.pageView("back-1", "/new-2");
      JsonArray fresh = post(first, second);
      assertEquals(position(lost, 0), position(fresh, 0), "the new history gives the lost positions out again");
      List<Message> got = sse.take(2, WAIT);
      assertEquals(List.of(first.getString("id"), second.getString("id")), ids(got));
      assertEquals(List.of(String.valueOf(position(fresh, 0)), String.valueOf(position(fresh, 1))),
          List.of(got.get(0).id(), got.get(1).id()));

      JsonObject next = HttpTestClient.pageView("back-1", "/next");
      long nextAt = position(post(next), 0);
      Message m = sse.next(WAIT);
      assertNotNull(m, "the event after them");
      assertEquals(String.valueOf(nextAt), m.id());
      assertEquals(next.getString("id"), new JsonObject(m.data()).getString("id"));
      assertNull(sse.next(Duration.ofMillis(300)), "nothing else");
      assertFalse(sse.ended(), "the stream goes on");
    }
    assertTrue(gateway.get().registry().get("flightdeck.store.history.changes").tag("reader", "live").counter()
        .count() >= 1, "counted for operators");
  }

  @Test
  @DisplayName("a client that reconnects with the id the stream went back to resumes there: it gets the new events "
      + "in the lost positions")
  void reconnectAfterTheStoreWentBack() throws Exception {
    String resumeWith;
    JsonObject first = HttpTestClient.pageView("back-2", "/new-1");
    JsonArray fresh;
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=back-2", Map.of())) {
      assertEquals("connected", sse.nextComment(WAIT));
      JsonArray kept = post(HttpTestClient.pageView("back-2", "/kept"));
      post(HttpTestClient.pageView("back-2", "/lost-1"), HttpTestClient.pageView("back-2", "/lost-2"));
      assertEquals(3, sse.take(3, WAIT).size());
      long common = position(kept, 0);
      failOverTo(common);
      // the feed's poll notices it (every 200 ms here) and says so to the stream, without an event
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (!sse.lastEventId().equals(String.valueOf(common)) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      resumeWith = sse.lastEventId();
      assertEquals(String.valueOf(common), resumeWith, "the id line names the last event the store kept");
      fresh = post(first);
    }
    try (SseTestClient again = SseTestClient.open(gateway.get(), "/v1/live?streams=back-2",
        Map.of("Last-Event-ID", resumeWith))) {
      Message m = again.next(WAIT);
      assertNotNull(m, "the new event in the lost event's position");
      assertEquals(String.valueOf(position(fresh, 0)), m.id());
      assertEquals(first.getString("id"), new JsonObject(m.data()).getString("id"));
    }
  }

  @Test
  @DisplayName("a history change while nobody is subscribed: the next subscriber starts at the store's new last "
      + "event and gets the next one, in a position the lost events had")
  void changeWhileNobodyListens() throws Exception {
    JsonArray kept = post(HttpTestClient.pageView("back-3", "/kept"));
    post(HttpTestClient.pageView("back-3", "/lost-1"), HttpTestClient.pageView("back-3", "/lost-2"));
    failOverTo(position(kept, 0));
    // at least two of the feed's polls (200 ms here): it notices while nobody is subscribed
    Thread.sleep(1000);
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=back-3", Map.of())) {
      assertEquals("connected", sse.nextComment(WAIT));
      JsonObject fresh = HttpTestClient.pageView("back-3", "/new");
      long at = position(post(fresh), 0);
      assertEquals(position(kept, 0) + 1, at);
      Message m = sse.next(WAIT);
      assertNotNull(m, "the event committed after the subscriber came");
      assertEquals(String.valueOf(at), m.id());
      assertEquals(fresh.getString("id"), new JsonObject(m.data()).getString("id"));
    }
  }

  @Test
  @DisplayName("a client that left with an id of the lost events and resumes after the feed saw the change with "
      + "nobody subscribed is told, and gets the new events in those positions instead of skipping them")
  void resumeWithALostIdAfterAChangeNobodyWatched() throws Exception {
    JsonArray kept = post(HttpTestClient.pageView("back-4", "/kept"));
    String lostId;
    try (SseTestClient sse = SseTestClient.open(gateway.get(), "/v1/live?streams=back-4", Map.of())) {
      assertEquals("connected", sse.nextComment(WAIT));
      post(HttpTestClient.pageView("back-4", "/lost-1"), HttpTestClient.pageView("back-4", "/lost-2"));
      lostId = sse.take(2, WAIT).get(1).id();
    }
    long common = position(kept, 0);
    // the client is gone; the feed sees the change on its poll (200 ms here) with nobody subscribed
    failOverTo(common);
    Thread.sleep(1000);
    JsonObject first = HttpTestClient.pageView("back-4", "/new-1");
    JsonObject second = HttpTestClient.pageView("back-4", "/new-2");
    JsonArray fresh = post(first, second);
    assertEquals(common + 1, position(fresh, 0), "the new history gives the lost positions out again");
    assertTrue(Long.parseLong(lostId) <= position(fresh, 1), "the client's id is among them");

    try (SseTestClient again = SseTestClient.open(gateway.get(), "/v1/live?streams=back-4",
        Map.of("Last-Event-ID", lostId))) {
      assertEquals("connected", again.nextComment(WAIT));
      assertEquals("the event store's history changed after this event", again.nextComment(WAIT),
          "told, as a live stream is");
      List<Message> got = again.take(2, WAIT);
      assertEquals(List.of(first.getString("id"), second.getString("id")), ids(got));
    }
  }
}
