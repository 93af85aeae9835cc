package io.flightdeck.gateway.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Samples every projection's lag behind the store head on a fixed schedule inside a measured window, on its own
 * JDBC connection and its own thread (not the load generator's event loop, whose timing it would disturb). The
 * lag of one projection is how long ago the store recorded the first event the projection has not applied yet
 * (0 when it is caught up), by PostgreSQL's clock, so it includes the append's own commit.
 */
final class LagSampler {

  static final long INTERVAL_MS = 50;
  /** Lags above an hour are recorded as an hour. */
  private static final long MAX_LAG_MICROS = 3_600_000_000L;

  /** The statement each sample runs: one row per projection. */
  static final String QUERY = """
      SELECT name, COALESCE(EXTRACT(EPOCH FROM now() - (SELECT e.recorded_at FROM events e
                                                       WHERE e.position > c.position
                                                       ORDER BY e.position LIMIT 1)), 0)::float8 AS lag
      FROM projection_checkpoints c""";

  /** {@link #QUERY} as it is sent: marked as the benchmark's own, so the phase's PostgreSQL time leaves it out. */
  static final String SQL = PgTime.OWN + "\n" + QUERY;

  /**
   * What the samples showed.
   *
   * @param maxOverProjections per sample, the largest lag of any projection, in microseconds
   * @param perProjection each projection's lag, in microseconds
   * @param samples samples taken inside the window
   * @param missed scheduled samples skipped because the one before was still running (the query took longer than
   *     the interval)
   * @param slowestQueryMs the longest one sample's query took
   * @param errors samples that failed; {@code firstError} says why
   */
  record Result(Histogram maxOverProjections, Map<String, Histogram> perProjection, long samples, long missed,
                double slowestQueryMs, long errors, String firstError) {

    double p99Ms() {
      return BenchText.ms(maxOverProjections, 99);
    }
  }

  private final Connection conn;
  private final Thread thread;
  private final CompletableFuture<Result> done = new CompletableFuture<>();
  private volatile long from = Long.MAX_VALUE;
  private volatile long to = Long.MAX_VALUE;
  private volatile boolean stopped;

  private final Histogram max = new Histogram(MAX_LAG_MICROS, 3);
  private final Map<String, Histogram> perProjection = new TreeMap<>();
  private long samples;
  private long missed;
  private long slowestQueryNanos;
  private long errors;
  private String firstError;

  private LagSampler(Connection conn) {
    this.conn = conn;
    this.thread = new Thread(this::loop, "flightdeck-bench-lag-sampler");
    this.thread.setDaemon(true);
  }

  /** Starts the thread on an open connection (which it closes when done); it waits for the window to open. */
  static LagSampler start(Connection conn) {
    LagSampler s = new LagSampler(conn);
    s.thread.start();
    return s;
  }

  /** The window opened at {@code nanoTime} ({@link System#nanoTime()}): the first sample is due then. */
  void open(long nanoTime) {
    from = nanoTime;
    LockSupport.unpark(thread);
  }

  /** The window closed: no sample is due at or after {@code nanoTime}. */
  void close(long nanoTime) {
    to = nanoTime;
    LockSupport.unpark(thread);
  }

  /** Ends the sampling whether or not the window closed (a failed phase); closes the connection. */
  Future<Result> stop(Vertx vertx) {
    stopped = true;
    LockSupport.unpark(thread);
    return Future.fromCompletionStage(done, vertx.getOrCreateContext());
  }

  private void loop() {
    try (PreparedStatement st = conn.prepareStatement(SQL)) {
      long tick = 0;
      while (!stopped) {
        long start = from;
        if (start == Long.MAX_VALUE) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
          continue;
        }
        long due = start + tick * TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS);
        if (due >= to) {
          break;
        }
        long now = System.nanoTime();
        if (now < due) {
          LockSupport.parkNanos(due - now);
          continue;
        }
        sample(st);
        // fixed rate: a sample that overran its interval skips the ticks it covered instead of bunching up
        long after = System.nanoTime();
        long next = (after - start) / TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS) + 1;
        missed += Math.max(0, next - tick - 1);
        tick = next;
      }
      done.complete(result());
    } catch (SQLException | RuntimeException e) {
      done.completeExceptionally(new IllegalStateException("the lag sampler failed: " + e.getMessage(), e));
    } finally {
      try {
        conn.close();
      } catch (SQLException e) {
        // the phase is over either way
      }
    }
  }

  private void sample(PreparedStatement st) {
    long t = System.nanoTime();
    try (ResultSet rs = st.executeQuery()) {
      long worst = 0;
      while (rs.next()) {
        long micros = Math.min(MAX_LAG_MICROS, Math.max(0, Math.round(rs.getDouble("lag") * 1e6)));
        perProjection.computeIfAbsent(rs.getString("name"), n -> new Histogram(MAX_LAG_MICROS, 3))
            .recordValue(micros);
        worst = Math.max(worst, micros);
      }
      max.recordValue(worst);
      samples++;
    } catch (SQLException e) {
      errors++;
      if (firstError == null) {
        firstError = e.getMessage();
      }
    }
    slowestQueryNanos = Math.max(slowestQueryNanos, System.nanoTime() - t);
  }

  private Result result() {
    return new Result(max, Collections.unmodifiableMap(new TreeMap<>(perProjection)), samples, missed, slowestQueryNanos / 1e6, errors,
        firstError);
  }
}
