package io.flightdeck.gateway.live;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.SseTestClient.Message;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GET /v1/live under load and failure, as subscribers see it over real HTTP connections: concurrent writers,
 * reconnects with Last-Event-ID, a lost LISTEN connection, a client that stops reading, the connection limit,
 * heartbeats and a graceful stop. Each test starts its own gateway (the configuration differs) on the class's
 * database and compares what arrived on the streams with what the events table holds.
 */
@ExtendWith(PostgresExtension.class)
class LiveDeliveryIT {

  static final Duration WAIT = Duration.ofSeconds(20);
  /**
   * live.maxBufferBytes for the tests of the immediate cut-off: a batch of 2 events of 30 KiB is under half of it,
   * so a client is not handed one a piece at a time and is cut off as soon as its backlog leaves no room. Requests
   * posted back to back may still share one live batch (one read every live.minIntervalMs), big enough to be handed
   * out in pieces: those tests also set {@link #STALL_TIMEOUT_MS}, so that a stalled client is cut off either way.
   */
  static final String CUT_AT_ONCE_BUFFER = "196608";
  static final String STALL_TIMEOUT_MS = "1000";
  static final String SHOP_KEY = "shop-write-key-live";
  /** Two sites, so that ?site= has something to tell apart; the rate limits stay out of the way. */
  static final String SITES = "[" + site("demo", TestGateway.WRITE_KEY) + "," + site("shop", SHOP_KEY) + "]";
  static final String KILL_LISTENER = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      + " WHERE application_name = 'flightdeck-listen' AND datname = current_database()";

