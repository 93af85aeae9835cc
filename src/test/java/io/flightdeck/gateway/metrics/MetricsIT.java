package io.flightdeck.gateway.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.MetricsDoc;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.flightdeck.gateway.support.Scrape;
import io.flightdeck.gateway.support.SseTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** GET /metrics scraped as Prometheus would, before and after known traffic. */
@ExtendWith(PostgresExtension.class)
class MetricsIT {

  static Scrape scrape(TestGateway gateway) {
    Response r = gateway.http().send(gateway.http().request("/metrics").GET());
    assertEquals(200, r.status(), r.body());
    assertTrue(r.header("Content-Type").startsWith("text/plain"), r.header("Content-Type"));
    return Scrape.parse(r.body());
  }

  static double delta(Scrape before, Scrape after, String name, String... labels) {
    return after.value(name, labels) - before.value(name, labels);
  }

  @Test
  @DisplayName("after known traffic every gateway series moves by exactly what was sent, with bounded labels only")
  void countersMoveExactly(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_SAMPLE_INTERVAL_MS", "200"));
         SseTestClient sse = SseTestClient.open(gateway, "/v1/live", Map.of())) {
      assertEquals("connected", sse.nextComment(Duration.ofSeconds(10)));
      Scrape before = scrape(gateway);

      JsonArray batch = new JsonArray();
      for (int i = 0; i < 7; i++) {
        batch.add(HttpTestClient.pageView("secret-stream-7", "/metrics/" + i));
      }
      assertEquals(200, gateway.http().postEvents(new JsonObject().put("events", batch)).status());
      JsonObject click = HttpTestClient.click("secret-stream-7", "b");
      assertEquals(200, gateway.http().postEvents(new JsonObject().put("events", new JsonArray()
          .add(click).add(HttpTestClient.click("secret-stream-7", "c")).add(HttpTestClient.click("x", "d"))))
          .status());
      assertEquals(200, gateway.http().postEvents(click).status(), "a duplicate");
      assertEquals(400, gateway.http().postEvents(new JsonObject().put("type", "PageViewed")).status());
      assertEquals(401, gateway.http().send(gateway.http().request("/v1/events")
          .header("Content-Type", "application/json").header("X-Write-Key", "nope-nope-nope")
          .POST(HttpRequest.BodyPublishers.ofString(click.encode()))).status());
      assertEquals(200, gateway.http().getWithReadToken("/v1/streams/secret-stream-7/events").status());
      sse.take(10, Duration.ofSeconds(10));
      ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(20));
      long head = db.queryLong("SELECT max(position) FROM events");
      Awaitility.await("projection gauges sampled").atMost(Duration.ofSeconds(10)).until(() ->
          scrape(gateway).value("flightdeck_projection_checkpoint_position", "projection", "event-counts") == head);
      Scrape after = scrape(gateway);

      assertEquals(7, delta(before, after, "flightdeck_events_appended_total", "site", "demo", "type", "PageViewed"));
      assertEquals(3, delta(before, after, "flightdeck_events_appended_total", "site", "demo", "type",
          "ButtonClicked"));
      assertEquals(1, delta(before, after, "flightdeck_events_duplicate_total", "site", "demo"));
      assertEquals(1, delta(before, after, "flightdeck_ingest_rejected_total", "reason", "invalid_event"));
      assertEquals(1, delta(before, after, "flightdeck_ingest_rejected_total", "reason", "unknown_write_key"));
      assertEquals(3, delta(before, after, "flightdeck_append_latency_seconds_count"));
      assertEquals(11, delta(before, after, "flightdeck_append_batch_size_sum"),
          "every event that went through an append transaction, the duplicate included");
      assertEquals(0, after.value("flightdeck_append_queue_depth"));
      assertEquals(head, after.value("flightdeck_store_head_position"));
      for (String p : new String[] {"visitor-activity", "page-stats", "form-submissions", "event-counts"}) {
        assertEquals(head, after.value("flightdeck_projection_checkpoint_position", "projection", p), p);
        assertEquals(0, after.value("flightdeck_projection_lag_events", "projection", p), p);
        assertEquals(0, after.value("flightdeck_projection_lag_seconds", "projection", p), p);
        assertEquals(0, after.value("flightdeck_projection_dead_letters", "projection", p), p);
      }
      assertEquals(10, delta(before, after, "flightdeck_projection_events_applied_total", "projection",
          "visitor-activity"));
      assertEquals(10, delta(before, after, "flightdeck_projection_events_applied_total", "projection",
          "event-counts"));
      assertEquals(1, after.value("flightdeck_sse_connections"));
      assertEquals(10, delta(before, after, "flightdeck_sse_messages_delivered_total"));
      assertTrue(delta(before, after, "flightdeck_sse_delivery_latency_seconds_count") >= 1);
      assertNotNull(after.find("flightdeck_sse_slow_clients_dropped_total"));

