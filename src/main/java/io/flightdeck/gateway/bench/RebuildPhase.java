package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.projection.Projection;
import io.flightdeck.gateway.projection.model.ReadModels;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The rebuild rate: a fresh database is filled with {@code --rebuild-events} events by SQL (no HTTP: this phase
 * measures the projections, not ingest), then a fresh gateway starts on it and every projection, starting at
 * position 0 on its own, replays the whole store. Timed from the projection engine's start (its checkpoint rows
 * appear) until every checkpoint has reached the head; afterwards the read models are checked against the store.
 */
final class RebuildPhase {

  /** Visitor streams the events are spread over, each numbered 1, 2, 3... */
  static final int STREAMS = 5000;
  /** Events per INSERT (one transaction each). */
  static final int CHUNK = 100_000;
  /** The events' occurredAt (and recordedAt) are spread over this span, ending an hour before the run. */
  static final Duration SPAN = Duration.ofDays(3);
  static final int PAGES = 20;
  static final long POLL_MS = 100;
  /** Before the engine starts, the checkpoints are looked for this often, so its start is seen within this. */
  private static final long START_POLL_MS = 20;
  private static final long START_TIMEOUT_SECONDS = 120;
  private static final long PROGRESS_EVERY_SECONDS = 10;

  /**
   * One chunk of events, ids random, positions in {@code i} order. Event {@code i} is version {@code i / S + 1}
   * of stream {@code i % S}, so every stream's versions are consecutive; its type cycles through the stream's
   * versions: 7 of 10 PageViewed, 2 ButtonClicked, 1 FormSubmitted, all version 1 data as the schemas define it.
   * Parameters: metadata, the first occurredAt, the chunk's first and last {@code i}.
   */
  static final String FILL_SQL = """
      INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at,
                          recorded_at)
      SELECT gen_random_uuid(),
             'visitor-' || md5('flightdeck-bench-' || g.s)::uuid,
             g.i / %1$d + 1,
             CASE WHEN g.k < 7 THEN 'PageViewed' WHEN g.k < 9 THEN 'ButtonClicked' ELSE 'FormSubmitted' END,
             1,
             CASE WHEN g.k < 7 THEN jsonb_build_object('pageId', '/docs/page-' || lpad((g.i * 7919 %% %4$d)::text, 2, '0'))
                  WHEN g.k < 9 THEN jsonb_build_object('buttonId', 'cta-' || g.i %% 5)
                  ELSE jsonb_build_object('formId', CASE WHEN g.i %% 3 = 0 THEN 'contact' ELSE 'signup' END,
                                          'formData', jsonb_build_object('email', 'visitor-' || g.s || '@example.com',
                                                                         'plan', 'pro'))
             END,
             ?::jsonb,
             g.at,
             g.at + interval '15 milliseconds'
      FROM (SELECT i, i %% %1$d AS s, (i / %1$d + i %% %1$d) %% 10 AS k,
                   ?::timestamptz + make_interval(secs => (i * %2$d.0 / %3$d)::float8) AS at
            FROM generate_series(?::bigint, ?::bigint) AS i) g
      ORDER BY g.i""";

  /** The store as the phase filled it. */
  record Fill(long events, long head, double insertSeconds, double vacuumSeconds) {
  }

