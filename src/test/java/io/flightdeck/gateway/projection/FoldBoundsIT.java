package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fold behind {@code GET /v1/visitors/{id}?at=} reads the store page by page: it stops when its client has gone,
 * reads at most 100,000 events and gives up after db.statementTimeoutMs in all. To see it page by page, a test holds
 * a lock on the events table that every page's read waits for, and lets one read through at a time.
 */
@ExtendWith(PostgresExtension.class)
class FoldBoundsIT {

  private static final int STATEMENT_TIMEOUT_MS = 3000;

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_DB_STATEMENT_TIMEOUT_MS", String.valueOf(STATEMENT_TIMEOUT_MS),
      "FLIGHTDECK_PROJECTIONS_ENABLED", "false"));

  @Test
  @DisplayName("a fold of exactly 100,000 events answers; one more is 400 too_many_events naming the limit")
  void foldReadsAtMostTheBound() throws Exception {
    // recorded a microsecond apart, so a time picks how many of them a fold reads
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at, recorded_at)
        SELECT gen_random_uuid(), 'fold-long', g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now(),
               timestamptz '2026-11-01T00:00:00Z' + g * interval '1 microsecond'
        FROM generate_series(1, 100001) g""");

    // the shipped statement timeout: folding 100,000 events may take longer than this class's 3 s on a busy host
    try (TestGateway shipped = TestGateway.start(gateway.db(), Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"))) {
      Response bound = shipped.http().getWithReadToken("/v1/visitors/fold-long?at=2026-11-01T00:00:00.100000Z");
      assertEquals(200, bound.status(), bound.body());
      assertEquals(100_000, bound.json().getLong("pageViews"), bound.body());

      Response past = shipped.http().getWithReadToken("/v1/visitors/fold-long?at=2026-11-01T00:00:00.100001Z");
      assertEquals(400, past.status(), past.body().length() > 300 ? past.body().substring(0, 300) : past.body());
      assertEquals("too_many_events", past.errorCode());
      assertTrue(past.json().getJsonObject("error").getString("message").contains("100000"), past.body());
    }
  }

  @Test
  @DisplayName("a fold whose client went away reads no further page of the stream")
  void foldStopsWhenTheClientIsGone() throws Exception {
    insertStream("fold-gone", 5001); // six pages
    try (Connection locker = gateway.db().connect()) {
      locker.setAutoCommit(false);
      lockEvents(locker);
      try (Socket client = new Socket()) {
        client.connect(new InetSocketAddress("127.0.0.1", gateway.get().port()));
        OutputStream out = client.getOutputStream();
        out.write(("GET /v1/visitors/fold-gone?at=2100-01-01T00:00:00Z HTTP/1.1\r\nHost: localhost\r\n"
            + "Authorization: Bearer demo-read-token\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        awaitPageWaiting();
      }
      // the client is gone while the fold's first read waits. The reads are let through one at a time: the first
      // read on a connection prepares the statement first (a read of its own), then the page
      Thread.sleep(200); // for the gateway to read the close, which it shows nowhere a test could watch
      int through = 0;
      while (through < 8) {
        locker.commit();
        lockEvents(locker);
        if (!readWaitsWithin(Duration.ofSeconds(2))) {
          break;
        }
        through++;
      }
      locker.commit();
      // the read waiting then, if it was the statement's preparation its page, and one more should the gateway see
      // the close only after that page: a fold that reads on reads all six
      assertTrue(through <= 2, "reads let through after the client left: " + through);
    }
  }

  @Test
  @DisplayName("a fold on a store that takes 2 of the 3 s a statement may take per page is answered 503 with "
      + "Retry-After after db.statementTimeoutMs in all, not after every page")
  void foldHasADeadline() throws Exception {
    insertStream("fold-slow", 3001); // four pages
    try (Connection locker = gateway.db().connect()) {
      locker.setAutoCommit(false);
      lockEvents(locker);
      CompletableFuture<Response> answer = gateway.http().sendAsync(gateway.http()
          .request("/v1/visitors/fold-slow?at=2100-01-01T00:00:00Z").header("Authorization", "Bearer demo-read-token"));
      for (int read = 0; read < 6 && !answer.isDone(); read++) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> answer.isDone() || pagesWaiting() == 1);
        // the slow store: each read (the statement's preparation, then each page) waits 2 s, under the statement
        // timeout of 3 s
        Thread.sleep(2000);
        locker.commit();
        lockEvents(locker);
      }
      Response r = answer.get(20, TimeUnit.SECONDS);
      locker.commit();
      assertEquals(503, r.status(), r.body().length() > 300 ? r.body().substring(0, 300) : r.body());
      assertEquals("unavailable", r.errorCode());
      assertEquals("1", r.header("Retry-After"));
    }
  }

  private static void insertStream(String streamId, int events) {
    gateway.db().execute("""
        INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, occurred_at)
        SELECT gen_random_uuid(), ?, g, 'PageViewed', 1, jsonb_build_object('pageId', '/p' || g), now()
        FROM generate_series(1, ?) g""", streamId, events);
  }

  private static void lockEvents(Connection locker) throws Exception {
    try (Statement st = locker.createStatement()) {
      st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    }
  }

  /** Whether a read of the fold comes to wait for the lock within {@code time}. */
  private static boolean readWaitsWithin(Duration time) throws InterruptedException {
    long end = System.nanoTime() + time.toNanos();
    while (System.nanoTime() < end) {
      if (pagesWaiting() > 0) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }

  private static void awaitPageWaiting() {
    Awaitility.await("a page of the fold waits for the lock").atMost(Duration.ofSeconds(10))
        .until(() -> pagesWaiting() == 1);
  }

  /** Reads of a fold's page that wait for the lock. */
  private static long pagesWaiting() {
    return gateway.db().queryLong("""
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'flightdeck-read' AND wait_event_type = 'Lock'
          AND query LIKE '%stream_version >%'""");
  }
}
