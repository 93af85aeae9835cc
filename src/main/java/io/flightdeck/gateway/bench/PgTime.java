package io.flightdeck.gateway.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where PostgreSQL's time went inside one phase's measured window: the execution time of the statements run in
 * the phase's database, from pg_stat_statements (which the benchmark's own server preloads), summed by what they
 * do. Reset when the window opens, read when it closes, on the phase's own JDBC connection, on the worker thread
 * the window's edges are published from. Execution time is wall time inside the server: it includes waiting for
 * locks (the append's position lock), so it can add up to more than the CPU PostgreSQL used; it leaves out the
 * WAL flush at commit, which the server makes after the COMMIT statement pg_stat_statements times. That flush is
 * counted apart, cluster-wide, from pg_stat_wal: how many flushes, and their time where the server times them
 * ({@code track_wal_io_timing}, which the benchmark's own server turns on).
 */
final class PgTime implements AutoCloseable {

  /**
   * Starts every statement the benchmark itself runs in a phase's database while the window is open (the lag
   * sampler's, this class's own): pg_stat_statements keeps the comment in the statement's text, so
   * {@link #kindOf} can leave them out.
   */
  static final String OWN = "/* flightdeck-bench */";

  /** What a statement does, by its text. */
  enum Kind {
    APPEND("append"),
    VISITOR_ACTIVITY("visitor-activity"),
    PAGE_STATS("page-stats"),
    FORM_SUBMISSIONS("form-submissions"),
    EVENT_COUNTS("event-counts"),
    READS("event reads"),
    CHECKPOINTS("projection checkpoints"),
    OTHER("other");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /**
   * The window's execution time by kind, in milliseconds; {@code unavailable} says why there is none (then the
   * map is empty).
   */
  record Result(Map<Kind, Double> millis, String unavailable, WalFlushes wal) {

    static Result none(String why) {
      return new Result(Map.of(), why, WalFlushes.NONE);
    }

    /** Microseconds of one kind per unit of work (an acknowledged event). */
    double microsPer(Kind kind, double units) {
      return perUnit(millis.getOrDefault(kind, 0.0), units);
    }

    /** Microseconds of every kind together per unit of work. */
    double totalMicrosPer(double units) {
      return perUnit(millis.values().stream().mapToDouble(Double::doubleValue).sum(), units);
    }

    private static double perUnit(double millis, double units) {
      return units > 0 ? millis * 1000 / units : Double.NaN;
    }
  }

  /**
   * The WAL flushes (fsync or fdatasync of the WAL) the whole server made inside the window: every commit that
   * waits for its WAL waits for one. {@code count} is -1 when they were not counted (no pg_stat_wal, or no
   * pg_stat_statements, whose window they share), {@code millis} NaN when the server does not time them.
   */
  record WalFlushes(long count, double millis) {

    static final WalFlushes NONE = new WalFlushes(-1, Double.NaN);

    boolean counted() {
      return count >= 0;
    }

    /** Flushes per second over {@code seconds}; NaN when not counted. */
    double perSecond(double seconds) {
      return counted() ? count / seconds : Double.NaN;
    }

    /** Mean time of one flush in milliseconds; NaN when untimed or none. */
    double meanMs() {
      return count > 0 ? millis / count : Double.NaN;
    }

    WalFlushes minus(WalFlushes before) {
      return counted() && before.counted() ? new WalFlushes(count - before.count, millis - before.millis) : NONE;
    }
  }

  /** pg_stat_wal (PostgreSQL 14 and later): the server's WAL flushes so far, and their time if it is timed. */
  private static final String WAL = OWN + """
      SELECT wal_sync, CASE WHEN current_setting('track_wal_io_timing')::bool THEN wal_sync_time END
      FROM pg_stat_wal""";

  /** What the window's close reads: every statement run in the phase's database since the reset. */
  private static final String READ = OWN + """
      SELECT query, total_exec_time FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
                                                                          WHERE datname = current_database())""";

  private static final String RESET = OWN + """
      SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)""";

  private final Connection conn;
  /** Why nothing was measured (no preload, a failed reset or read), or null. */
  private volatile String unavailable;
  private volatile Result result;
  private volatile WalFlushes walAtReset = WalFlushes.NONE;

  private PgTime(Connection conn, String unavailable) {
    this.conn = conn;
    this.unavailable = unavailable;
  }

  /**
   * Installs the extension in the phase's database (its objects live there, not in the gateway's schema) and
   * checks the server collects: without {@code shared_preload_libraries = pg_stat_statements} the view refuses.
   * Takes ownership of {@code conn}. Blocks.
   */
  static PgTime open(Connection conn) {
    try (Statement st = conn.createStatement()) {
      st.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      st.executeQuery("SELECT 1 FROM pg_stat_statements LIMIT 1").close();
      return new PgTime(conn, null);
    } catch (SQLException e) {
      return new PgTime(conn, "pg_stat_statements is not available on this server: " + e.getMessage()
          .lines().findFirst().orElse(""));
    }
  }

  /** When the window opens. Blocks. */
  void reset() {
    if (unavailable != null) {
      return;
    }
    try (Statement st = conn.createStatement()) {
      st.executeQuery(RESET).close();
      walAtReset = wal(st);
    } catch (SQLException e) {
      unavailable = "resetting pg_stat_statements failed: " + e.getMessage();
    }
  }

  /** The server's WAL flushes so far (NONE before PostgreSQL 14, which has no pg_stat_wal). */
  private static WalFlushes wal(Statement st) throws SQLException {
    if (st.getConnection().getMetaData().getDatabaseMajorVersion() < 14) {
      return WalFlushes.NONE;
    }
    try (ResultSet rs = st.executeQuery(WAL)) {
      rs.next();
      double millis = rs.getDouble(2);
      return new WalFlushes(rs.getLong(1), rs.wasNull() ? Double.NaN : millis);
    }
  }

  /** When the window closes. Blocks. */
  void read() {
    if (unavailable != null) {
      return;
    }
    Map<Kind, Double> sums = new EnumMap<>(Kind.class);
    try (PreparedStatement ps = conn.prepareStatement(READ); ResultSet rs = ps.executeQuery();
         Statement st = conn.createStatement()) {
      while (rs.next()) {
        Kind kind = kindOf(rs.getString(1));
        if (kind != null) {
          sums.merge(kind, rs.getDouble(2), Double::sum);
        }
      }
      result = new Result(Collections.unmodifiableMap(sums), null, wal(st).minus(walAtReset));
    } catch (SQLException e) {
      unavailable = "reading pg_stat_statements failed: " + e.getMessage();
    }
  }

  Result result() {
    if (unavailable != null) {
      return Result.none(unavailable);
    }
    return result != null ? result : Result.none("the window did not close");
  }

  private static final Pattern FROM = Pattern.compile("\\bfrom\\b");
  private static final Pattern EVENTS = Pattern.compile("\\s+events\\b");
  private static final Pattern SUBQUERY = Pattern.compile("\\s*\\(");

  /**
   * A SELECT that reads the events first: its first FROM that names a table (not a subquery's parenthesis) names the
   * events table. A page of events ({@code store.EventPages}) selects from subqueries over the events.
   */
  private static boolean readsEvents(String q) {
    if (!q.stripLeading().startsWith("select")) {
      return false;
    }
    Matcher from = FROM.matcher(q);
    while (from.find()) {
      if (!SUBQUERY.matcher(q).region(from.end(), q.length()).lookingAt()) {
        return EVENTS.matcher(q).region(from.end(), q.length()).lookingAt();
      }
    }
    return false;
  }

  /**
   * The kind of a statement, by the tables it names; null for the benchmark's own statements ({@link #OWN}),
   * which are no part of the gateway's time.
   */
  static Kind kindOf(String query) {
    String q = query.toLowerCase(Locale.ROOT);
    if (q.startsWith(OWN)) {
      return null;
    }
    if (q.contains("insert into events")) {
      return Kind.APPEND;
    }
    // a projection reading the events after its checkpoint names the checkpoint table only to say where to start
    // (the checkpoint's lock, SELECT ... FOR UPDATE, reads the head of the events in a subquery: a checkpoint)
    if (readsEvents(q) && !q.contains("for update")) {
      return Kind.READS;
    }
    if (q.contains("projection_checkpoints") || q.contains("dead_letters")) {
      return Kind.CHECKPOINTS;
    }
    if (q.contains("visitor_activity")) {
      return Kind.VISITOR_ACTIVITY;
    }
    if (q.contains("page_visitors") || q.contains("page_stats")) {
      return Kind.PAGE_STATS;
    }
    if (q.contains("form_submissions")) {
      return Kind.FORM_SUBMISSIONS;
    }
    if (q.contains("event_counts")) {
      return Kind.EVENT_COUNTS;
    }
    if (q.contains("from events")) {
      return Kind.READS;
    }
    return Kind.OTHER;
  }

  @Override
  public void close() {
    try {
      conn.close();
    } catch (SQLException e) {
      // the phase is over; nothing to keep
    }
  }
}
