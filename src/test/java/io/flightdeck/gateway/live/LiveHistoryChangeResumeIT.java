package io.flightdeck.gateway.live;

import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.head;
import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.position;
import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.post;
import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.received;
import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.start;
import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.stored;
import static io.flightdeck.gateway.live.LiveHistoryChangeCatchUpIT.view;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.AnswerCuttingProxy;
import io.flightdeck.gateway.support.PausedSseClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client resumes with an id past what this process's live feed has published: one another gateway process, ahead
 * of this one, gave it, for events committed that this feed has not read yet. Then the store's history changes (see
 * {@link LiveHistoryChangeIT}) and those events are lost, before the feed read them: while the stream asks the store
 * where to start (its answer held back by an {@link AnswerCuttingProxy}), or once it started. The client must be
 * told as a live stream is (an id line naming the last event the store kept, with a comment) and get the new events
 * in the lost positions. The events the feed has not read are put in the store directly, which wakes no one, with
 * the feed's poll off; the feed reads when an append through the gateway wakes it.
 */
@ExtendWith(PostgresExtension.class)
class LiveHistoryChangeResumeIT {

  static final Duration WAIT = Duration.ofSeconds(30);
  static final String CHANGED = LiveHistoryChangeCatchUpIT.CHANGED;
  static final Map<String, String> NO_POLL = Map.of("FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "3600000");

  @Test
  @DisplayName("a client resuming past what the live feed published, whose events the store loses while the stream "
      + "asks the store where to start and the feed goes back, is told so and gets the new events in their place")
  void feedGoesBackWhileTheStoreIsAsked(TestDatabase db) throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = start(db, with(NO_POLL, "FLIGHTDECK_DB_URL", proxy.url()));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=wait-a", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      // one append: the feed reads once, and publishes both
      JsonArray published = post(gateway, view("wait-a", "/kept"), view("wait-a", "/lost-1"));
      assertEquals(2, sentinel.take(2, WAIT).size());
      long common = position(published, 0);
      UUID ahead = insertUnread(db, "wait-a");
      assertEquals(common + 2, head(db));
      proxy.holdNextAnswer();
      try (PausedSseClient sse = PausedSseClient.request(gateway, "/v1/live?lastEventId="
          + (common + 2))) {
        await().atMost(WAIT).until(() -> proxy.heldAnswers() == 1);
        db.loseEventsAfter(common);
        JsonArray fresh = post(gateway, view("wait-a", "/new-1"), view("wait-a", "/new-2"), view("wait-a", "/new-3"));
        assertEquals(common + 1, position(fresh, 0), "the new history gives the lost positions out again");
        // the feed went back, then published them: the waiting stream's event loop had both first
        assertEquals(3, sentinel.take(3, WAIT).size());
        assertEquals(String.valueOf(common + 3), sentinel.lastEventId());
        proxy.releaseHeld();

        assertToldAndCaughtUp(db, sse, common, position(fresh, 2), ahead);
      }
    }
  }

  @Test
  @DisplayName("a client resuming past the store's last event, while the store loses events the feed published as "
      + "the stream asks it where to start, starts at that last event, is told the history changed, and gets the new "
      + "events in the lost positions")
  void pastTheStoreWhileTheFeedGoesBack(TestDatabase db) throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = start(db, with(NO_POLL, "FLIGHTDECK_DB_URL", proxy.url()));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=past-h", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      JsonArray published = post(gateway, view("past-h", "/kept"), view("past-h", "/lost-1"),
          view("past-h", "/lost-2"));
      assertEquals(3, sentinel.take(3, WAIT).size());
      long common = position(published, 0);
      proxy.holdNextAnswer();
      // an id a store restored from an older backup never reaches: the stream does not wait for it
      try (PausedSseClient sse = PausedSseClient.request(gateway, "/v1/live?lastEventId=" + (common + 1000))) {
        await().atMost(WAIT).until(() -> proxy.heldAnswers() == 1);
        db.loseEventsAfter(common);
        JsonArray fresh = post(gateway, view("past-h", "/new-1"), view("past-h", "/new-2"), view("past-h", "/new-3"));
        assertEquals(common + 1, position(fresh, 0), "the new history gives the lost positions out again");
        assertEquals(3, sentinel.take(3, WAIT).size());
        proxy.releaseHeld();

        assertTrue(sse.readUntil("\nid: " + position(fresh, 2) + "\n", WAIT), sse.body());
        assertTrue(sse.body().startsWith("retry: 2000\nid: " + (common + 2) + "\n: connected\n"),
            "the greeting names the store's last event when it answered: " + sse.body());
        assertToldAndCaughtUp(db, sse, common, position(fresh, 2), published.getJsonObject(2).getString("id"));
      }
    }
  }

  @Test
  @DisplayName("a client resuming past what the live feed published, whose events the store loses while the stream "
      + "asks the store where to start, before the feed read them, is told so and gets the new events in their place")
  void changePastTheFeedWhileTheStoreIsAsked(TestDatabase db) throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = start(db, with(NO_POLL, "FLIGHTDECK_DB_URL", proxy.url()));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=wait-b", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long common = position(post(gateway, view("wait-b", "/kept")), 0);
      assertEquals(1, sentinel.take(1, WAIT).size());
      insertUnread(db, "wait-b");
      UUID ahead = insertUnread(db, "wait-b");
      proxy.holdNextAnswer();
      try (PausedSseClient sse = PausedSseClient.request(gateway, "/v1/live?lastEventId="
          + (common + 2))) {
        await().atMost(WAIT).until(() -> proxy.heldAnswers() == 1);
        db.loseEventsAfter(common);
        JsonArray fresh = post(gateway, view("wait-b", "/new-1"), view("wait-b", "/new-2"), view("wait-b", "/new-3"));
        assertEquals(common + 1, position(fresh, 0), "the new history gives the lost positions out again");
        // the feed still held its last event: it read on, no going back
        assertEquals(3, sentinel.take(3, WAIT).size());
        proxy.releaseHeld();

        assertToldAndCaughtUp(db, sse, common, position(fresh, 2), ahead);
      }
    }
  }

  @Test
  @DisplayName("a client resuming past what the live feed published, whose events the store loses once the stream "
      + "started, before the feed read them, is told so and gets the new events in their place")
  void changePastTheFeedOnceStarted(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, NO_POLL);
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=started-c", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long common = position(post(gateway, view("started-c", "/kept")), 0);
      assertEquals(1, sentinel.take(1, WAIT).size());
      insertUnread(db, "started-c");
      UUID ahead = insertUnread(db, "started-c");
      try (PausedSseClient sse = PausedSseClient.open(gateway, "/v1/live?lastEventId="
          + (common + 2))) {
        assertTrue(sse.body().contains("id: " + (common + 2) + "\n: connected\n"), sse.body());
        db.loseEventsAfter(common);
        JsonArray fresh = post(gateway, view("started-c", "/new-1"), view("started-c", "/new-2"),
            view("started-c", "/new-3"));
        assertEquals(common + 1, position(fresh, 0), "the new history gives the lost positions out again");
        assertEquals(3, sentinel.take(3, WAIT).size());

        assertToldAndCaughtUp(db, sse, common, position(fresh, 2), ahead);
      }
    }
  }

  @Test
  @DisplayName("a client resuming past what the live feed published, whose events the store loses once the stream "
      + "started, is told so and gets the new event in a lost position at once, though positions have not reached its "
      + "id again")
  void changePastTheFeedNotCaughtUp(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, NO_POLL);
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=short-f", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long common = position(post(gateway, view("short-f", "/kept")), 0);
      assertEquals(1, sentinel.take(1, WAIT).size());
      insertUnread(db, "short-f");
      UUID ahead = insertUnread(db, "short-f");
      try (PausedSseClient sse = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + (common + 2))) {
        db.loseEventsAfter(common);
        long fresh = position(post(gateway, view("short-f", "/new-1")), 0);
        assertEquals(common + 1, fresh, "the new history gives the lost position out again");
        assertEquals(1, sentinel.take(1, WAIT).size());

        assertToldAndCaughtUp(db, sse, common, fresh, ahead);
      }
    }
  }

  @Test
  @DisplayName("a client resuming past what the live feed published, with no change to the store's history, gets "
      + "only the events after its id, once, and is told of no change")
  void resumePastTheFeedWithoutAChange(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, NO_POLL);
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=same-d", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long common = position(post(gateway, view("same-d", "/kept")), 0);
      assertEquals(1, sentinel.take(1, WAIT).size());
      insertUnread(db, "same-d");
      insertUnread(db, "same-d");
      insertUnread(db, "same-d");
      try (PausedSseClient sse = PausedSseClient.open(gateway, "/v1/live?lastEventId="
          + (common + 2))) {
        long next = position(post(gateway, view("same-d", "/next")), 0);
        assertEquals(1, sentinel.take(1, WAIT).size());
        assertTrue(sse.readUntil("\nid: " + next + "\n", WAIT), sse.body());
        assertEquals(stored(db, common + 2), received(sse.messages()));
        assertFalse(sse.body().contains(CHANGED), sse.body());
      }
    }
  }

  @Test
  @DisplayName("a resume past what the live feed published, while more live batches go by than a stream holds as it "
      + "asks the store where to start, is closed at once without an answer, and the client resuming again gets "
      + "every event after its id, once")
  void tooManyBatchesWhileTheStoreIsAsked(TestDatabase db) throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = start(db, with(with(NO_POLL, "FLIGHTDECK_DB_URL", proxy.url()),
             "FLIGHTDECK_LIVE_MAX_PENDING_BATCHES", "1"));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=many-e", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long common = position(post(gateway, view("many-e", "/kept")), 0);
      assertEquals(1, sentinel.take(1, WAIT).size());
      insertUnread(db, "many-e");
      proxy.holdNextAnswer();
      try (PausedSseClient sse = PausedSseClient.request(gateway, "/v1/live?lastEventId=" + (common + 1))) {
        await().atMost(WAIT).until(() -> proxy.heldAnswers() == 1);
        // two batches, one at a time: the stream holds one
        post(gateway, view("many-e", "/first"));
        assertEquals(1, sentinel.take(1, WAIT).size());
        post(gateway, view("many-e", "/second"));
        assertEquals(1, sentinel.take(1, WAIT).size());
        proxy.releaseHeld();

        assertTrue(sse.readToEnd(WAIT), "closed at once, not left waiting");
        assertEquals("", sse.body());
      }
      try (PausedSseClient again = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + (common + 1))) {
        assertTrue(again.readUntil("\nid: " + head(db) + "\n", WAIT), again.body());
        assertEquals(stored(db, common + 1), received(again.messages()));
      }
    }
  }

  @Test
  @DisplayName("a resume past what the live feed published whose question to the store fails is closed at once, "
      + "without an answer, and the client resuming again gets every event after its id, once")
  void storeFailsWhileAsked(TestDatabase db) throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = start(db, with(NO_POLL, "FLIGHTDECK_DB_URL", proxy.url()))) {
      long common = position(post(gateway, view("cut-g", "/kept")), 0);
      insertUnread(db, "cut-g");
      proxy.cutNextAnswer();
      try (PausedSseClient sse = PausedSseClient.request(gateway, "/v1/live?lastEventId=" + (common + 1))) {
        assertTrue(sse.readToEnd(WAIT), "closed at once, not left waiting");
        assertEquals(1, proxy.cutConnections());
        assertEquals("", sse.body());
      }
      try (PausedSseClient again = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + (common + 1))) {
        long next = position(post(gateway, view("cut-g", "/next")), 0);
        assertTrue(again.readUntil("\nid: " + next + "\n", WAIT), again.body());
        assertEquals(stored(db, common + 1), received(again.messages()));
      }
    }
  }

  /**
   * The stream said the store's history changed after {@code common} (an id line naming it, with the comment) before
   * any event, then sent every event the store holds after it, up to {@code last}, and nothing of the lost one.
   */
  static void assertToldAndCaughtUp(TestDatabase db, PausedSseClient sse, long common, long last, Object lost)
      throws Exception {
    assertTrue(sse.readUntil("\nid: " + last + "\n", WAIT), sse.body());
    String body = sse.body();
    int told = body.indexOf("id: " + common + "\n" + CHANGED + "\n");
    assertTrue(told >= 0, "told the store's history changed after " + common + ": " + body);
    assertTrue(told < body.indexOf("data:"), "before any event: " + body);
    assertEquals(stored(db, common), received(sse.messages()));
    assertFalse(body.contains(lost.toString()), "a lost event");
  }

  /** One event committed straight into the store, which wakes nobody: the live feed does not read it yet. */
  static UUID insertUnread(TestDatabase db, String stream) {
    UUID id = UUID.randomUUID();
    db.execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
        VALUES (?::uuid, ? || '-' || gen_random_uuid(), 1, 'PageViewed', 1, '{"pageId": "/unread"}',
                '{"site": "demo"}', now())""", id.toString(), stream);
    return id;
  }

  static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> out = new HashMap<>(base);
    out.put(key, value);
    return out;
  }
}