  /** The read models after the replay, next to what the store holds. */
  record Check(long pageViewed, long buttonClicked, long formSubmitted, long visitorEvents, long visitors,
               long eventCounts, long pageViews, long uniqueVisitors, long pageVisitors, long formRows,
               long deadLetters) {

    List<String> problems(long events) {
      List<String> problems = new ArrayList<>();
      if (pageViewed + buttonClicked + formSubmitted != events) {
        problems.add("the store holds " + (pageViewed + buttonClicked + formSubmitted) + " events, not " + events);
      }
      if (visitorEvents != events) {
        problems.add("visitor_activity counts " + visitorEvents + " events, not " + events);
      }
      if (visitors != Math.min(STREAMS, events)) {
        problems.add("visitor_activity has " + visitors + " visitors, not " + Math.min(STREAMS, events));
      }
      if (eventCounts != events) {
        problems.add("event_counts adds up to " + eventCounts + ", not " + events);
      }
      if (pageViews != pageViewed) {
        problems.add("page_stats counts " + pageViews + " views of " + pageViewed + " PageViewed events");
      }
      if (uniqueVisitors != pageVisitors) {
        problems.add("page_stats counts " + uniqueVisitors + " unique visitors, page_visitors holds " + pageVisitors);
      }
      if (formRows != formSubmitted) {
        problems.add("form_submissions holds " + formRows + " rows of " + formSubmitted + " FormSubmitted events");
      }
      if (deadLetters != 0) {
        problems.add(deadLetters + " dead letters");
      }
      return problems;
    }
  }

  /**
   * What the replay took.
   *
   * @param batchSize the gateway's projections.batchSize
   * @param seconds from the engine's start until every checkpoint was at the head
   * @param readyAfterSeconds when the gateway answered ready, from the engine's start
   * @param reachedAfterSeconds per projection, when its checkpoint was first seen at the head
   * @param backendCpuSeconds per projection, the CPU its PostgreSQL backend (its runner's connection) used
   * @param cpu cores used on average over the replay ({@code generator} is this benchmark's own JVM)
   * @param gatewayThreads the gateway's cores over the replay by kind of thread
   */
  record Result(Fill fill, int batchSize, double seconds, double readyAfterSeconds,
                Map<String, Double> reachedAfterSeconds, Map<String, Double> backendCpuSeconds, CpuProbe.Usage cpu,
                Map<String, Double> gatewayThreads, Check check, int gatewayExit) {

    double eventsPerSecond() {
      return fill.events() / seconds;
    }

    List<String> problems() {
      List<String> problems = new ArrayList<>(check.problems(fill.events()));
      if (gatewayExit != 0) {
        problems.add("the gateway exited with " + gatewayExit + " after SIGTERM (expected 0)");
      }
      return problems;
    }
  }

  /** What the monitor saw while the projections replayed. */
  private record Progress(double seconds, Map<String, Double> reachedAfter, Map<String, Double> backendCpu,
                          CpuProbe.Usage cpu, Map<String, Double> gatewayThreads, long engineStartNanos) {
  }

  private final Vertx vertx;
  private final BenchOptions options;
  private final BenchDatabases databases;
  private final long postmasterPid;
  private final Path workDir;
  private final List<String> names = ReadModels.projections().stream().map(Projection::name).toList();

  RebuildPhase(Vertx vertx, BenchOptions options, BenchDatabases databases, long postmasterPid, Path workDir) {
    this.vertx = vertx;
    this.options = options;
    this.databases = databases;
    this.postmasterPid = postmasterPid;
    this.workDir = workDir;
  }

  Future<Result> run() {
    long events = options.rebuildEvents();
    System.out.println("rebuild of every projection over " + events + " stored events: filling a fresh database");
    return GatewayUnderTest.projectionsConfig(vertx).compose(config -> {
      if (!config.enabled()) {
        return Future.failedFuture(new IllegalStateException(
            "projections are disabled for the gateway (FLIGHTDECK_PROJECTIONS_ENABLED?): nothing would rebuild"));
      }
      return databases.createFresh("rebuild").compose(url -> fillAndReplay(url, events, config.batchSize())
          .eventually(() -> databases.drop(url)));
    });
  }