  @Test
  @DisplayName("five subscribers with different filters each get exactly their matching events, once and in "
      + "position order, while four writers post at once")
  void everySubscriberGetsEveryMatchingEventOnce(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of())) {
      long head = head(db);
      // query string -> the same selection in SQL over the events table
      Map<String, String> filters = new LinkedHashMap<>();
      filters.put("", "true");
      filters.put("?types=ButtonClicked", "type = 'ButtonClicked'");
      filters.put("?streams=fan-1,fan-3", "stream_id IN ('fan-1', 'fan-3')");
      filters.put("?site=shop", "metadata->>'site' = 'shop'");
      filters.put("?types=PageViewed,FormSubmitted&streams=fan-0,fan-2,fan-4&site=demo",
          "type IN ('PageViewed', 'FormSubmitted') AND stream_id IN ('fan-0', 'fan-2', 'fan-4')"
              + " AND metadata->>'site' = 'demo'");
      Map<String, SseTestClient> subscribers = new LinkedHashMap<>();
      try {
        int i = 0;
        for (String query : filters.keySet()) {
          // browsers use HTTP/1.1 on http://, other clients HTTP/2: half and half
          subscribers.put(query, subscribe(gateway, "/v1/live" + query, Map.of(), i++ % 2 == 0));
        }

        try (Writers writers = new Writers(gateway, "fan", 4, 50)) {
          writers.awaitDone();
        }

        assertEquals(4 * 50 * 10, positions(db, "position > ?", head).size());
        Map<SseTestClient, List<Long>> expected = new LinkedHashMap<>();
        for (Map.Entry<String, SseTestClient> s : subscribers.entrySet()) {
          expected.put(s.getValue(), positions(db, "position > ? AND " + filters.get(s.getKey()), head));
          assertTrue(expected.get(s.getValue()).size() > 50, "each filter matches something: " + s.getKey());
        }
        Map<SseTestClient, List<Message>> received = receiveEach(expected);
        for (Map.Entry<String, SseTestClient> s : subscribers.entrySet()) {
          assertSameEvents("subscriber /v1/live" + s.getKey(), expected.get(s.getValue()),
              ids(received.get(s.getValue())));
        }
      } finally {
        subscribers.values().forEach(SseTestClient::close);
      }
    }
  }

  @Test
  @DisplayName("a subscriber that reconnects again and again with Last-Event-ID while writers post gets the "
      + "whole table in position order, with no gap and no duplicate")
  void resumingRepeatedlyUnderWritesLosesAndRepeatsNothing(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of())) {
      long head = head(db);
      List<Long> received = new ArrayList<>();
      long last = head;
      try (Writers writers = new Writers(gateway, "resume", 2, 2000)) {
        for (int round = 0; round < 8; round++) {
          int want = 150 + 40 * round;
          try (SseTestClient sse = subscribe(gateway, "/v1/live", lastEventId(last), round % 2 == 0)) {
            List<Long> got = ids(sse.take(want, WAIT));
            received.addAll(got);
            last = got.get(got.size() - 1);
          }
        }
        long resumePoint = last;
        Awaitility.await("the writes go on past the last resume point").atMost(WAIT)
            .until(() -> head(db) > resumePoint);
        writers.stop();
      }

      List<Long> expected = positions(db, "position > ?", head);
      try (SseTestClient rest = subscribe(gateway, "/v1/live", lastEventId(last), true)) {
        received.addAll(ids(receive(rest, expected.size() - received.size())));
      }
      assertSameEvents("the concatenated streams", expected, received);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"FLIGHTDECK_LIVE_MAX_PENDING_BATCHES=4", "FLIGHTDECK_LIVE_MAX_PENDING_BYTES=65536"})
  @DisplayName("a subscriber resuming from thousands of events back reads them over many catch-up pages and "
      + "switches to live while writes arrive, with no gap and no duplicate")
  void resumingFromFarBackSwitchesToLiveWithoutGap(String heldLimit, TestDatabase db) throws Exception {
    // small pages force dozens of round trips; few pending batches, or few of their bytes, force the "read them
    // from the store" path
    String[] limit = heldLimit.split("=");
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_CATCH_UP_PAGE_SIZE", "50", limit[0], limit[1]))) {
      long head = head(db);
      int backlog = 2000;
      for (int i = 0; i < backlog / 500; i++) {
        post(gateway, TestGateway.WRITE_KEY, mixedBatch("backlog", i * 500, 500));
      }
      List<Long> received = new ArrayList<>();
      try (Writers writers = new Writers(gateway, "far", 2, 1000)) {
        await().atMost(WAIT).until(() -> writers.batches() >= 10);
        try (SseTestClient sse = subscribe(gateway, "/v1/live", lastEventId(head), false)) {
          // the backlog and what was written while it was being read; the writes go on past the switch to live
          received.addAll(ids(sse.take(backlog + 1000, WAIT)));
          int more = writers.batches() + 100;
          await().atMost(WAIT).until(() -> writers.batches() >= more);
          writers.stop();
          List<Long> expected = positions(db, "position > ?", head);
          received.addAll(ids(receive(sse, expected.size() - received.size())));
          assertSameEvents("the far-back subscriber", expected, received);
        }
      }
    }
  }

  @Test
  @DisplayName("when the LISTEN connection is killed again and again during writes, every subscriber still "
      + "gets every event once: the listener comes back and resyncs")
  void killedListenerResyncsWithoutLoss(TestDatabase db) throws Exception {
    // an hour-long poll: only the listener's resync after a reconnect can recover what its absence missed
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "3600000"))) {
      TestDatabase server = new TestDatabase(db.urlFor("postgres"));
      awaitListener(server, db, -1);
      long head = head(db);
      List<SseTestClient> subscribers = new ArrayList<>();
      Map<SseTestClient, String> where = new HashMap<>();
      try {
        where.put(add(subscribers, subscribe(gateway, "/v1/live", Map.of(), true)), "true");
        where.put(add(subscribers, subscribe(gateway, "/v1/live?types=ButtonClicked", Map.of(), false)),
            "type = 'ButtonClicked'");
        where.put(add(subscribers, subscribe(gateway, "/v1/live?streams=kill-0,kill-2", Map.of(), true)),
            "stream_id IN ('kill-0', 'kill-2')");

        // 1. killed five times while three writers post
        try (Writers writers = new Writers(gateway, "kill", 3, 1000)) {
          for (int kill = 1; kill <= 5; kill++) {
            int after = 20 * kill;
            await().atMost(WAIT).until(() -> writers.batches() >= after);
            int killed = listenerPid(server, db);
            db.query(KILL_LISTENER);
            awaitListener(server, db, killed);
          }
          writers.stop();
        }
        assertAllDelivered(db, head, subscribers, where);

        // 2. killed while the database refuses new connections: these events are committed and notified while
        // nobody listens, and nothing else (no further write, no poll) wakes the live feed
        long beforeOutage = head(db);
        int killed = listenerPid(server, db);
        try {
          allowConnections(server, db, false);
          server.query("SELECT pg_terminate_backend(?)", killed);
          await().atMost(WAIT).until(() -> listenerPids(server, db).isEmpty());
          for (int i = 0; i < 3; i++) {
            post(gateway, i % 2 == 0 ? TestGateway.WRITE_KEY : SHOP_KEY, mixedBatch("kill", 90_000 + i * 10, 10));
          }
          assertNull(subscribers.get(0).next(Duration.ofMillis(500)), "nothing arrives while nobody listens");
        } finally {
          allowConnections(server, db, true);
        }
        awaitListener(server, db, killed);
        assertEquals(30, positions(db, "position > ?", beforeOutage).size());
        assertAllDelivered(db, beforeOutage, subscribers, where);
      } finally {
        subscribers.forEach(SseTestClient::close);
      }
    }
  }

  @Test
  @DisplayName("an event committed after the first subscriber connected, while the feed (with nobody subscribed "
      + "before) was still asking the store for its head, reaches that subscriber at the next wake-up")
  void headAskedWithoutSubscribersSkipsNothingOfTheFirstSubscriber(TestDatabase db) throws Exception {
    // one read connection, which the test holds to keep the head query waiting; no poll: only the notifications
    // sent below wake the feed
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_DB_READ_POOL_SIZE", "1",
        "FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "3600000"))) {
      TestDatabase server = new TestDatabase(db.urlFor("postgres"));
      awaitListener(server, db, -1);
      try (java.sql.Connection locker = db.connect()) {
        locker.setAutoCommit(false);
        locker.createStatement().execute("LOCK TABLE visitor_activity IN ACCESS EXCLUSIVE MODE");
        java.util.concurrent.CompletableFuture<Response> held = gateway.http().sendAsync(gateway.http()
            .request("/v1/visitors/held").header("Authorization", "Bearer " + TestGateway.READ_TOKEN).GET());
        await().atMost(WAIT).until(() -> server.queryLong("SELECT count(*) FROM pg_stat_activity"
            + " WHERE datname = ? AND wait_event_type = 'Lock'", db.name()) == 1);
        // a hint without a range (as after the listener reconnects), with nobody subscribed: the feed asks the store
        // for its head, and the query waits for the read connection
        db.execute("NOTIFY flightdeck_events, 'resync'");
        TimeUnit.MILLISECONDS.sleep(300);
        try (SseTestClient sse = subscribe(gateway, "/v1/live?streams=head-race", Map.of(), true)) {
          // committed after the subscriber connected; written around the gateway, so without a notification: as
          // one lost, or one still on its way when the head comes back
          db.execute("""
              INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
              VALUES (gen_random_uuid(), 'head-race', 1, 'PageViewed', 1, '{"pageId": "/late"}',
                      '{"site": "demo"}', now())""");
          long position = head(db);
          locker.rollback();
          held.get(WAIT.toSeconds(), TimeUnit.SECONDS);
          // the head query has its answer now
          TimeUnit.MILLISECONDS.sleep(300);
          // a wake-up, as the poll's
          db.execute("NOTIFY flightdeck_events, 'wake'");
          Message m = sse.next(Duration.ofSeconds(5));
          assertNotNull(m, "the event committed after the subscriber connected");
          assertEquals(String.valueOf(position), m.id());
        }
      }
    }
  }

  @Test
  @DisplayName("a client that stops reading is cut off by the server while another subscriber gets every event")
  void slowClientIsCutOffOthersKeepReceiving(TestDatabase db) throws Exception {
    // batches of 2 events of 30 KiB, under half the buffer: the stalled client is cut off at once, by its backlog
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", CUT_AT_ONCE_BUFFER,
        "FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", STALL_TIMEOUT_MS));
         SseTestClient reader = subscribe(gateway, "/v1/live", Map.of(), true);
         Socket stalled = stalledSubscriber(gateway)) {
      assertStalledClientCutOffOthersServed(db, gateway, reader, stalled, 2);
    }
  }

  @Test
  @DisplayName("a client that stops reading in the middle of batches handed out a piece at a time is cut off once "
      + "it has taken nothing for live.stallTimeoutMs, while another subscriber gets every event")
  void stalledClientOfBigBatchesIsCutOffAfterTheStallTimeout(TestDatabase db) throws Exception {
    // batches of 16 events of 30 KiB, many times the buffer: each goes to the clients a piece at a time
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", "65536",
        "FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", "1000"));
         SseTestClient reader = subscribe(gateway, "/v1/live", Map.of(), true);
         Socket stalled = stalledSubscriber(gateway)) {
      assertStalledClientCutOffOthersServed(db, gateway, reader, stalled, 16);
    }
  }

  /**
   * Posts requests of {@code perRequest} events of 30 KiB until the stalled client is cut off, and two more events;
   * then the reader has every event, and the stalled client a gap-free prefix it resumes after.
   */
  static void assertStalledClientCutOffOthersServed(TestDatabase db, TestGateway gateway, SseTestClient reader,
                                                    Socket stalled, int perRequest) throws Exception {
    long head = head(db);
    int events = postUntilSlowClientDropped(gateway, perRequest);
    // and a little more, which the cut-off client must no longer be sent
    post(gateway, TestGateway.WRITE_KEY, bigPageViews(events, 2));
    events += 2;

    List<Long> expected = positions(db, "position > ?", head);
    assertEquals(events, expected.size());
    assertSameEvents("the subscriber that reads", expected, ids(receive(reader, events)));
    assertEquals(1.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"), "only the stalled client");

    // now read what the stalled socket was sent: it ends (EOF or reset), short of the whole table
    String sent = readToEnd(stalled);
    List<Long> got = completeMessageIds(sent);
    assertTrue(got.size() < events, "the stalled client was cut off after " + got.size() + " events");
    assertEquals(expected.subList(0, got.size()), got, "what it got is a gap-free prefix it can resume after");
    long resumeAfter = got.isEmpty() ? head : got.get(got.size() - 1);
    try (SseTestClient resumed = subscribe(gateway, "/v1/live", lastEventId(resumeAfter), true)) {
      assertSameEvents("the cut-off client resuming", expected.subList(got.size(), events),
          ids(receive(resumed, events - got.size())));
    }
  }

  @Test
  @DisplayName("cutting a slow client off in the middle of handing out a batch leaves no other subscriber of that "
      + "event loop without the batch")
  void cutOffMidBatchSparesTheOthers(TestDatabase db) throws Exception {
    // one HTTP verticle: every stream on one hub, handed each batch in one loop over its connections
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", CUT_AT_ONCE_BUFFER,
        "FLIGHTDECK_HTTP_INSTANCES", "1"))) {
      long head = head(db);
      List<SseTestClient> readers = new ArrayList<>();
      Map<SseTestClient, List<Long>> received = new HashMap<>();
      try {
        for (int i = 0; i < 4; i++) {
          readers.add(subscribe(gateway, "/v1/live", Map.of(), true));
        }
        try (Socket stalled = stalledSubscriber(gateway)) {
          for (int i = 0; i < 5; i++) {
            readers.add(subscribe(gateway, "/v1/live", Map.of(), true));
          }
          // one request (one batch) at a time, each received by every reader before the next: the batch that cuts
          // the stalled client off is then the last one, and nothing posted later could make up for it. Where the
          // stalled stream comes in the hub's (unordered) set decides whether a reader comes after it: with 9
          // readers, 9 times in 10; before the fix, those readers never got that batch
          int events = 0;
          while (metric(gateway, "flightdeck_sse_slow_clients_dropped_total") == 0) {
            assertTrue(events < 2048, "no client was cut off after " + events + " events of 30 KiB");
            post(gateway, TestGateway.WRITE_KEY, bigPageViews(events, 2));
            events += 2;
            for (SseTestClient reader : readers) {
              received.computeIfAbsent(reader, r -> new ArrayList<>()).addAll(ids(reader.take(2, WAIT)));
            }
          }
          List<Long> expected = positions(db, "position > ?", head);
          assertEquals(events, expected.size());
          for (int i = 0; i < readers.size(); i++) {
            assertSameEvents("reader " + i, expected, received.get(readers.get(i)));
          }
          assertEquals(1.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"), "only the stalled client");
        }
      } finally {
        readers.forEach(SseTestClient::close);
      }
    }
  }

  @Test
  @DisplayName("a client cut off for not reading gives its connection slot back at once")
  void cutOffClientFreesItsSlot(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", CUT_AT_ONCE_BUFFER,
        "FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", STALL_TIMEOUT_MS, "FLIGHTDECK_LIVE_MAX_CONNECTIONS", "2"));
         SseTestClient reader = subscribe(gateway, "/v1/live", Map.of(), true);
         Socket stalled = stalledSubscriber(gateway)) {
      postUntilSlowClientDropped(gateway, 2);
      try (SseTestClient next = awaitAccepted(gateway, true)) {
        assertEquals("connected", next.nextComment(WAIT));
      }
    }
  }

  @Test
  @DisplayName("a client cut off for not reading has its connection closed at once, with what was queued for it, "
      + "though it never reads again")
  void cutOffClientsConnectionIsClosedWithoutWaitingForIt(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", CUT_AT_ONCE_BUFFER,
        "FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", STALL_TIMEOUT_MS));
         Socket stalled = stalledSubscriber(gateway)) {
      assertEquals(List.of("ESTABLISHED"), serverSideStates(gateway, stalled));
      postUntilSlowClientDropped(gateway, 2);
      // the client reads nothing more: a close that waits for the queued data to be sent first never happens
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
          assertFalse(serverSideStates(gateway, stalled).contains("ESTABLISHED"),
              "the gateway's end of the cut-off stream: " + serverSideStates(gateway, stalled)));
    }
  }

  /** The TCP states (/proc/net/tcp and tcp6) of the gateway's end of {@code client}'s connection. */
  static List<String> serverSideStates(TestGateway gateway, Socket client) throws IOException {
    String local = String.format(":%04X ", gateway.port());
    String remote = String.format(":%04X ", client.getLocalPort());
    List<String> states = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(table))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 3 && (f[1] + " ").endsWith(local) && (f[2] + " ").endsWith(remote)) {
          states.add(switch (f[3]) {
            case "01" -> "ESTABLISHED";
            case "04" -> "FIN_WAIT1";
            case "05" -> "FIN_WAIT2";
            case "06" -> "TIME_WAIT";
            case "07" -> "CLOSE";
            case "08" -> "CLOSE_WAIT";
            case "0B" -> "CLOSING";
            default -> f[3];
          });
        }
      }
    }
    return states;
  }

  @Test
  @DisplayName("a burst of batches many times live.maxBufferBytes, more than the socket buffers hold, reaches "
      + "subscribers that read steadily at a link's pace: a piece at a time, nobody cut off, then live again")
  void bigLiveBatchesGoOutAtTheClientsPace(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", "65536"));
         SteadyReader all = new SteadyReader(gateway, "/v1/live");
         SteadyReader filtered = new SteadyReader(gateway, "/v1/live?types=PageViewed")) {
      long head = head(db);
      // 20 requests of 16 events of 30 KiB: each about 480 KiB, one transaction and so one live batch, 9.6 MB in
      // all, posted faster than the readers take it (about 2 MB/s each) and more than loopback's socket buffers
      // hold (a remote client's socket takes a few KB at once: there a single such batch is more than it holds)
      for (int i = 0; i < 20; i++) {
        post(gateway, TestGateway.WRITE_KEY, bigPageViews(i * 16, 16));
      }
      List<Long> expected = positions(db, "position > ?", head);
      assertEquals(320, expected.size());
      assertSameEvents("the unfiltered reader", expected, all.awaitIds(expected.size()));
      assertSameEvents("the filtered reader", expected, filtered.awaitIds(expected.size()));
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));

      // and both are live again: a small event after them arrives too
      post(gateway, TestGateway.WRITE_KEY, new JsonArray().add(HttpTestClient.pageView("after-big", "/small")));
      List<Long> later = positions(db, "position > ?", head);
      assertSameEvents("the unfiltered reader, live again", later, all.awaitIds(later.size()));
      assertSameEvents("the filtered reader, live again", later, filtered.awaitIds(later.size()));
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));
    }
  }

  @Test
  @DisplayName("a subscriber resuming from 30,000 events back that reads steadily at a few MB/s is not cut off "
      + "as a slow client")
  void resumingClientReadingAtNetworkPaceIsNotCutOff(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of());
         Socket client = new Socket()) {
      long head = head(db);
      for (int i = 0; i < 60; i++) {
        post(gateway, TestGateway.WRITE_KEY, mixedBatch("backlog", i * 500, 500));
      }
      long last = head(db);
      // as fast as a link of about 30 Mbit/s delivers: 16 KiB every 4 ms
      readSteadily(client, gateway, head, last, 16 * 1024, 4);
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));
    }
  }

  @Test
  @DisplayName("a resuming client that takes big events slowly but steadily is not cut off: only one that takes "
      + "nothing for live.stallTimeoutMs is")
  void slowButSteadyCatchUpOfBigEventsIsNotCutOff(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", "2000"));
         Socket client = new Socket()) {
      long head = head(db);
      // 500 events of 30 KB, one catch-up page: 15 MB the client takes over about 5 s, in 2 s nowhere near all of
      // it (and loopback's socket buffers hold a few MB of it)
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'steady-' || gen_random_uuid(), 1, 'PageViewed', 1,
                 jsonb_build_object('pageId', '/big', 'note', repeat('x', 30000)), '{"site": "demo"}', now()
          FROM generate_series(1, 500) g""");
      long last = head(db);
      // at most 32 KiB every 10 ms: steady progress
      long bytes = readSteadily(client, gateway, head, last, 32 * 1024, 10);
      assertTrue(bytes > 15_000_000, bytes + " bytes");
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));
    }
  }

  @Test
  @DisplayName("a resuming client that takes its catch-up steadily at about 200 KiB/s shows its progress at once, "
      + "not a socket buffer of megabytes later: it is not cut off, even with a 1 s live.stallTimeoutMs, and goes live")
  void steadyCatchUpShowsProgressThroughTheKernelsBuffer(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", "1000"));
         Socket client = new Socket()) {
      long head = head(db);
      // 9 MB, more than the kernel's buffers take: the catch-up is paced by what the client takes
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'paced-' || gen_random_uuid(), 1, 'PageViewed', 1,
                 jsonb_build_object('pageId', '/big', 'note', repeat('x', 30000)), '{"site": "demo"}', now()
          FROM generate_series(1, 300) g""");
      long last = head(db);
      client.setReceiveBufferSize(4096);
      client.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
      client.getOutputStream().write(("GET /v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          + TestGateway.READ_TOKEN + "\r\nLast-Event-ID: " + head + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      client.setSoTimeout((int) WAIT.toMillis());
      InputStream in = client.getInputStream();
      // 10 KiB every 50 ms for 6 s: the kernel's send buffer, left to itself, grows to megabytes and takes more only
      // once a third of it is free, seconds apart at this pace, so no write would complete for longer than 1 s
      byte[] slow = new byte[10 * 1024];
      long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
      while (System.nanoTime() < until) {
        assertTrue(in.readNBytes(slow, 0, slow.length) == slow.length, "the stream ended while read steadily");
        TimeUnit.MILLISECONDS.sleep(50);
      }
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));

      // the rest at full speed, then an event committed now: the stream went live
      assertTrue(readUntilContains(in, "\nid: " + last + "\n"), "the end of the catch-up");
      JsonArray live = post(gateway, TestGateway.WRITE_KEY,
          new JsonArray().add(HttpTestClient.pageView("paced-live", "/after")));
      assertTrue(readUntilContains(in, "\nid: " + live.getJsonObject(0).getLong("position") + "\n"), "the live event");
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));
    }
  }

  /** Reads until {@code marker} has come (true) or the stream ends (false). */
  static boolean readUntilContains(InputStream in, String marker) throws IOException {
    StringBuilder tail = new StringBuilder();
    byte[] buffer = new byte[64 * 1024];
    while (tail.indexOf(marker) < 0) {
      int n = in.read(buffer);
      if (n < 0) {
        return false;
      }
      tail.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      tail.delete(0, Math.max(0, tail.length() - 2 * marker.length() - buffer.length));
    }
    return true;
  }

  @Test
  @DisplayName("a filtered resume that reads a long backlog without a match still gets heartbeats, so an idle "
      + "timeout does not close it, and goes on live")
  void filteredCatchUpGetsHeartbeats(TestDatabase db) throws Exception {
    // pages of 1 event: reading the 20,000 events behind the resume point takes several idle timeouts
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_CATCH_UP_PAGE_SIZE", "1",
        "FLIGHTDECK_LIVE_HEARTBEAT_SECONDS", "1", "FLIGHTDECK_HTTP_IDLE_TIMEOUT_SECONDS", "2"))) {
      long head = head(db);
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'unwanted-' || gen_random_uuid(), 1, 'PageViewed', 1, '{"pageId": "/other"}',
                 '{"site": "demo"}', now()
          FROM generate_series(1, 20000) g""");
      try (SseTestClient sse = subscribe(gateway, "/v1/live?streams=wanted&lastEventId=" + head, Map.of(), true)) {
        assertEquals("heartbeat", sse.nextComment(Duration.ofSeconds(5)), "a heartbeat while the backlog is read");
        post(gateway, TestGateway.WRITE_KEY, new JsonArray().add(HttpTestClient.pageView("wanted", "/here")));
        Message live = sse.next(WAIT);
        assertNotNull(live, "the matching event after the backlog; stream ended: " + sse.ended());
        assertEquals("PageViewed", live.event());
        assertFalse(sse.ended());
      }
    }
  }

  @Test
  @DisplayName("a filtered subscriber's heartbeat carries the position the stream has gone past, without an event, "
      + "so its reconnect resumes from there instead of reading again everything since its last match")
  void heartbeatCarriesTheFilteredStreamsPosition(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_HEARTBEAT_SECONDS", "1"));
         SseTestClient sse = subscribe(gateway, "/v1/live?types=FormSubmitted", Map.of(), true)) {
      String greeting = sse.lastEventId();
      JsonArray posted = post(gateway, TestGateway.WRITE_KEY, new JsonArray()
          .add(HttpTestClient.pageView("hb-id", "/a")).add(HttpTestClient.click("hb-id", "b")));
      String last = String.valueOf(posted.getJsonObject(1).getLong("position"));
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
          assertEquals(last, sse.lastEventId(), "the greeting's id was " + greeting));
      assertTrue(sse.drain().isEmpty(), "the id came without a message");
      assertEquals("heartbeat", sse.nextComment(WAIT));
    }
  }

  @Test
  @DisplayName("a resuming client that stopped reading, data still queued for it, has its connection closed at "
      + "once when a catch-up read fails, not held until the idle timeout")
  void failedCatchUpClosesAStalledClientAtOnce(TestDatabase db) throws Exception {
    // a read that waits 500 ms for a lock fails; pages of 1 event, so the catch-up reads the store for seconds
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_CATCH_UP_PAGE_SIZE", "1",
        "FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", String.valueOf(64 * 1024 * 1024),
        "FLIGHTDECK_LIVE_STALL_TIMEOUT_MS", "60000", "FLIGHTDECK_HTTP_IDLE_TIMEOUT_SECONDS", "120",
        "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", "500"))) {
      long head = head(db);
      // 9 MB the client matches, more than the sockets' buffers take, then a long backlog it does not match
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'catch-up-fails', g, 'PageViewed', 1,
                 jsonb_build_object('pageId', '/w', 'blob', repeat('x', 30720)), '{"site": "demo"}', now()
          FROM generate_series(1, 300) g""");
      db.execute("""
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT gen_random_uuid(), 'unwanted-' || gen_random_uuid(), 1, 'PageViewed', 1, '{"pageId": "/other"}',
                 '{"site": "demo"}', now()
          FROM generate_series(1, 40000) g""");
      awaitPublished(gateway);
      double delivered = metric(gateway, "flightdeck_sse_messages_delivered_total");
      try (Socket stalled = stalledSubscriber(gateway,
          "/v1/live?streams=catch-up-fails&lastEventId=" + head)) {
        // the matching events are written (the kernel holds what it can, the rest waits in the gateway), and the
        // catch-up goes on reading the backlog: until the lock, which makes one of its reads fail
        await("the 300 matching events handed to the stalled stream").atMost(WAIT)
            .until(() -> metric(gateway, "flightdeck_sse_messages_delivered_total") >= delivered + 300);
        assertEquals(List.of("ESTABLISHED"), serverSideStates(gateway, stalled));
        ch.qos.logback.classic.Logger logger =
            (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(SseCatchUp.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try (java.sql.Connection lock = db.connect()) {
          lock.setAutoCommit(false);
          lock.createStatement().execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
          // held until then: the catch-up read waiting for it fails after the 500 ms statement timeout
          await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
              assertFalse(serverSideStates(gateway, stalled).contains("ESTABLISHED"),
                  "the gateway's end of the stream: " + serverSideStates(gateway, stalled)));
          lock.rollback();
        } finally {
          logger.detachAppender(logged);
        }
        // an operator learns why streams were closed, not only that they were (their access lines' reason)
        List<String> warnings = logged.list.stream().filter(e -> e.getLevel() == Level.WARN)
            .map(ILoggingEvent::getFormattedMessage).toList();
        assertTrue(warnings.stream()
                .anyMatch(w -> w.contains("resuming stream failed") && w.contains("statement timeout")),
            "a warning with the read's failure: " + warnings);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
            assertEquals(0.0, metric(gateway, "flightdeck_sse_connections"), "its slot is free"));
      }
    }
  }

  @Test
  @DisplayName("a quiet subscriber receives a heartbeat comment every heartbeat interval")
  void quietStreamGetsHeartbeats(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_HEARTBEAT_SECONDS", "1"));
         SseTestClient http1 = subscribe(gateway, "/v1/live?types=ButtonClicked", Map.of(), true);
         SseTestClient http2 = subscribe(gateway, "/v1/live", Map.of(), false)) {
      for (SseTestClient sse : List.of(http1, http2)) {
        assertEquals("heartbeat", sse.nextComment(Duration.ofSeconds(5)));
        assertEquals("heartbeat", sse.nextComment(Duration.ofSeconds(5)), "and again");
        assertTrue(sse.drain().isEmpty(), "comments only: no event was written");
        assertFalse(sse.ended());
      }
    }
  }

  @Test
  @DisplayName("beyond live.maxConnections a subscriber gets 503 unavailable with Retry-After, and once one "
      + "closes a new one is accepted")
  void connectionLimitRefusesThenAcceptsAgain(TestDatabase db) throws Exception {
    try (TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_CONNECTIONS", "2"))) {
      SseTestClient first = subscribe(gateway, "/v1/live", Map.of(), true);
      SseTestClient second = subscribe(gateway, "/v1/live", Map.of(), false);
      SseTestClient third = null;
      SseTestClient fourth = null;
      try {
        Response refused = gateway.http().getWithReadToken("/v1/live");
        assertEquals(503, refused.status(), refused.body());
        assertEquals("unavailable", refused.errorCode());
        assertNotNull(refused.header("Retry-After"));
        assertTrue(Integer.parseInt(refused.header("Retry-After")) > 0, refused.header("Retry-After"));

        // an HTTP/1.1 stream closed by the client: the server learns it when the connection closes
        first.close();
        third = awaitAccepted(gateway, true);
        assertEquals(503, gateway.http().getWithReadToken("/v1/live").status(), "two are open again");

        // an HTTP/2 stream closed by the client (a stream reset, the connection stays)
        second.close();
        fourth = awaitAccepted(gateway, false);
        JsonArray posted = post(gateway, TestGateway.WRITE_KEY,
            new JsonArray().add(HttpTestClient.click("limit-1", "after-limit")));
        String position = String.valueOf(posted.getJsonObject(0).getLong("position"));
        assertEquals(position, third.take(1, WAIT).get(0).id());
        assertEquals(position, fourth.take(1, WAIT).get(0).id());
      } finally {
        first.close();
        second.close();
        if (third != null) {
          third.close();
        }
        if (fourth != null) {
          fourth.close();
        }
      }
    }
  }

  @Test
  @DisplayName("a graceful stop with open live streams ends them and completes well within 10 seconds")
  void gracefulStopEndsOpenStreams(TestDatabase db) throws Exception {
    TestGateway gateway = start(db, Map.of());
    List<SseTestClient> subscribers = new ArrayList<>();
    try {
      long head = head(db);
      add(subscribers, subscribe(gateway, "/v1/live", Map.of(), true));
      add(subscribers, subscribe(gateway, "/v1/live?types=PageViewed", Map.of(), false));
      add(subscribers, subscribe(gateway, "/v1/live", lastEventId(head), true));
      JsonArray posted = post(gateway, TestGateway.WRITE_KEY, mixedBatch("stop", 0, 10));
      for (SseTestClient sse : List.of(subscribers.get(0), subscribers.get(2))) {
        assertEquals(posted.size(), sse.take(posted.size(), WAIT).size());
      }

      long started = System.nanoTime();
      gateway.stop(Duration.ofSeconds(10));
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "stop took " + took);
      await().atMost(Duration.ofSeconds(5)).until(() -> subscribers.stream().allMatch(SseTestClient::ended));
    } finally {
      subscribers.forEach(SseTestClient::close);
      // stop() ran already (or failed): only the Vert.x instance is left to close
      gateway.vertx().close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a graceful stop with a subscriber that stopped reading, data still queued for it, does not wait "
      + "for it: the stop completes well within 10 seconds and its stream is closed")
  void gracefulStopDoesNotWaitForAStalledSubscriber(TestDatabase db) throws Exception {
    // a buffer big enough that the stalled client is not cut off first: about 11 MB is queued when the stop comes
    TestGateway gateway = start(db, Map.of("FLIGHTDECK_LIVE_MAX_BUFFER_BYTES", "67108864"));
    try (Socket stalled = stalledSubscriber(gateway)) {
      for (int i = 0; i < 24; i++) {
        post(gateway, TestGateway.WRITE_KEY, bigPageViews(i * 16, 16));
      }
      assertEquals(0.0, metric(gateway, "flightdeck_sse_slow_clients_dropped_total"));

      long started = System.nanoTime();
      gateway.stop(Duration.ofSeconds(10));
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "stop took " + took);
      assertFalse(serverSideStates(gateway, stalled).contains("ESTABLISHED"), "the stalled stream is closed");
    } finally {
      gateway.vertx().close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a live-feed request that reaches the gateway while it stops is answered 503 unavailable with "
      + "Retry-After, not given a stream that nothing ends: the stop does not wait for it")
  void liveRequestDuringStopIsRefused(TestDatabase db) throws Exception {
    TestGateway gateway = start(db, Map.of());
    TestDatabase server = new TestDatabase(db.urlFor("postgres"));
    try (java.sql.Connection locker = db.connect(); Socket raw = new Socket()) {
      // a read held by a lock, and a live-feed request pipelined behind it on the same connection: the server
      // takes the second request up only once the first is answered, which the test lets happen during the stop
      locker.setAutoCommit(false);
      locker.createStatement().execute("LOCK TABLE visitor_activity IN ACCESS EXCLUSIVE MODE");
      raw.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
      String auth = "Authorization: Bearer " + TestGateway.READ_TOKEN + "\r\n";
      raw.getOutputStream().write(("GET /v1/visitors/held HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
          + "GET /v1/live HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n").getBytes(StandardCharsets.US_ASCII));
      await().atMost(WAIT).until(() -> server.queryLong("SELECT count(*) FROM pg_stat_activity"
          + " WHERE datname = ? AND wait_event_type = 'Lock'", db.name()) == 1);

      long started = System.nanoTime();
      java.util.concurrent.CompletableFuture<Void> stop = java.util.concurrent.CompletableFuture.runAsync(() -> {
        try {
          gateway.stop(Duration.ofSeconds(20));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      TimeUnit.MILLISECONDS.sleep(500);
      locker.rollback();
      stop.get(30, TimeUnit.SECONDS);
      Duration took = Duration.ofNanos(System.nanoTime() - started);

      raw.setSoTimeout((int) WAIT.toMillis());
      String answers = new String(raw.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answers.startsWith("HTTP/1.1 404"), answers);
      String second = answers.substring(answers.indexOf("HTTP/1.1", 1));
      assertTrue(second.startsWith("HTTP/1.1 503"), second);
      assertTrue(second.toLowerCase(java.util.Locale.ROOT).contains("\r\nretry-after: "), second);
      assertTrue(second.contains("\"unavailable\""), second);
      assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "stop took " + took);
    } finally {
      gateway.vertx().close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
  }

  // ---- gateway, writes and the store

  static String site(String id, String writeKey) {
    return "{\"id\":\"" + id + "\",\"writeKey\":\"" + writeKey + "\",\"allowedOrigins\":[\"*\"],"
        + "\"rateLimit\":{\"eventsPerSecond\":100000,\"burst\":200000}}";
  }

  static TestGateway start(TestDatabase db, Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>(overrides);
    env.put("FLIGHTDECK_SITES", SITES);
    // HTTP/2 clients (the JDK's, by an h2c upgrade) alongside HTTP/1.1 ones
    env.put("FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true");
    return TestGateway.start(db, env);
  }

  static JsonArray post(TestGateway gateway, String writeKey, JsonArray events) {
    HttpRequest.Builder request = gateway.http().request("/v1/events")
        .header("Content-Type", "application/json")
        .header("X-Write-Key", writeKey)
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("events", events).encode()));
    Response r = gateway.http().send(request);
    assertEquals(200, r.status(), r.body());
    return r.results();
  }

  /** {@code n} events of all three types over five streams {@code prefix-0..4}; (type, stream) pairs all occur. */
  static JsonArray mixedBatch(String prefix, int seed, int n) {
    JsonArray batch = new JsonArray();
    for (int i = seed; i < seed + n; i++) {
      String stream = prefix + "-" + (i % 5);
      batch.add(switch (i % 3) {
        case 0 -> HttpTestClient.pageView(stream, "/page/" + i);
        case 1 -> HttpTestClient.click(stream, "button-" + i);
        default -> HttpTestClient.formSubmission(stream, "form-" + (i % 2),
            new JsonObject().put("email", "visitor" + i + "@example.com"));
      });
    }
    return batch;
  }

  /**
   * Resumes the live feed after {@code after} on {@code client} (receive window 64 KiB, as across a network, not
   * loopback's many megabytes) and reads at most {@code chunk} bytes every {@code pauseMs} until event {@code last}
   * has arrived, failing if the server ends the stream first. Answers the bytes read.
   */
  /**
   * A raw HTTP/1.1 subscriber with a 4 KiB receive window that reads on a thread of its own, from the server's
   * greeting on, at most 8 KiB every 4 ms: steadily, at about 2 MB/s, the pace of a 16 Mbit/s link.
   */
  static final class SteadyReader implements AutoCloseable {

    private final Socket socket = new Socket();
    private final StringBuffer received = new StringBuffer();
    private final Thread thread;
    private volatile boolean ended;

    SteadyReader(TestGateway gateway, String path) throws IOException {
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + gateway.port()
          + "\r\nAuthorization: Bearer " + TestGateway.READ_TOKEN + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      socket.setSoTimeout((int) WAIT.toMillis());
      String greeting = readUntil(socket.getInputStream(), ": connected\n\n");
      assertTrue(greeting.startsWith("HTTP/1.1 200"), greeting);
      thread = new Thread(this::read, "steady-reader");
      thread.setDaemon(true);
      thread.start();
    }

    private void read() {
      byte[] buffer = new byte[8192];
      try {
        InputStream in = socket.getInputStream();
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          received.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
          TimeUnit.MILLISECONDS.sleep(4);
        }
      } catch (IOException e) {
        // closed by the test, or reset by the server: either way the stream is over
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      ended = true;
    }

    /** The ids of the complete messages received, once there are {@code n} or the stream has ended. */
    List<Long> awaitIds(int n) {
      await().atMost(WAIT).until(() -> ended || completeMessageIds(received.toString()).size() >= n);
      List<Long> ids = completeMessageIds(received.toString());
      assertFalse(ended && ids.size() < n, "the stream ended after " + ids.size() + " of " + n + " messages");
      return ids;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  static long readSteadily(Socket client, TestGateway gateway, long after, long last, int chunk, long pauseMs)
      throws IOException, InterruptedException {
    client.setReceiveBufferSize(64 * 1024);
    client.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
    client.getOutputStream().write(("GET /v1/live HTTP/1.1\r\nHost: 127.0.0.1:" + gateway.port()
        + "\r\nAuthorization: Bearer " + TestGateway.READ_TOKEN + "\r\nLast-Event-ID: " + after
        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    client.setSoTimeout((int) WAIT.toMillis());
    InputStream in = client.getInputStream();
    byte[] buffer = new byte[chunk];
    StringBuilder tail = new StringBuilder();
    long bytes = 0;
    while (!tail.toString().contains("\nid: " + last + "\n")) {
      int n = in.read(buffer);
      if (n < 0) {
        List<Long> ids = completeMessageIds(tail.toString());
        fail("the server ended the stream after " + bytes + " bytes, at event "
            + (ids.isEmpty() ? "?" : ids.get(ids.size() - 1)) + " of " + last);
      }
      bytes += n;
      tail.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      tail.delete(0, Math.max(0, tail.length() - 64 * 1024));
      TimeUnit.MILLISECONDS.sleep(pauseMs);
    }
    return bytes;
  }

  static long head(TestDatabase db) {
    return db.queryLong("SELECT COALESCE(max(position), 0) FROM events");
  }

  /** Positions of the events table matching {@code where}, in position order. */
  static List<Long> positions(TestDatabase db, String where, Object... params) {
    List<Long> out = new ArrayList<>();
    for (List<Object> row : db.query("SELECT position FROM events WHERE " + where + " ORDER BY position", params)) {
      out.add(((Number) row.get(0)).longValue());
    }
    return out;
  }

  /**
   * Threads posting batches of ten mixed events at once, alternating the two sites, until each has posted
   * {@code batchesEach} or {@link #stop()} is called. A failed post fails the test.
   */
  static final class Writers implements AutoCloseable {

    private final ExecutorService threads;
    private final List<Future<?>> running = new ArrayList<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicInteger batches = new AtomicInteger();

    Writers(TestGateway gateway, String prefix, int threadCount, int batchesEach) {
      threads = Executors.newFixedThreadPool(threadCount);
      for (int t = 0; t < threadCount; t++) {
        int thread = t;
        running.add(threads.submit(() -> {
          for (int b = 0; b < batchesEach && !stopping.get(); b++) {
            String key = (thread + b) % 2 == 0 ? TestGateway.WRITE_KEY : SHOP_KEY;
            post(gateway, key, mixedBatch(prefix, thread * 100_000 + b * 10 + thread, 10));
            batches.incrementAndGet();
          }
          return null;
        }));
      }
    }

    int batches() {
      return batches.get();
    }

    void awaitDone() throws Exception {
      for (Future<?> f : running) {
        f.get(WAIT.toSeconds() * 3, TimeUnit.SECONDS);
      }
    }

    void stop() throws Exception {
      stopping.set(true);
      awaitDone();
    }

    @Override
    public void close() {
      stopping.set(true);
      threads.shutdown();
    }
  }

  /** The sum of a series' values on GET /metrics (all label sets). */
  static double metric(TestGateway gateway, String name) {
    Response r = gateway.http().send(gateway.http().request("/metrics").GET());
    assertEquals(200, r.status(), r.body());
    return r.body().lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  // ---- the LISTEN connection, seen from pg_stat_activity on the maintenance database

  /** Pids of the gateway's listener on {@code db} that is connected and has issued its LISTEN. */
  static List<Integer> listenerPids(TestDatabase server, TestDatabase db) {
    List<Integer> out = new ArrayList<>();
    for (List<Object> row : server.query("SELECT pid FROM pg_stat_activity WHERE datname = ?"
        + " AND application_name = 'flightdeck-listen' AND query LIKE 'LISTEN%'", db.name())) {
      out.add(((Number) row.get(0)).intValue());
    }
    return out;
  }

  static int listenerPid(TestDatabase server, TestDatabase db) {
    List<Integer> pids = listenerPids(server, db);
    assertEquals(1, pids.size(), "one listener: " + pids);
    return pids.get(0);
  }

  /** Waits for one listening connection that is not {@code killed}. */
  static void awaitListener(TestDatabase server, TestDatabase db, int killed) {
    await().atMost(WAIT).untilAsserted(() -> {
      List<Integer> pids = listenerPids(server, db);
      assertEquals(1, pids.size(), "listener back: " + pids);
      assertTrue(pids.get(0) != killed, "a new backend, not the killed one");
    });
  }

  static void allowConnections(TestDatabase server, TestDatabase db, boolean allow) {
    // database names are identifiers, not parameters; the test database's name is generated and safe
    server.execute("ALTER DATABASE " + db.name() + " WITH ALLOW_CONNECTIONS " + allow);
  }

  // ---- subscribers

  /** Opens a stream and waits for the server's greeting: from then on the subscriber is registered. */
  static SseTestClient subscribe(TestGateway gateway, String path, Map<String, String> headers, boolean http1)
      throws InterruptedException {
    SseTestClient sse = http1 ? SseTestClient.openHttp1(gateway, path, headers)
        : SseTestClient.open(gateway, path, headers);
    assertEquals(200, sse.status(), path);
    assertEquals(http1 ? HttpClient.Version.HTTP_1_1 : HttpClient.Version.HTTP_2, sse.version());
    // a stream whose greeting does not come says whether it was still open or was ended (reset) meanwhile
    String greeting = sse.nextComment(WAIT);
    assertEquals("connected", greeting, () -> path + ": no greeting within " + WAIT + ", stream " + sse.state());
    return sse;
  }

  static SseTestClient add(List<SseTestClient> all, SseTestClient sse) {
    all.add(sse);
    return sse;
  }

  static Map<String, String> lastEventId(long position) {
    return Map.of("Last-Event-ID", String.valueOf(position));
  }

  /** Retries until the gateway accepts another stream (it learns of a closed one asynchronously). */
  static SseTestClient awaitAccepted(TestGateway gateway, boolean http1) {
    SseTestClient[] accepted = new SseTestClient[1];
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      SseTestClient attempt = http1 ? SseTestClient.openHttp1(gateway, "/v1/live", Map.of())
          : SseTestClient.open(gateway, "/v1/live", Map.of());
      if (attempt.status() == 200) {
        accepted[0] = attempt;
        return true;
      }
      assertEquals(503, attempt.status());
      attempt.close();
      return false;
    });
    return accepted[0];
  }

  /**
   * Up to {@code n} messages within {@code WAIT}, then whatever else arrives shortly after: a missing, extra or
   * repeated event shows up in the comparison instead of as a timeout.
   */
  static List<Message> receive(SseTestClient sse, int n) throws InterruptedException {
    List<Message> out = upTo(sse, n);
    Message extra = sse.next(Duration.ofMillis(300));
    if (extra != null) {
      out.add(extra);
      out.addAll(sse.drain());
    }
    return out;
  }

  /**
   * {@link #receive} on several subscribers, as many messages as each is expected to get: the 300 ms for whatever
   * else arrives runs once for them all, after the last of them had its messages, not once per subscriber.
   */
  static Map<SseTestClient, List<Message>> receiveEach(Map<SseTestClient, List<Long>> expected)
      throws InterruptedException {
    Map<SseTestClient, List<Message>> out = new LinkedHashMap<>();
    for (Map.Entry<SseTestClient, List<Long>> e : expected.entrySet()) {
      out.put(e.getKey(), upTo(e.getKey(), e.getValue().size()));
    }
    TimeUnit.MILLISECONDS.sleep(300);
    out.forEach((sse, got) -> got.addAll(sse.drain()));
    return out;
  }

  /** Up to {@code n} messages within {@code WAIT}. */
  private static List<Message> upTo(SseTestClient sse, int n) throws InterruptedException {
    List<Message> out = new ArrayList<>(n);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (out.size() < n) {
      long left = deadline - System.nanoTime();
      Message m = left <= 0 ? null : sse.next(Duration.ofNanos(left));
      if (m == null) {
        break;
      }
      out.add(m);
    }
    return out;
  }

  /** The messages' ids, checking that each message is consistent: id = envelope position, event = its type. */
  static List<Long> ids(List<Message> messages) {
    List<Long> out = new ArrayList<>(messages.size());
    for (Message m : messages) {
      JsonObject envelope = new JsonObject(m.data());
      long id = Long.parseLong(m.id());
      assertEquals(id, envelope.getLong("position"), m.data());
      assertEquals(envelope.getString("type"), m.event(), m.data());
      out.add(id);
    }
    return out;
  }

  /** Equal lists; otherwise a failure that says what went wrong: missing, unexpected, repeated, out of order. */
  static void assertSameEvents(String who, List<Long> expected, List<Long> got) {
    if (expected.equals(got)) {
      return;
    }
    Set<Long> seen = new HashSet<>();
    List<Long> repeated = got.stream().filter(p -> !seen.add(p)).toList();
    Set<Long> want = new HashSet<>(expected);
    List<Long> missing = expected.stream().filter(p -> !seen.contains(p)).toList();
    List<Long> unexpected = got.stream().filter(p -> !want.contains(p)).distinct().toList();
    int firstDifference = 0;
    while (firstDifference < Math.min(expected.size(), got.size())
        && expected.get(firstDifference).equals(got.get(firstDifference))) {
      firstDifference++;
    }
    fail(who + ": expected " + expected.size() + " events, got " + got.size()
        + "; missing " + missing.size() + " " + first10(missing) + ", unexpected " + unexpected.size() + " "
        + first10(unexpected) + ", repeated " + repeated.size() + " " + first10(repeated)
        + "; first difference at index " + firstDifference + ": expected "
        + first10(expected.subList(firstDifference, expected.size())) + " got "
        + first10(got.subList(firstDifference, got.size())));
  }

  private static List<Long> first10(List<Long> list) {
    return list.subList(0, Math.min(10, list.size()));
  }

  static void assertAllDelivered(TestDatabase db, long after, List<SseTestClient> subscribers,
                                 Map<SseTestClient, String> where) throws InterruptedException {
    Map<SseTestClient, List<Long>> expected = new LinkedHashMap<>();
    for (SseTestClient sse : subscribers) {
      expected.put(sse, positions(db, "position > ? AND " + where.get(sse), after));
    }
    Map<SseTestClient, List<Message>> received = receiveEach(expected);
    for (SseTestClient sse : subscribers) {
      assertSameEvents("subscriber where " + where.get(sse), expected.get(sse), ids(received.get(sse)));
    }
  }

  // ---- the raw socket

  /**
   * A raw HTTP/1.1 subscriber with a tiny receive window (so little of what the server sends fits on the client's
   * side) that reads the response up to the server's greeting, so the stream is registered, and then stops reading.
   */
  static Socket stalledSubscriber(TestGateway gateway) throws IOException {
    return stalledSubscriber(gateway, "/v1/live");
  }

  static Socket stalledSubscriber(TestGateway gateway, String path) throws IOException {
    Socket stalled = new Socket();
    stalled.setReceiveBufferSize(4096);
    stalled.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
    stalled.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + gateway.port()
        + "\r\nAuthorization: Bearer " + TestGateway.READ_TOKEN + "\r\nAccept: text/event-stream\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    stalled.getOutputStream().flush();
    stalled.setSoTimeout((int) WAIT.toMillis());
    String greeting = readUntil(stalled.getInputStream(), ": connected\n\n");
    assertTrue(greeting.startsWith("HTTP/1.1 200"), greeting);
    return stalled;
  }

  /**
   * Posts big events until the gateway reports a slow client dropped (the kernel's socket buffers take megabytes
   * first): events of 30 KiB (the data limit is 32 KiB), {@code perRequest} per request, 16 between two looks at the
   * metric, at most 64 MiB. Answers how many.
   */
  static int postUntilSlowClientDropped(TestGateway gateway, int perRequest) {
    int events = 0;
    while (metric(gateway, "flightdeck_sse_slow_clients_dropped_total") == 0) {
      assertTrue(events < 2048, "no client was cut off after " + events + " events of 30 KiB");
      for (int k = 0; k < 16 / perRequest; k++, events += perRequest) {
        post(gateway, TestGateway.WRITE_KEY, bigPageViews(events, perRequest));
      }
    }
    return events;
  }

  /** {@code n} PageViewed events with 30 KiB of data each: v1 allows properties beyond pageId. */
  static JsonArray bigPageViews(int seed, int n) {
    String blob = "x".repeat(30 * 1024);
    JsonArray views = new JsonArray();
    for (int i = seed; i < seed + n; i++) {
      JsonObject view = HttpTestClient.pageView("big-" + (i % 3), "/big/" + i);
      views.add(view.put("data", view.getJsonObject("data").put("blob", blob)));
    }
    return views;
  }

  /**
   * Waits until the live feed has published every event committed so far: a catch-up reads no further (events put in
   * the store directly wake no one, the feed reads them at its next poll). An event appended after them reached a
   * subscriber.
   */
  static void awaitPublished(TestGateway gateway) throws InterruptedException {
    try (SseTestClient mark = subscribe(gateway, "/v1/live?streams=published-mark", Map.of(), true)) {
      post(gateway, TestGateway.WRITE_KEY, new JsonArray().add(HttpTestClient.pageView("published-mark", "/mark")));
      assertNotNull(mark.next(WAIT), "the feed publishes the event appended after the others");
    }
  }

  /** Reads byte by byte (nothing beyond) until {@code marker} has been read; answers all of it. */
  static String readUntil(InputStream in, String marker) throws IOException {
    ByteArrayOutputStream read = new ByteArrayOutputStream();
    while (!read.toString(StandardCharsets.UTF_8).endsWith(marker)) {
      int b = in.read();
      if (b < 0) {
        fail("the stream ended before " + marker + ": " + read.toString(StandardCharsets.UTF_8));
      }
      read.write(b);
    }
    return read.toString(StandardCharsets.UTF_8);
  }

  /**
   * Everything until the server closes the socket (EOF or reset); fails if it is still open after {@code WAIT}
   * (heartbeats keep an open stream from ever being silent for long, hence the overall deadline).
   */
  static String readToEnd(Socket socket) throws IOException {
    ByteArrayOutputStream read = new ByteArrayOutputStream();
    byte[] buffer = new byte[64 * 1024];
    InputStream in = socket.getInputStream();
    long deadline = System.nanoTime() + WAIT.toNanos();
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        read.write(buffer, 0, n);
        if (System.nanoTime() > deadline) {
          fail("the server did not close the stalled stream; " + read.size() + " bytes read");
        }
      }
    } catch (SocketTimeoutException e) {
      fail("the server did not close the stalled stream; " + read.size() + " bytes read");
    } catch (IOException reset) {
      // a reset is as good as an end here: the server dropped the connection
    }
    return read.toString(StandardCharsets.UTF_8);
  }

  /** Ids of the complete messages (ended by a blank line) in a raw chunked SSE response. */
  static List<Long> completeMessageIds(String raw) {
    List<Long> out = new ArrayList<>();
    int at = raw.indexOf("\nid: ");
    while (at >= 0) {
      int lineEnd = raw.indexOf('\n', at + 1);
      int messageEnd = raw.indexOf("\n\n", at + 1);
      if (lineEnd < 0 || messageEnd < 0) {
        break;
      }
      out.add(Long.parseLong(raw.substring(at + 5, lineEnd).trim()));
      at = raw.indexOf("\nid: ", messageEnd);
    }
    return out;
  }
}