      assertEquals(1, delta(before, after, "vertx_http_server_requests_total", "route",
          "/v1/streams/:streamId/events", "method", "GET", "code", "200"));
      assertTrue(delta(before, after, "vertx_http_server_response_time_seconds_count", "route", "/v1/events",
          "method", "POST", "code", "200") >= 3, () -> after.samples().stream()
          .filter(x -> x.name().startsWith("vertx_http_server")).toList().toString());
      assertTrue(after.has("jvm_memory_used_bytes"), "JVM metrics");
      assertTrue(after.samples().stream().anyMatch(s -> s.name().startsWith("vertx_pool_")), "pool metrics");

      for (Scrape.Sample s : after.samples()) {
        for (String value : s.labels().values()) {
          assertFalse(value.contains("secret-stream"), "a stream id as a label: " + s);
          assertFalse(value.contains("write-key") || value.contains("nope-nope"), "a write key as a label: " + s);
          assertFalse(value.contains("127.0.0.1"), "an IP as a label: " + s);
          assertFalse(value.contains("/metrics/"), "a page URL as a label: " + s);
        }
      }
      String lint = Scrape.promtoolCheck(after.text());
      if (lint != null) {
        assertEquals("", lint, "promtool check metrics");
      }

      // the contract: every series GET /metrics exports is documented in docs/METRICS.md
      MetricsDoc doc = MetricsDoc.load();
      List<String> undocumented = after.samples().stream().map(Scrape.Sample::name).distinct()
          .flatMap(name -> doc.problem(name).stream()).sorted().toList();
      assertEquals(List.of(), undocumented, "series missing from docs/METRICS.md");
      assertFalse(after.has("vertx_http_server_request_bytes_count"), "left out on purpose, see docs/METRICS.md");
      assertFalse(after.has("vertx_http_server_response_bytes_count"), "left out on purpose, see docs/METRICS.md");
    }
  }

  @Test
  @DisplayName("only tracking calls count as ingest rejections: a POST elsewhere under /v1/ that fails is not one")
  void rejectionsCountTrackingCallsOnly(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      Scrape before = scrape(gateway);
      for (String path : List.of("/v1/nothing-here", "/v1/streams/rejected-1/events", "/v1/live",
          "/v1/visitors/rejected-1", "/v1/events/head")) {
        Response r = gateway.http().send(gateway.http().request(path).header("Content-Type", "application/json")
            .header("X-Write-Key", TestGateway.WRITE_KEY).POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertTrue(r.status() == 404 || r.status() == 405, path + ": " + r.status());
      }
      for (String path : List.of("/v1/events", "/v1/events/", "/v1/track")) {
        Response r = gateway.http().send(gateway.http().request(path).header("Content-Type", "application/json")
            .header("X-Write-Key", "no-such-write-key").POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertEquals(401, r.status(), path);
      }
      Scrape after = scrape(gateway);

      double rejected = after.samples().stream().filter(s -> s.name().equals("flightdeck_ingest_rejected_total"))
          .mapToDouble(Scrape.Sample::value).sum();
      assertEquals(3.0, rejected, after.text());
      assertEquals(3.0, delta(before, after, "flightdeck_ingest_rejected_total", "reason", "unknown_write_key"));
      assertNull(after.find("flightdeck_ingest_rejected_total", "reason", "not_found"));
      assertNull(after.find("flightdeck_ingest_rejected_total", "reason", "method_not_allowed"));
    }
  }

  @Test
  @DisplayName("a tracking call refused before it could be routed (headers over the limit, as a site's large cookies "
      + "make them; a body framed two ways) counts as an ingest rejection like any other")
  void trackingCallsRefusedByHttpItselfAreRejections(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      Scrape before = scrape(gateway);
      String head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nX-Write-Key: "
          + TestGateway.WRITE_KEY + "\r\n";
      String body = HttpTestClient.pageView("cookies-1", "/cookies").encode();
      for (String[] request : new String[][] {
          {head + "Cookie: c=" + "x".repeat(9000) + "\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
              "HTTP/1.1 431"},
          {head + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400"}}) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
          socket.getOutputStream().write(request[0].getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          String answer = new String(io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream()),
              java.nio.charset.StandardCharsets.US_ASCII);
          assertTrue(answer.startsWith(request[1]), answer);
        }
      }
      Scrape after = scrape(gateway);
      assertEquals(1, delta(before, after, "flightdeck_ingest_rejected_total", "reason", "headers_too_large"),
          after.text());
      assertEquals(1, delta(before, after, "flightdeck_ingest_rejected_total", "reason", "invalid_request"),
          after.text());
    }
  }

  @Test
  @DisplayName("no series says the gateway exchanged no bytes with PostgreSQL while it was answering SQL requests")
  void noDatabaseByteCounterStuckAtZero(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      for (int i = 0; i < 5; i++) {
        assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("bytes-" + i, "/bytes")).status());
      }
      assertEquals(200, gateway.http().getWithReadToken("/v1/streams/bytes-1/events").status());
      Scrape after = scrape(gateway);

      assertTrue(after.value("vertx_sql_processing_time_seconds_count") > 0, "SQL requests were answered");
      assertTrue(after.value("vertx_net_client_active_connections") > 0, "connections to PostgreSQL are open");
      for (String name : List.of("vertx_net_client_bytes_read_total", "vertx_net_client_bytes_written_total")) {
        Double bytes = after.find(name);
        assertTrue(bytes == null || bytes > 0, name + " is " + bytes + " after SQL traffic");
      }
    }
  }

  @Test
  @DisplayName("a projection sample the database holds up takes one read connection, not one more each interval: "
      + "reads and readiness go on")
  void blockedProjectionSampleDoesNotTakeTheReadPool(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_SAMPLE_INTERVAL_MS", "100"))) {
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("sample-held-1", "/held")).status());
      ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(20));
      // what a long transaction, an ALTER TABLE or a VACUUM FULL on dead_letters does to the sample's count(*)
      try (java.sql.Connection held = locked(db, "dead_letters")) {
        Awaitility.await("the sample waits for the lock").atMost(Duration.ofSeconds(10))
            .until(() -> sessionsWaitingForALock(db) >= 1);
        // twenty intervals: before, a new sample joined the queue at each one until the read pool (8) was taken
        Awaitility.await("samples stay one at a time").during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
            .until(() -> sessionsWaitingForALock(db) <= 1);

        Response read = gateway.http().getWithReadToken("/v1/events?after=0");
        assertEquals(200, read.status(), read.body());
        Response ready = gateway.http().send(gateway.http().request("/health/ready").GET());
        assertEquals(200, ready.status(), ready.body());
      }
      Awaitility.await("sampling again").atMost(Duration.ofSeconds(10))
          .until(() -> sessionsWaitingForALock(db) == 0);
    }
  }

  @Test
  @DisplayName("while no projection sample answers, /metrics says how old the figures are and /health/ready says "
      + "DEGRADED, instead of passing the last figures off as current")
  void staleProjectionFiguresAreShownAsStale(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_SAMPLE_INTERVAL_MS", "100"))) {
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("stale-1", "/stale")).status());
      ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(20));
      Awaitility.await("caught up and sampled").atMost(Duration.ofSeconds(10)).until(() ->
          "UP".equals(projectionsCheck(gateway).getString("status")));
      assertTrue(scrape(gateway).value("flightdeck_projection_sample_age_seconds") < 1);
      // the projections stall on their checkpoints, and the sample, which reads them, waits too
      try (java.sql.Connection held = locked(db, "projection_checkpoints")) {
        assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("stale-2", "/stale")).status());
        Awaitility.await("the figures are old").atMost(Duration.ofSeconds(10))
            .until(() -> scrape(gateway).value("flightdeck_projection_sample_age_seconds") > 1);
        JsonObject check = projectionsCheck(gateway);
        assertEquals("DEGRADED", check.getString("status"), check.encode());
        assertTrue(check.getDouble("sampleAgeSeconds") > 1, check.encode());
      }
      Awaitility.await("sampled again").atMost(Duration.ofSeconds(10)).until(() ->
          "UP".equals(projectionsCheck(gateway).getString("status")));
      assertTrue(scrape(gateway).value("flightdeck_projection_sample_age_seconds") < 1);
    }
  }

  /**
   * A connection holding {@code table} in ACCESS EXCLUSIVE mode in an open transaction; closing it rolls back, which
   * lets the lock go.
   */
  private static java.sql.Connection locked(TestDatabase db, String table) throws java.sql.SQLException {
    java.sql.Connection holder = db.connect();
    try (java.sql.Statement st = holder.createStatement()) {
      holder.setAutoCommit(false);
      st.execute("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
      return holder;
    } catch (java.sql.SQLException | RuntimeException e) {
      holder.close();
      throw e;
    }
  }

  private static JsonObject projectionsCheck(TestGateway gateway) {
    Response ready = gateway.http().send(gateway.http().request("/health/ready").GET());
    assertEquals(200, ready.status(), ready.body());
    return ready.json().getJsonObject("checks").getJsonObject("projections");
  }

  private static long sessionsWaitingForALock(TestDatabase db) {
    return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        + "AND datname = current_database()");
  }

  @Test
  @DisplayName("metrics on a management port behind a token are not on the main port")
  void managementPortWithToken(TestDatabase db) throws Exception {
    int port = TestGateway.freePort();
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_PORT", String.valueOf(port),
        "FLIGHTDECK_METRICS_TOKEN", "scrape-token-123456"))) {
      assertEquals(404, gateway.http().send(gateway.http().request("/metrics").GET()).status());
      HttpTestClient management = new HttpTestClient("http://127.0.0.1:" + port);
      assertEquals(401, management.send(management.request("/metrics").GET()).status());
      Response ok = management.send(management.request("/metrics")
          .header("Authorization", "Bearer scrape-token-123456").GET());
      assertEquals(200, ok.status());
      assertTrue(Scrape.parse(ok.body()).has("flightdeck_append_queue_depth"));
    }
  }

  @Test
  @DisplayName("the management port answers its refusals with the contract's JSON error body, as the main port does: "
      + "a method /metrics does not take is 405 method_not_allowed with Allow, a path that does not decode 400")
  void managementPortErrorsHaveTheErrorBody(TestDatabase db) throws Exception {
    int port = TestGateway.freePort();
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_PORT", String.valueOf(port),
        "FLIGHTDECK_METRICS_TOKEN", "scrape-token-123456"))) {
      HttpTestClient management = new HttpTestClient("http://127.0.0.1:" + port);
      for (String method : new String[] {"POST", "DELETE", "OPTIONS"}) {
        Response r = management.send(management.request("/metrics")
            .header("Authorization", "Bearer scrape-token-123456")
            .method(method, HttpRequest.BodyPublishers.noBody()));
        assertEquals(405, r.status(), method);
        assertTrue(r.body().contains("\"code\":\"method_not_allowed\""), method + ": '" + r.body() + "'");
        assertEquals("GET, HEAD", r.header("Allow"), method);
      }
      // a path whose percent-escapes do not decode, which java.net.URI refuses to send
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
        socket.getOutputStream().write("GET /metrics/%zz HTTP/1.1\r\nHost: x\r\n\r\n"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String answer = new String(io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream()),
            java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
        assertTrue(answer.contains("\"code\":\"invalid_request\""), answer);
      }
    }
  }

  @Test
  @DisplayName("vertx_http_server_active_requests comes back to where it was after clients that left early: one that "
      + "reset its connection before a read was answered, one answered before the body it announced and then gone")
  void activeRequestsComeBackAfterClientsLeave(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      double before = scrape(gateway).value("vertx_http_server_active_requests", "method", "GET");

      // a read answered after the client reset its connection (SO_LINGER 0: the close is a reset); Vert.x 5.0.10
      // reported each such reset twice, and the gauge went below zero by one each time
      for (int i = 0; i < 10; i++) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
          socket.getOutputStream().write(("GET /v1/events?access_token=" + TestGateway.READ_TOKEN
              + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          socket.setSoLinger(true, 0);
        }
      }
      Awaitility.await("resets settled").atMost(Duration.ofSeconds(10)).pollDelay(Duration.ofMillis(500))
          .until(() -> scrape(gateway).value("vertx_http_server_active_requests", "method", "GET") == before);

      // answered 401 before the byte of body it announced, which never comes: the client goes; Vert.x 5.0.10 kept
      // each such request in the gauge for good
      for (int i = 0; i < 10; i++) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
          socket.getOutputStream().write("GET /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          String answer = new String(io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream()),
              java.nio.charset.StandardCharsets.UTF_8);
          assertTrue(answer.startsWith("HTTP/1.1 401 "), answer);
        }
      }
      Awaitility.await("closed connections settled").atMost(Duration.ofSeconds(10)).pollDelay(Duration.ofMillis(500))
          .until(() -> scrape(gateway).value("vertx_http_server_active_requests", "method", "GET") == before);
    }
  }

  @Test
  @DisplayName("a fresh gateway serves its labelled counters at zero before anything happened: appended per site and "
      + "type, duplicates, ingest rejections, closed connections, and each projection's events applied and batches "
      + "by source")
  void countersStartAtZero(TestDatabase db) throws Exception {
    // a store of its own, empty: the class's database holds the other tests' events, and one a gateway stopped before
    // its projections applied it is applied by the next gateway on it at once, before the first scrape
    TestDatabase empty = new TestDatabase(db.urlFor(db.name() + "_zero"));
    try (TestGateway gateway = TestGateway.start(empty)) {
      Scrape fresh = scrape(gateway);

      // an empty store: no projection has applied anything, and an alert on a projection that stopped applying
      // must see its series all the same
      for (String p : List.of("visitor-activity", "page-stats", "form-submissions", "event-counts")) {
        assertEquals(0.0, fresh.find("flightdeck_projection_events_applied_total", "projection", p), p);
        assertEquals(0.0, fresh.find("flightdeck_projection_batches_total", "projection", p, "source", "shared"), p);
        assertEquals(0.0, fresh.find("flightdeck_projection_batches_total", "projection", p, "source", "store"), p);
      }

      for (String type : List.of("PageViewed", "ButtonClicked", "FormSubmitted", "custom")) {
        assertEquals(0.0, fresh.find("flightdeck_events_appended_total", "site", "demo", "type", type), type);
      }
      assertEquals(0.0, fresh.find("flightdeck_events_duplicate_total", "site", "demo"));
      assertEquals(0.0, fresh.find("flightdeck_ingest_rejected_total", "reason", "invalid_event"));
      assertEquals(0.0, fresh.find("flightdeck_ingest_rejected_total", "reason", "rate_limited"));
      assertEquals(0.0, fresh.find("flightdeck_http_connections_closed_total", "reason", "head_timeout"));

      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("zero-1", "/zero")).status());
      assertEquals(1.0, scrape(gateway).find("flightdeck_events_appended_total", "site", "demo", "type",
          "PageViewed"));
    } finally {
      db.execute("DROP DATABASE IF EXISTS \"" + empty.name() + "\" WITH (FORCE)");
    }
  }

  @Test
  @DisplayName("a made-up HTTP method is labelled OTHER: a client cannot add series by naming new methods")
  void madeUpMethodsShareOneLabel(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      for (int i = 0; i < 20; i++) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
          socket.getOutputStream().write(("MADEUP" + i
              + " /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          String answer = new String(io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream()),
              java.nio.charset.StandardCharsets.US_ASCII);
          assertTrue(answer.startsWith("HTTP/1.1 405"), answer);
        }
      }
      assertEquals(200, gateway.http().send(gateway.http().request("/health/live").GET()).status());

      Scrape after = scrape(gateway);
      java.util.Set<String> methods = after.samples().stream()
          .filter(s -> s.name().startsWith("vertx_http_server_"))
          .map(s -> s.labels().get("method")).filter(m -> m != null).collect(java.util.stream.Collectors.toSet());
      assertTrue(methods.contains("OTHER") && methods.contains("GET"), methods.toString());
      assertTrue(methods.stream().noneMatch(m -> m.startsWith("MADEUP")), methods.toString());
      assertEquals(20.0, after.samples().stream()
          .filter(s -> s.name().equals("vertx_http_server_requests_total") && "OTHER".equals(s.labels().get("method")))
          .mapToDouble(Scrape.Sample::value).sum(), after.text());
    }
  }

  @Test
  @DisplayName("the series that only a failing connection or a client resetting its request brings into being are "
      + "documented too")
  void failureOnlySeriesAreDocumented(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      // a request HTTP cannot parse: the connection fails (vertx_http_server_errors_total)
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
        socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String answer = new String(io.flightdeck.gateway.support.RawHttp.readResponse(socket.getInputStream()),
            java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      }
      // a live stream the client walks away from: its request is reset (vertx_http_server_request_resets_total)
      try (SseTestClient sse = SseTestClient.openHttp1(gateway, "/v1/live", Map.of())) {
        assertEquals("connected", sse.nextComment(Duration.ofSeconds(10)));
      }
      Awaitility.await("both series exported").atMost(Duration.ofSeconds(10)).until(() -> {
        Scrape s = scrape(gateway);
        return s.has("vertx_http_server_errors_total") && s.has("vertx_http_server_request_resets_total");
      });

      MetricsDoc doc = MetricsDoc.load();
      List<String> undocumented = scrape(gateway).samples().stream().map(Scrape.Sample::name).distinct()
          .flatMap(name -> doc.problem(name).stream()).sorted().toList();
      assertEquals(List.of(), undocumented, "series missing from docs/METRICS.md");
    }
  }

  @Test
  @DisplayName("every series docs/METRICS.md names is exported once a gateway has ingested, served a read and a live "
      + "stream: the page promises nothing an operator's dashboard would find missing")
  void documentedSeriesAreExported(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_METRICS_SAMPLE_INTERVAL_MS", "200"));
         SseTestClient sse = SseTestClient.open(gateway, "/v1/live", Map.of())) {
      assertEquals("connected", sse.nextComment(Duration.ofSeconds(10)));
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("documented-1", "/documented")).status());
      assertEquals(200, gateway.http().getWithReadToken("/v1/streams/documented-1/events").status());
      sse.take(1, Duration.ofSeconds(10));
      ReadModelCheck.awaitCaughtUp(db, Duration.ofSeconds(20));
      // documented as appearing with their first occurrence: failureOnlySeriesAreDocumented brings them about
      Set<String> onFirstOccurrence = Set.of("vertx_http_server_errors_total",
          "vertx_http_server_request_resets_total");
      Scrape after = scrape(gateway);
      List<String> missing = MetricsDoc.load().exact().keySet().stream()
          .filter(name -> !onFirstOccurrence.contains(name))
          .filter(name -> !after.has(name) && !after.has(name + "_count"))
          .sorted().toList();
      assertEquals(List.of(), missing, "documented in docs/METRICS.md, not exported");

      // and each is of the type the page says: a timer or histogram is a Prometheus histogram
      Map<String, String> exported = new java.util.HashMap<>();
      java.util.regex.Matcher type = java.util.regex.Pattern.compile("(?m)^# TYPE (\\S+) (\\S+)$")
          .matcher(after.text());
      while (type.find()) {
        exported.put(type.group(1), type.group(2));
      }
      Map<String, String> prometheusType = Map.of("counter", "counter", "gauge", "gauge", "timer", "histogram",
          "histogram", "histogram", "summary", "summary");
      List<String> wrong = MetricsDoc.load().exact().entrySet().stream()
          .filter(e -> prometheusType.containsKey(e.getValue()))
          .filter(e -> exported.containsKey(e.getKey()) || exported.containsKey(e.getKey() + "_total")
              || exported.containsKey(e.getKey().replaceAll("_total$", "")))
          .filter(e -> {
            String name = e.getKey();
            String t = exported.getOrDefault(name, exported.getOrDefault(name.replaceAll("_total$", ""),
                exported.get(name + "_total")));
            return !prometheusType.get(e.getValue()).equals(t);
          })
          .map(e -> e.getKey() + " documented as " + e.getValue()).sorted().toList();
      assertTrue(exported.keySet().stream().filter(n -> n.startsWith("flightdeck_")).count() >= 20,
          exported.toString());
      assertEquals(List.of(), wrong, exported.toString());

      // the pools vertx_pool_* reports are those the page names, whatever their type
      String poolRow = java.nio.file.Files.readAllLines(io.flightdeck.gateway.support.GatewayProcess.projectDir()
              .resolve("docs/METRICS.md")).stream()
          .filter(l -> l.startsWith("| `vertx_pool_*`")).findFirst().orElseThrow();
      List<String> unnamedPools = after.samples().stream().filter(x -> x.name().startsWith("vertx_pool_"))
          .map(x -> x.labels().get("pool_name")).distinct().filter(pool -> !poolRow.contains("`" + pool + "`"))
          .sorted().toList();
      assertEquals(List.of(), unnamedPools, "pools not named in docs/METRICS.md: " + poolRow);
    }
  }

  @Test
  @DisplayName("over HTTP/2 (h2c) requests are counted by route, a tracking POST with headers over the limit is an "
      + "ingest rejection, every series is documented, and a live stream the client resets leaves no open stream or "
      + "active request behind")
  void http2TrafficIsCountedAndDocumented(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db, Map.of("FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true"))) {
      java.net.http.HttpClient h2 = java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_2).build();
      String base = "http://127.0.0.1:" + gateway.port();
      for (int i = 0; i < 3; i++) {
        java.net.http.HttpResponse<String> posted = h2.send(HttpRequest.newBuilder(java.net.URI.create(base
            + "/v1/events")).header("Content-Type", "application/json").header("X-Write-Key", TestGateway.WRITE_KEY)
            .POST(HttpRequest.BodyPublishers.ofString(HttpTestClient.pageView("h2-" + i, "/h2").encode())).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, posted.statusCode(), posted.body());
        assertEquals(java.net.http.HttpClient.Version.HTTP_2, posted.version());
      }
      // a tracking POST whose headers are over the limit, on the upgraded connection: refused, and counted
      Scrape beforeBig = scrape(gateway);
      java.net.http.HttpResponse<String> big = h2.send(HttpRequest.newBuilder(java.net.URI.create(base
          + "/v1/events")).header("Content-Type", "application/json").header("X-Write-Key", TestGateway.WRITE_KEY)
          .header("X-Big", "b".repeat(9000))
          .POST(HttpRequest.BodyPublishers.ofString(HttpTestClient.pageView("h2-big", "/h2").encode())).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(431, big.statusCode(), big.body());
      assertEquals(java.net.http.HttpClient.Version.HTTP_2, big.version());
      assertEquals(1, delta(beforeBig, scrape(gateway), "flightdeck_ingest_rejected_total", "reason",
          "headers_too_large"));
      try (SseTestClient sse = SseTestClient.open(gateway, "/v1/live", Map.of())) {
        assertEquals("connected", sse.nextComment(Duration.ofSeconds(10)));
        assertEquals(1.0, scrape(gateway).value("flightdeck_sse_connections"));
      }
      Awaitility.await("the reset stream is gone").atMost(Duration.ofSeconds(10)).until(() ->
          scrape(gateway).value("flightdeck_sse_connections") == 0);
      Scrape after = scrape(gateway);
      assertTrue(after.value("vertx_http_server_requests_total", "route", "/v1/events", "method", "POST", "code",
          "200") >= 3, after.text());
      double active = after.samples().stream().filter(s -> s.name().equals("vertx_http_server_active_requests"))
          .mapToDouble(Scrape.Sample::value).sum();
      assertEquals(1.0, active, "only the scrape itself is in progress");
      MetricsDoc doc = MetricsDoc.load();
      List<String> undocumented = after.samples().stream().map(Scrape.Sample::name).distinct()
          .flatMap(name -> doc.problem(name).stream()).sorted().toList();
      assertEquals(List.of(), undocumented, "series missing from docs/METRICS.md");
    }
  }

  @Test
  @DisplayName("?name[]= answers only the named metric families, in the same text format")
  void namedFamiliesOnly(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("named-1", "/named")).status());

      Response one = gateway.http().send(gateway.http()
          .request("/metrics?name%5B%5D=flightdeck_append_latency_seconds").GET());
      assertEquals(200, one.status(), one.body());
      assertTrue(one.header("Content-Type").startsWith("text/plain; version=0.0.4"), one.header("Content-Type"));
      Scrape histogram = Scrape.parse(one.body());
      assertEquals(1.0, histogram.value("flightdeck_append_latency_seconds_count"));
      assertTrue(histogram.has("flightdeck_append_latency_seconds_bucket"));
      assertFalse(histogram.has("flightdeck_append_queue_depth"), one.body());
      assertFalse(histogram.has("vertx_http_server_requests_total"), one.body());

      Response two = gateway.http().send(gateway.http().request("/metrics?name%5B%5D=flightdeck_append_queue_depth"
          + "&name%5B%5D=vertx_http_server_requests").GET());
      Scrape both = Scrape.parse(two.body());
      assertTrue(both.has("flightdeck_append_queue_depth"), two.body());
      assertTrue(both.has("vertx_http_server_requests_total"), two.body());
      assertFalse(both.has("flightdeck_append_latency_seconds_count"), two.body());

      // named as their samples are: a counter with its _total, a histogram by its _count
      Response samples = gateway.http().send(gateway.http().request("/metrics?name%5B%5D=flightdeck_events_appended_total"
          + "&name%5B%5D=flightdeck_append_latency_seconds_count").GET());
      Scrape bySample = Scrape.parse(samples.body());
      assertTrue(bySample.has("flightdeck_events_appended_total"), samples.body());
      assertTrue(bySample.has("flightdeck_append_latency_seconds_bucket"), samples.body());
      assertFalse(bySample.has("flightdeck_append_queue_depth"), samples.body());
    }
  }

  @Test
  @DisplayName("scrapes render on worker threads, two at a time: a third one meanwhile gets 503 with Retry-After")
  void rendersOffTheEventLoopTwoAtATime(TestDatabase db) throws Exception {
    try (TestGateway gateway = TestGateway.start(db)) {
      CountDownLatch release = new CountDownLatch(1);
      Semaphore rendering = new Semaphore(0);
      Set<String> threads = ConcurrentHashMap.newKeySet();
      // a meter whose reading holds the render until the test lets it go
      Gauge.builder("test_render_probe", () -> {
        threads.add(Thread.currentThread().getName());
        rendering.release();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return 1;
      }).register(gateway.registry());
      try {
        CompletableFuture<Response> first = gateway.http().sendAsync(gateway.http().request("/metrics").GET());
        CompletableFuture<Response> second = gateway.http().sendAsync(gateway.http().request("/metrics").GET());
        assertTrue(rendering.tryAcquire(2, 10, TimeUnit.SECONDS), "two renders under way");

        Response third = gateway.http().send(gateway.http().request("/metrics").GET());
        assertEquals(503, third.status(), third.body());
        assertEquals("unavailable", third.errorCode());
        assertEquals("1", third.header("Retry-After"));
        // the event loops go on serving while both renders are held
        assertEquals(200, gateway.http().send(gateway.http().request("/health/live").GET()).status());
        assertEquals(200, gateway.http().postEvents(HttpTestClient.pageView("render-1", "/render")).status());

        release.countDown();
        for (CompletableFuture<Response> held : List.of(first, second)) {
          Response r = held.get(10, TimeUnit.SECONDS);
          assertEquals(200, r.status(), r.body());
          assertEquals(1.0, Scrape.parse(r.body()).value("test_render_probe"));
        }
        assertTrue(threads.stream().allMatch(t -> t.startsWith("vert.x-worker-thread-")), threads.toString());
        assertEquals(1.0, scrape(gateway).value("test_render_probe"), "the slots are free again");
      } finally {
        release.countDown();
      }
    }
  }
}