  private Future<Result> fillAndReplay(String url, long events, int batchSize) {
    return onThread(vertx, "fill", () -> fill(url, events))
        .onSuccess(f -> System.out.println("  stored " + f.events() + " events"
            + BenchText.num(" in %.1f s", f.insertSeconds()) + BenchText.num(" (%.0f/s)", f.events() / f.insertSeconds())
            + BenchText.num(", VACUUM ANALYZE %.1f s; starting the gateway", f.vacuumSeconds())))
        .compose(fill -> GatewayUnderTest.launch(vertx, options.jar(), url, workDir.resolve("gateway-rebuild.log"))
            .compose(gateway -> replay(gateway, url, fill, batchSize)));
  }

  private Future<Result> replay(GatewayUnderTest gateway, String url, Fill fill, int batchSize) {
    Monitor monitor = new Monitor(url, fill.head(), new CpuProbe(0, gateway.pid(), postmasterPid), gateway.pid(),
        START_TIMEOUT_SECONDS, timeoutSeconds(fill.events()));
    Future<Progress> watched = monitor.start(vertx);
    long[] readyAt = {-1};
    Future<Progress> replayed = gateway.whenReady()
        .compose(g -> {
          readyAt[0] = System.nanoTime();
          return watched;
        });
    return replayed.transform(ar -> {
      monitor.stop();
      return gateway.stop().transform(stopped -> {
        if (ar.failed()) {
          return Future.failedFuture(ar.cause());
        }
        Progress p = ar.result();
        int exit = stopped.succeeded() ? stopped.result() : -1;
        double readyAfter = readyAt[0] < 0 ? Double.NaN : (readyAt[0] - p.engineStartNanos()) / 1e9;
        return onThread(vertx, "check", () -> check(url)).map(check -> new Result(fill, batchSize, p.seconds(),
            readyAfter, p.reachedAfter(), p.backendCpu(), p.cpu(), p.gatewayThreads(), check, exit));
      });
    }).onSuccess(r -> System.out.println("  " + summary(r)));
  }

  static String summary(Result r) {
    StringBuilder sb = new StringBuilder(BenchText.num("%.0f events/s", r.eventsPerSecond())
        + BenchText.num(" (%.1f s for all projections", r.seconds()) + "; ");
    r.reachedAfterSeconds().forEach((name, s) -> sb.append(name).append(BenchText.num(" %.1f s, ", s)));
    sb.append("CPU gateway ").append(Report.cores(r.cpu().gateway())).append(" (").append(Report.threads(r))
        .append("), PostgreSQL ").append(Report.cores(r.cpu().postgres())).append(", machine ")
        .append(Report.cores(r.cpu().machine())).append("; PostgreSQL backend CPU s:");
    r.backendCpuSeconds().forEach((name, s) -> sb.append(' ').append(name).append(BenchText.num(" %.1f", s)));
    sb.append(BenchText.num("; ready %.1f s after the engine started)", r.readyAfterSeconds()));
    List<String> problems = r.problems();
    sb.append(problems.isEmpty() ? "; read models complete" : "; problems: " + String.join("; ", problems));
    return sb.toString();
  }

  /** A generous bound: 1,000 events/s plus two minutes, far below anything a working engine does. */
  static long timeoutSeconds(long events) {
    return 120 + events / 1000;
  }

