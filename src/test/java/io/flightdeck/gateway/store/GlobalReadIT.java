package io.flightdeck.gateway.store;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The global feed's promise: a reader that follows {@code next} sees every event exactly once, even when writers
 * commit late and out of the order in which they started, and even when they bypass the gateway.
 */
@ExtendWith(PostgresExtension.class)
class GlobalReadIT {

  private static final int RAW_WRITERS = 4;
  private static final int COMMITS_PER_WRITER = 15;
  private static final int GATEWAY_REQUESTS = 40;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.defaults();
  ExecutorService threads;

  @BeforeEach
  void threads() {
    threads = Executors.newCachedThreadPool();
  }

  @AfterEach
  void stopThreads() throws InterruptedException {
    threads.shutdownNow();
    assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS), "test threads ended");
  }

  @Test
  @DisplayName("a reader following next sees every event exactly once while writers commit late and out of order")
  void followingNextMissesNothingUnderLateCommits() throws Exception {
    long headBefore = head();
    AtomicBoolean writersDone = new AtomicBoolean();
    Future<List<Long>> reader = threads.submit(() -> follow(headBefore, writersDone));

    List<Future<?>> writers = new ArrayList<>();
    for (int w = 0; w < RAW_WRITERS; w++) {
      String stream = "raw-writer-" + w;
      writers.add(threads.submit(() -> writeWithLateCommits(stream)));
    }
    writers.add(threads.submit(this::postThroughGateway));
    for (Future<?> w : writers) {
      w.get(60, TimeUnit.SECONDS);
    }
    writersDone.set(true);

    List<Long> seen = reader.get(30, TimeUnit.SECONDS);
    List<Long> stored = StoreProbe.positions(gateway.db(), "WHERE position > ?", headBefore);
    assertEquals(RAW_WRITERS * COMMITS_PER_WRITER + GATEWAY_REQUESTS * 2, stored.size(), "every write was stored");
    assertEquals(stored, seen, () -> "the reader saw each stored position once, in order; missed "
        + missing(stored, seen) + ", extra " + missing(seen, stored));
  }

  @Test
  @DisplayName("an insert committing while an earlier one is still open waits for it, then follows it in the feed")
  void laterWriterWaitsForEarlierOpenTransaction() throws Exception {
    long headBefore = head();
    // a closes first: its rollback lets a stuck b finish, should an assertion fail
    try (Connection b = gateway.db().connect(); Connection a = gateway.db().connect()) {
      a.setAutoCommit(false);
      b.setAutoCommit(false);
      UUID first = StoreProbe.insertRaw(a, "open-early", 1);

      int bPid = StoreProbe.backendPid(b);
      Future<UUID> second = threads.submit(() -> {
        UUID id = StoreProbe.insertRaw(b, "commit-early", 1);
        b.commit();
        return id;
      });

      await("the second writer waits on the position lock").atMost(Duration.ofSeconds(10))
          .until(() -> StoreProbe.waitsOnLock(gateway.db(), bPid));
      assertFalse(second.isDone(), "the second writer cannot finish while the first is open");
      assertEquals(List.of(), StoreProbe.positions(gateway.db(), "WHERE position > ?", headBefore),
          "nothing new is visible in the table");
      assertEquals(0, readAll(headBefore).getJsonArray("events").size(), "nothing new is visible to readers");

      a.commit();
      UUID secondId = second.get(10, TimeUnit.SECONDS);

      long firstPosition = gateway.db().queryLong("SELECT position FROM events WHERE id = ?", first);
      long secondPosition = gateway.db().queryLong("SELECT position FROM events WHERE id = ?", secondId);
      assertTrue(firstPosition < secondPosition,
          "first " + firstPosition + " is before second " + secondPosition);
      JsonArray feed = readAll(headBefore).getJsonArray("events");
      assertEquals(List.of(first.toString(), secondId.toString()),
          List.of(feed.getJsonObject(0).getString("id"), feed.getJsonObject(1).getString("id")));
    }
  }

  /** Follows the feed until the writers are done and it has reached the table's head; answers what it saw. */
  private List<Long> follow(long from, AtomicBoolean writersDone) {
    List<Long> seen = new ArrayList<>();
    long next = from;
    long giveUpAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    Long head = null;
    while (System.nanoTime() - giveUpAt < 0) {
      if (head == null && writersDone.get()) {
        head = head();
      }
      if (head != null && next >= head) {
        return seen;
      }
      JsonObject page = readAll(next);
      for (Object o : page.getJsonArray("events")) {
        seen.add(((JsonObject) o).getLong("position"));
      }
      next = page.getLong("next");
    }
    throw new AssertionError("the reader did not reach the head within 60 s; at " + next + ", head " + head);
  }

  private static List<Long> missing(List<Long> expected, List<Long> actual) {
    List<Long> out = new ArrayList<>(expected);
    out.removeAll(actual);
    return out;
  }

  private static long head() {
    return gateway.db().queryLong("SELECT COALESCE(max(position), 0) FROM events");
  }

  private static JsonObject readAll(long after) {
    Response r = gateway.http().getWithReadToken("/v1/events?after=" + after + "&limit=50");
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  /** BEGIN; INSERT; a random pause; COMMIT, over and over: commits land late and out of start order. */
  private Void writeWithLateCommits(String stream) throws Exception {
    try (Connection c = gateway.db().connect()) {
      c.setAutoCommit(false);
      for (int version = 1; version <= COMMITS_PER_WRITER; version++) {
        StoreProbe.insertRaw(c, stream, version);
        Thread.sleep(ThreadLocalRandom.current().nextInt(0, 101)); // the scenario: a slow writer, not a wait
        c.commit();
      }
    }
    return null;
  }

  /** Gateway appends of two events each, a few in flight at a time. */
  private Void postThroughGateway() throws Exception {
    List<CompletableFuture<Response>> inFlight = new ArrayList<>();
    for (int i = 0; i < GATEWAY_REQUESTS; i++) {
      JsonArray batch = new JsonArray()
          .add(HttpTestClient.pageView("gateway-" + (i % 5), "/a/" + i))
          .add(HttpTestClient.pageView("gateway-" + (i % 5), "/b/" + i));
      inFlight.add(gateway.http().postEventsAsync(new JsonObject().put("events", batch)));
      if (inFlight.size() == 4) {
        assertAllStored(inFlight);
      }
    }
    assertAllStored(inFlight);
    return null;
  }

  private static void assertAllStored(List<CompletableFuture<Response>> inFlight) throws Exception {
    for (Response r : StoreProbe.all(inFlight, Duration.ofSeconds(30))) {
      assertEquals(200, r.status(), r.body());
    }
    inFlight.clear();
  }
}
