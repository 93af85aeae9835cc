package io.flightdeck.gateway.store;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import java.util.List;

/**
 * Every read of events is a page bounded twice: by a number of events (its {@code LIMIT}) and by bytes, so that
 * however large the events (ingest takes one of up to ingest.maxBodyBytes, metadata included), a page held in
 * memory stays near {@link #MAX_PAGE_BYTES}; it always holds at least one event. A page stopped by either bound
 * says so ({@link #more}), and its reader goes on after its last event: fewer events than the limit does not mean
 * the end.
 */
public final class EventPages {

  /** About how many bytes of events one read holds at most (one event more than this may pass it). */
  public static final int MAX_PAGE_BYTES = 8 * 1024 * 1024;

  /**
   * What a row costs to hold, near enough: its jsonb columns as stored, a compressed one (a large, repetitive value)
   * by its text, which is what it becomes once decoded, plus the other columns.
   */
  private static final String ROW_BYTES = """
      CASE WHEN pg_column_compression(data) IS NULL THEN pg_column_size(data) ELSE octet_length(data::text) END
        + CASE WHEN pg_column_compression(metadata) IS NULL THEN pg_column_size(metadata)
               ELSE octet_length(metadata::text) END
        + octet_length(stream_id) + octet_length(type) + 100""";

  private EventPages() {
  }

  /**
   * The events {@code where} (a condition on the events table) in {@code order} (a column), at most {@code $limit}
   * of them and, counted in that order, up to the first at which they hold {@link #MAX_PAGE_BYTES}. One scan: the
   * page's rows are read in order up to the limit, each with its size and the running total of sizes, and only those
   * whose running total before them is under the bound are returned; a value stored out of line is fetched only for
   * a row that is returned. Every row carries {@code bytes}, the running total through it: the last row's is what the
   * page holds, at least {@link #MAX_PAGE_BYTES} only when the bytes cut the page short.
   *
   * <p>One scan rather than a scan for the sizes and one for the rows up to the bound: with the bound a join, every
   * page read every row after its start; with it a subquery, planning the statement cost about 0.2 ms at each of the
   * live feed's and the projections' small reads (PostgreSQL plans these statements for their values each time).
   */
  public static String capped(String where, String order, int limitParam) {
    return sized("SELECT %s, %s AS size FROM events WHERE %s ORDER BY %s LIMIT $%d".formatted(
        PgEventStore.ENVELOPE_COLUMNS, ROW_BYTES, where, order, limitParam), order);
  }

  /**
   * A page of one stream as {@link #capped} reads it ({@code where} picks the stream and where the page starts, in
   * stream_version order), whatever plan PostgreSQL picks. Given {@code stream_id = $1 AND stream_version >= $2 ...
   * LIMIT $3}, the planner that expects few rows (a table without statistics, a stream longer than its estimate)
   * finds every row of the stream after $2 with a bitmap scan and sorts them for the first $3: a page of a stream of
   * 100,000 events read all 100,000, and a walk through it 5,000,000. So the page is read where it must be when the
   * versions have no gap (the gateway writes none): below {@code end}, the first version a full page would not
   * reach (an expression over the parameters), so that any plan reads at most $limit rows. Only when those rows do
   * not fill the page (the stream ends there, or a writer that bypassed the gateway left a gap) are the rest read
   * from {@code end} on.
   */
  public static String cappedStream(String where, String end, int limitParam) {
    return cappedStream(where, end, limitParam, "true");
  }

  /**
   * {@link #cappedStream(String, String, int)} up to the first event {@code until} (a condition on the events table
   * that holds for a prefix of the stream, such as {@code recorded_at <= $3}) is false for: it is applied to the
   * page's rows, not to the scans, so a page it cuts short is not taken for a gap (and the rest of the stream read).
   */
  public static String cappedStream(String where, String end, int limitParam, String until) {
    String columns = "%s, %s AS size".formatted(PgEventStore.ENVELOPE_COLUMNS, ROW_BYTES);
    return sized("""
        SELECT * FROM (
          WITH near AS (SELECT %1$s FROM events WHERE %2$s AND stream_version < %3$s
                        ORDER BY stream_version LIMIT $%4$d)
          SELECT * FROM near
          UNION ALL
          (SELECT %1$s FROM events WHERE %2$s AND stream_version >= %3$s
           ORDER BY stream_version LIMIT $%4$d - (SELECT count(*) FROM near))) stream
        WHERE %5$s""".formatted(columns, where, end, limitParam, until), "stream_version");
  }

  /** {@code rows} (the page's rows in {@code order}, each with its {@code size}), cut where they hold the bound. */
  private static String sized(String rows, String order) {
    return """
        SELECT %1$s, bytes
        FROM (SELECT sized.*, sum(size) OVER (ORDER BY %2$s ROWS UNBOUNDED PRECEDING) AS bytes
              FROM (%3$s) sized) page
        WHERE bytes - size < %4$d
        ORDER BY %2$s""".formatted(PgEventStore.ENVELOPE_COLUMNS, order, rows, MAX_PAGE_BYTES);
  }

  /** Whether a page of {@code limit} read by a {@link #capped} query may have more behind it: it was full or cut. */
  public static boolean more(RowSet<Row> rows, int limit) {
    return more(rows.rowCount(), bytes(rows), limit);
  }

  private static boolean more(int events, long bytes, int limit) {
    return events == limit || bytes >= MAX_PAGE_BYTES;
  }

  /** The bytes a page read by a {@link #capped} query holds, as it counts them (its last row's); 0 when empty. */
  public static long bytes(RowSet<Row> rows) {
    long bytes = 0;
    for (Row row : rows) {
      bytes = row.getLong("bytes");
    }
    return bytes;
  }

  /**
   * A page of events in order, holding about {@code bytes}; {@code more}: it stopped at a bound, and more may follow
   * right after its last.
   */
  public record Page(List<EventEnvelope> events, boolean more, long bytes) {

    static Page of(RowSet<Row> rows, int limit) {
      long bytes = EventPages.bytes(rows);
      return new Page(PgEventStore.envelopes(rows), EventPages.more(rows.rowCount(), bytes, limit), bytes);
    }
  }
}