  private Fill fill(String url, long events) throws SQLException {
    // the first event's occurredAt: the span ends an hour before now, so no event is from the future
    OffsetDateTime base = Instant.now().minus(SPAN).minus(Duration.ofHours(1)).atOffset(ZoneOffset.UTC);
    String metadata = "{\"site\": \"demo\", \"userAgent\": \"" + EventBodies.USER_AGENT
        + "\", \"clientIp\": \"127.0.0.0\"}";
    String sql = FILL_SQL.formatted(STREAMS, SPAN.toSeconds(), events, PAGES);
    try (Connection c = databases.open(url)) {
      long t = System.nanoTime();
      try (PreparedStatement st = c.prepareStatement(sql)) {
        for (long lo = 0; lo < events; lo += CHUNK) {
          st.setString(1, metadata);
          st.setObject(2, base);
          st.setLong(3, lo);
          st.setLong(4, Math.min(events, lo + CHUNK) - 1);
          st.executeUpdate();
        }
      }
      double insert = (System.nanoTime() - t) / 1e9;
      t = System.nanoTime();
      long head;
      long count;
      try (Statement st = c.createStatement()) {
        // what autovacuum does to a table this size in production: hint bits, visibility map, statistics
        st.execute("VACUUM (ANALYZE) events");
        try (ResultSet rs = st.executeQuery("SELECT COALESCE(max(position), 0), count(*) FROM events")) {
          rs.next();
          head = rs.getLong(1);
          count = rs.getLong(2);
        }
      }
      double vacuum = (System.nanoTime() - t) / 1e9;
      if (count != events) {
        throw new IllegalStateException("filled " + count + " events instead of " + events);
      }
      databases.checkpoint(); // so the replay does not pay for the fill's WAL
      return new Fill(count, head, insert, vacuum);
    }
  }

  private Check check(String url) throws SQLException {
    try (Connection c = databases.open(url); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("""
             SELECT (SELECT count(*) FROM events WHERE type = 'PageViewed'),
                    (SELECT count(*) FROM events WHERE type = 'ButtonClicked'),
                    (SELECT count(*) FROM events WHERE type = 'FormSubmitted'),
                    (SELECT COALESCE(sum(page_views + button_clicks + form_submissions), 0) FROM visitor_activity),
                    (SELECT count(*) FROM visitor_activity),
                    (SELECT COALESCE(sum(count), 0) FROM event_counts),
                    (SELECT COALESCE(sum(views), 0) FROM page_stats),
                    (SELECT COALESCE(sum(unique_visitors), 0) FROM page_stats),
                    (SELECT count(*) FROM page_visitors),
                    (SELECT count(*) FROM form_submissions),
                    (SELECT count(*) FROM dead_letters)""")) {
      rs.next();
      return new Check(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
          rs.getLong(7), rs.getLong(8), rs.getLong(9), rs.getLong(10), rs.getLong(11));
    }
  }

