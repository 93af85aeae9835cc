package io.flightdeck.gateway.live;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.AnswerCuttingProxy;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PausedSseClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.SseTestClient.Message;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The store's history changes (see {@link LiveHistoryChangeIT}) while a stream is behind the live feed: catching up
 * from the store, or handing out a big batch at its client's pace. The stream is put there by a client that does not
 * read its socket ({@link PausedSseClient}): with far more to send than the socket buffers and
 * {@code live.maxBufferBytes} hold, the stream cannot get past the position the test chose. Every stream is on one
 * event loop ({@code http.instances} 1), which hands each batch to all its streams in one go: once another subscriber
 * got a batch (the rewind's id line, an event after it), the paused stream has had it too. A catch-up's read is
 * caught in flight by an {@link AnswerCuttingProxy} holding its answer back, and a catch-up waits for the feed by
 * reading events put in the store directly, which wake no one, with the feed's poll off.
 */
@ExtendWith(PostgresExtension.class)
class LiveHistoryChangeCatchUpIT {

  static final Duration WAIT = Duration.ofSeconds(30);
  static final String CHANGED = ": the event store's history changed after this event";

  @Test
  @DisplayName("a resuming stream still catching up before the last event the store kept when its history changes "
      + "drops the lost events it held and gets every event the store holds, once and in order, the new ones in "
      + "the lost positions included")
  void catchUpBeforeTheChange(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of());
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=catch-a", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      insertBigEvents(db, "backlog-a", 250);
      JsonArray kept = post(gateway, view("catch-a", "/kept-1"), view("catch-a", "/kept-2"));
      // the feed published the backlog before them: a catch-up reads it all from the store
      assertEquals(2, sentinel.take(2, WAIT).size());
      try (PausedSseClient paused = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + head)) {
        // the catch-up waits for its client in the backlog, 7.5 MB before the kept events; it holds these meanwhile
        JsonArray lost = post(gateway, view("catch-a", "/lost-1"), view("catch-a", "/lost-2"));
        assertEquals(2, sentinel.take(2, WAIT).size());
        long common = position(kept, 1);
        db.loseEventsAfter(common);
        JsonArray fresh = post(gateway, view("catch-a", "/new-1"), view("catch-a", "/new-2"));
        assertEquals(position(lost, 0), position(fresh, 0), "the new history gives the lost positions out again");
        // the rewind, then the new events, went by the paused stream too
        assertEquals(2, sentinel.take(2, WAIT).size());

        assertTrue(paused.readUntil("\nid: " + position(fresh, 1) + "\n", WAIT), "the new events reach it");
        long next = position(post(gateway, view("catch-a", "/next")), 0);
        assertTrue(paused.readUntil("\nid: " + next + "\n", WAIT), "and it goes on live");
        assertEquals(stored(db, head), received(paused.messages()));
        assertFalse(paused.body().contains(CHANGED), "it was not past the change: nothing to take back");
        for (int i = 0; i < 2; i++) {
          assertFalse(paused.body().contains(lost.getJsonObject(i).getString("id")), "a lost event");
        }
      }
    }
  }

  @Test
  @DisplayName("a stream handing out a big batch at its client's pace, still before the last event the store kept "
      + "when its history changes, gets the rest of the kept events at once, not only once another event comes, "
      + "then the new events in the lost positions")
  void pacedBatchBeforeTheChange(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of());
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=paced-a", Map.of());
         PausedSseClient paused = PausedSseClient.open(gateway, "/v1/live")) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      // one batch of 7.5 MB: the stream hands it out a piece at a time, and its client takes a few KB of it
      insertBigEvents(db, "paced-big", 250);
      long common = head(db);
      JsonArray lost = post(gateway, view("paced-a", "/lost-1"), view("paced-a", "/lost-2"));
      assertEquals(2, sentinel.take(2, WAIT).size(), "the paused stream holds them after the big batch");
      db.loseEventsAfter(common);
      // the feed notices at its next poll, and every stream past the kept events is told
      await().atMost(WAIT).until(() -> sentinel.lastEventId().equals(String.valueOf(common)));

      assertTrue(paused.readUntil("\nid: " + common + "\n", WAIT), "the last of the big batch, the store kept it");
      assertEquals(stored(db, head), received(paused.messages()));
      JsonArray fresh = post(gateway, view("paced-a", "/new"));
      assertEquals(position(lost, 0), position(fresh, 0), "the new history gives the lost positions out again");
      assertTrue(paused.readUntil("\nid: " + position(fresh, 0) + "\n", WAIT), "the new event");
      assertEquals(stored(db, head), received(paused.messages()));
      assertFalse(paused.body().contains(lost.getJsonObject(0).getString("id")), "a lost event");
    }
  }

  @Test
  @DisplayName("a resuming stream whose catch-up went past the last event the store kept, data still unsent, is "
      + "closed at once when the history changes, and none of the new history is sent on it")
  void catchUpPastTheChangeIsCutOff(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of());
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=past-b", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      long common = position(post(gateway, view("past-b", "/kept-1"), view("past-b", "/kept-2")), 1);
      insertBigEvents(db, "past-big", 250);
      post(gateway, view("past-b", "/lost"));
      // the feed published the big events before it
      assertEquals(3, sentinel.take(3, WAIT).size());
      try (PausedSseClient paused = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + head)) {
        // the catch-up wrote past the kept events (then waits for its client with about maxBufferBytes unsent)
        assertTrue(paused.readUntil("\nid: " + (common + 1) + "\n", WAIT));
        db.loseEventsAfter(common);
        JsonObject fresh = view("past-b", "/new");
        post(gateway, fresh);
        assertEquals(fresh.getString("id"), new JsonObject(sentinel.take(1, WAIT).get(0).data()).getString("id"));

        assertTrue(paused.readToEnd(WAIT), "the server closes the stream, not the idle timeout");
        assertFalse(paused.body().contains(fresh.getString("id")), "the new history is not sent on it");
      }
    }
  }

  @Test
  @DisplayName("a stream cut off past the last event the store kept when its history changes: its client, resuming "
      + "with its own last id (of the old history), is told as a live stream is and gets every event the store holds "
      + "after the kept one, the new ones in the lost positions included; a resume at or below it is told nothing")
  void cutOffClientResumesWithItsOwnId(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of());
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=told-b", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      long common = position(post(gateway, view("told-b", "/kept-1"), view("told-b", "/kept-2")), 1);
      insertBigEvents(db, "told-big", 250);
      post(gateway, view("told-b", "/lost"));
      assertEquals(3, sentinel.take(3, WAIT).size(), "the feed published the big events before the last");
      long resumeWith;
      try (PausedSseClient paused = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + head)) {
        assertTrue(paused.readUntil("\nid: " + (common + 1) + "\n", WAIT));
        db.loseEventsAfter(common);
        JsonArray fresh = post(gateway, view("told-b", "/new-1"), view("told-b", "/new-2"), view("told-b", "/new-3"));
        assertEquals(common + 1, position(fresh, 0), "the new history gives the lost positions out again");
        // the feed went back, then published them: the paused stream was cut off before the sentinel had them
        assertEquals(3, sentinel.take(3, WAIT).size());
        assertTrue(paused.readToEnd(WAIT), "cut off");
        List<PausedSseClient.Message> got = paused.messages();
        resumeWith = got.get(got.size() - 1).id();
      }
      assertTrue(resumeWith > common, "the client's last id is one of the old history's lost positions");
      long last = head(db);

      try (PausedSseClient again = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + resumeWith)) {
        assertTrue(again.readUntil("\nid: " + last + "\n", WAIT), again.body());
        String body = again.body();
        int told = body.indexOf("id: " + common + "\n" + CHANGED + "\n");
        assertTrue(told >= 0, "told the store's history changed after " + common + ": " + body);
        assertTrue(told < body.indexOf("data:"), "before any event: " + body);
        assertEquals(stored(db, common), received(again.messages()));
      }
      for (long at : new long[] {common, common - 1}) {
        try (PausedSseClient below = PausedSseClient.open(gateway, "/v1/live?lastEventId=" + at)) {
          assertTrue(below.readUntil("\nid: " + last + "\n", WAIT), below.body());
          assertFalse(below.body().contains(CHANGED), "an id the new history holds too: " + below.body());
          assertEquals(stored(db, at), received(below.messages()));
        }
      }
    }
  }

  @Test
  @DisplayName("a resuming stream whose catch-up went past the last event the store kept, nothing left unsent, ends "
      + "after an id line naming that event, and its client resumes there with the new events in the lost positions")
  void catchUpPastTheChangeEnds(TestDatabase db) throws Exception {
    // no poll: the feed reads only when an append wakes it, so an event put in the store directly waits
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "3600000"));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=ends-b", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      // one append, so one notification and one read: with two, the second's notification could come while the read
      // of both was in flight, and the feed would read again (minIntervalMs later), after the insert below
      JsonObject lost = view("ends-b", "/lost");
      long common = position(post(gateway, view("ends-b", "/kept"), lost), 0);
      assertEquals(2, sentinel.take(2, WAIT).size(), "the feed published both");
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          VALUES (gen_random_uuid(), 'ends-x', 1, 'PageViewed', 1, '{"pageId": "/ahead"}', '{"site": "demo"}',
                  now())""");
      try (SseTestClient sse = SseTestClient.openHttp1(gateway, "/v1/live", Map.of("Last-Event-ID",
          String.valueOf(head)))) {
        // its catch-up read the store past them in one page and waits for the feed to publish the event after
        // them, its client having taken all it was sent
        List<Message> got = sse.take(2, WAIT);
        assertEquals(lost.getString("id"), new JsonObject(got.get(1).data()).getString("id"));
        db.loseEventsAfter(common);
        JsonObject fresh = view("ends-b", "/new");
        long freshAt = position(post(gateway, fresh), 0);
        assertEquals(common + 1, freshAt, "the new history gives the lost position out again");
        assertEquals(fresh.getString("id"), new JsonObject(sentinel.take(1, WAIT).get(0).data()).getString("id"));

        await().atMost(WAIT).until(sse::ended);
        assertEquals(String.valueOf(common), sse.lastEventId(), "the id line names the last event the store kept");
        assertTrue(sse.drain().isEmpty(), "nothing after it");
        try (SseTestClient again = SseTestClient.openHttp1(gateway, "/v1/live", Map.of("Last-Event-ID",
            sse.lastEventId()))) {
          Message m = again.next(WAIT);
          assertEquals(String.valueOf(freshAt), m.id());
          assertEquals(fresh.getString("id"), new JsonObject(m.data()).getString("id"));
        }
      }
    }
  }

  @Test
  @DisplayName("a resuming stream that read events the live feed had not published yet, which the store then "
      + "lost, still gets every new event in their positions")
  void catchUpAheadOfTheFeed(TestDatabase db) throws Exception {
    // no poll: the feed reads only when an append wakes it, so events put in the store directly wait
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "3600000"));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=ahead-c", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      JsonObject kept = view("ahead-c", "/kept");
      long common = position(post(gateway, kept), 0);
      // the feed read it: its notification cannot come after the insert below and wake a read of what it inserts
      assertEquals(1, sentinel.take(1, WAIT).size());
      // committed, not appended through the gateway: nothing wakes the feed
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'ahead-x-' || g, 1, 'PageViewed', 1, '{"pageId": "/ahead"}', '{"site": "demo"}',
                 now()
          FROM generate_series(1, 3) g""");
      try (SseTestClient sse = SseTestClient.openHttp1(gateway, "/v1/live", Map.of("Last-Event-ID",
          String.valueOf(head)))) {
        Message first = sse.next(WAIT);
        assertEquals(kept.getString("id"), new JsonObject(first.data()).getString("id"));
        // its catch-up has read the store (one page): the failover loses what the feed never saw
        db.loseEventsAfter(common);
        JsonObject[] fresh = {view("ahead-c", "/new-1"), view("ahead-c", "/new-2"), view("ahead-c", "/new-3"),
            view("ahead-c", "/new-4")};
        assertEquals(common + 1, position(post(gateway, fresh), 0));
        List<String> expected = new ArrayList<>();
        for (JsonObject e : fresh) {
          expected.add(e.getString("id"));
        }
        List<String> got = new ArrayList<>();
        while (!got.contains(expected.get(3)) && got.size() < 10) {
          Message m = sse.next(WAIT);
          if (m == null) {
            break;
          }
          got.add(new JsonObject(m.data()).getString("id"));
        }
        assertEquals(expected, got);
      }
    }
  }

  @Test
  @DisplayName("a catch-up page read before the store's history changed and answered after the stream was told of "
      + "the change is read again: the stream sends none of the lost events in it, and the new event in their place")
  void catchUpPageReadBeforeTheChange(TestDatabase db) throws Exception {
    try (AnswerCuttingProxy proxy = AnswerCuttingProxy.start(db, "flightdeck-read");
         TestGateway gateway = start(db, Map.of("FLIGHTDECK_DB_URL", proxy.url()));
         SseTestClient sentinel = SseTestClient.openHttp1(gateway, "/v1/live?streams=stale-d", Map.of())) {
      assertEquals("connected", sentinel.nextComment(WAIT));
      long head = head(db);
      JsonObject kept = view("stale-d", "/kept");
      long common = position(post(gateway, kept), 0);
      JsonObject lost = view("stale-d", "/stale-page-mark");
      post(gateway, lost);
      assertEquals(2, sentinel.take(2, WAIT).size(), "the feed published both");
      // the catch-up's first read: the server runs it on the old history, the gateway hears of it only later
      proxy.holdAnswerHolding("stale-page-mark");
      try (SseTestClient sse = SseTestClient.openHttp1(gateway, "/v1/live", Map.of("Last-Event-ID",
          String.valueOf(head)))) {
        await().atMost(WAIT).until(() -> proxy.heldAnswers() == 1);
        db.loseEventsAfter(common);
        JsonObject fresh = view("stale-d", "/new");
        long freshAt = position(post(gateway, fresh), 0);
        assertEquals(common + 1, freshAt, "the new history gives the lost position out again");
        // the feed's own read, on another connection, saw the change: the rewind went by the stream
        assertEquals(fresh.getString("id"), new JsonObject(sentinel.take(1, WAIT).get(0).data()).getString("id"));
        proxy.releaseHeld();

        JsonObject next = view("stale-d", "/next");
        post(gateway, next);
        List<String> got = new ArrayList<>();
        for (Message m : sse.take(3, WAIT)) {
          got.add(new JsonObject(m.data()).getString("id"));
        }
        assertEquals(List.of(kept.getString("id"), fresh.getString("id"), next.getString("id")), got);
      }
    }
  }

  static TestGateway start(TestDatabase db, Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>(overrides);
    env.put("FLIGHTDECK_PROJECTIONS_ENABLED", "false");
    env.put("FLIGHTDECK_HTTP_INSTANCES", "1");
    env.putIfAbsent("FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "200");
    // a quiet stream still gets something now and then: a client waiting for an event that never comes sees it
    env.put("FLIGHTDECK_LIVE_HEARTBEAT_SECONDS", "1");
    return TestGateway.start(db, env);
  }

  static JsonObject view(String stream, String page) {
    return HttpTestClient.pageView(stream, page);
  }

  static JsonArray post(TestGateway gateway, JsonObject... events) {
    return gateway.http().postBatch(events);
  }

  static long position(JsonArray results, int i) {
    return results.getJsonObject(i).getLong("position");
  }

  static long head(TestDatabase db) {
    return db.queryLong("SELECT COALESCE(max(position), 0) FROM events");
  }

  /** {@code n} events of about 30 KB in one transaction: far more than a paused client's socket buffers take. */
  static void insertBigEvents(TestDatabase db, String prefix, int n) {
    db.execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
        SELECT gen_random_uuid(), ? || '-' || g, 1, 'PageViewed', 1,
               jsonb_build_object('pageId', '/big', 'note', repeat('x', 30000)), '{"site": "demo"}', now()
        FROM generate_series(1, ?) g""", prefix, n);
  }

  /** "position id" of every event the store holds after {@code after}, in order. */
  static List<String> stored(TestDatabase db, long after) {
    List<String> out = new ArrayList<>();
    for (List<Object> row : db.query("SELECT position, id FROM events WHERE position > ? ORDER BY position",
        after)) {
      out.add(row.get(0) + " " + row.get(1));
    }
    return out;
  }

  /** "position id" of every message received, checking that its id line is its envelope's position. */
  static List<String> received(List<PausedSseClient.Message> messages) {
    List<String> out = new ArrayList<>();
    for (PausedSseClient.Message m : messages) {
      assertEquals(m.id(), m.data().getLong("position"), m.data().encode());
      out.add(m.id() + " " + m.data().getString("id"));
    }
    return out;
  }
}