  /**
   * Blocking work on a thread of its own rather than a Vert.x worker: a fill or a replay runs for minutes, and
   * Vert.x would report a worker blocked that long. The answer comes back on the caller's context.
   */
  static <T> Future<T> onThread(Vertx vertx, String name, Callable<T> work) {
    CompletableFuture<T> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        done.complete(work.call());
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }, "flightdeck-bench-" + name);
    t.setDaemon(true);
    t.start();
    return Future.fromCompletionStage(done, vertx.getOrCreateContext());
  }

  /**
   * Polls the checkpoints on its own connection: every {@value #START_POLL_MS} ms until the engine has created
   * them (its start), then every {@value #POLL_MS} ms until all are at the head. CPU is sampled at both ends.
   */
  private final class Monitor {

    private final String url;
    private final long head;
    private final CpuProbe probe;
    private final long gatewayPid;
    private final long startTimeoutNanos;
    private final long timeoutNanos;
    private volatile boolean stopped;

    Monitor(String url, long head, CpuProbe probe, long gatewayPid, long startTimeoutSeconds, long timeoutSeconds) {
      this.url = url;
      this.head = head;
      this.probe = probe;
      this.gatewayPid = gatewayPid;
      this.startTimeoutNanos = TimeUnit.SECONDS.toNanos(startTimeoutSeconds);
      this.timeoutNanos = TimeUnit.SECONDS.toNanos(timeoutSeconds);
    }

    Future<Progress> start(Vertx vertx) {
      return onThread(vertx, "rebuild-monitor", this::watch);
    }

    void stop() {
      stopped = true;
    }

    private Progress watch() throws SQLException, InterruptedException {
      long launched = System.nanoTime();
      try (Connection c = databases.open(url);
           PreparedStatement positions = c.prepareStatement("SELECT name, position FROM projection_checkpoints")) {
        long start = -1;
        CpuProbe.Sample cpuStart = null;
        Map<String, Long> threadsStart = Map.of();
        Map<String, Long> reached = new LinkedHashMap<>();
        long nextProgress = 0;
        while (!stopped) {
          long now = System.nanoTime();
          Map<String, Long> at = read(positions);
          if (start < 0 && !at.isEmpty()) {
            start = now;
            cpuStart = probe.sample();
            threadsStart = CpuProbe.jvmThreads(gatewayPid);
            nextProgress = start + TimeUnit.SECONDS.toNanos(PROGRESS_EVERY_SECONDS);
          }
          if (start < 0) {
            if (now - launched > startTimeoutNanos) {
              throw new IllegalStateException("the projection engine did not create its checkpoints within "
                  + TimeUnit.NANOSECONDS.toSeconds(startTimeoutNanos) + " s of the gateway's launch");
            }
            Thread.sleep(START_POLL_MS);
            continue;
          }
          for (String name : names) {
            if (!reached.containsKey(name) && at.getOrDefault(name, 0L) >= head) {
              reached.put(name, now);
            }
          }
          if (reached.size() == names.size()) {
            return progress(c, start, now, cpuStart, threadsStart, reached);
          }
          if (now - start > timeoutNanos) {
            throw new IllegalStateException("the projections did not reach the head (" + head + ") within "
                + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s; checkpoints: " + at);
          }
          if (now >= nextProgress) {
            System.out.println(BenchText.num("  %.0f s: checkpoints ", (now - start) / 1e9) + at + " of " + head);
            nextProgress += TimeUnit.SECONDS.toNanos(PROGRESS_EVERY_SECONDS);
          }
          Thread.sleep(POLL_MS);
        }
        throw new IllegalStateException("the rebuild monitor was stopped");
      }
    }

    private Map<String, Long> read(PreparedStatement positions) throws SQLException {
      Map<String, Long> at = new LinkedHashMap<>();
      try (ResultSet rs = positions.executeQuery()) {
        while (rs.next()) {
          at.put(rs.getString(1), rs.getLong(2));
        }
      }
      return at;
    }

    private Progress progress(Connection c, long start, long end, CpuProbe.Sample cpuStart,
                              Map<String, Long> threadsStart, Map<String, Long> reached) throws SQLException {
      CpuProbe.Sample cpuEnd = probe.sample();
      Map<String, Long> threadsEnd = CpuProbe.jvmThreads(gatewayPid);
      double wall = end - start;
      Map<String, Double> threads = new LinkedHashMap<>();
      threadsEnd.forEach((kind, nanos) -> threads.put(kind, (nanos - threadsStart.getOrDefault(kind, 0L)) / wall));
      Map<String, Double> reachedAfter = new LinkedHashMap<>();
      reached.forEach((name, t) -> reachedAfter.put(name, (t - start) / 1e9));
      return new Progress(wall / 1e9, Collections.unmodifiableMap(reachedAfter), backendCpu(c),
          CpuProbe.between(cpuStart, cpuEnd), Collections.unmodifiableMap(threads), start);
    }

    /** Each runner's PostgreSQL backend, born when the engine started: its whole CPU time is the replay's. */
    private Map<String, Double> backendCpu(Connection c) throws SQLException {
      Map<String, Double> cpu = new LinkedHashMap<>();
      try (Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("""
               SELECT substr(application_name, length('flightdeck-projection-') + 1), pid FROM pg_stat_activity
               WHERE datname = current_database() AND application_name LIKE 'flightdeck-projection-%'""")) {
        while (rs.next()) {
          long nanos = CpuProbe.processCpu(rs.getLong(2));
          cpu.merge(rs.getString(1), nanos < 0 ? Double.NaN : nanos / 1e9, Double::sum);
        }
      }
      return Collections.unmodifiableMap(cpu);
    }
  }
}
