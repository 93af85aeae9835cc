package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.store.EventPages;

/** The read models' DML: each projection's batch upsert, and the queries the API serves. */
final class ReadModelSql {

  private ReadModelSql() {
  }

  /**
   * Inserts the rows of visitors whose first event is in the batch ({@link
   * io.flightdeck.gateway.projection.Projection#applyFirstTry}): no row can be there yet, so the insert skips the
   * conflict check, which costs a descent of the primary key's index per row.
   */
  static final String INSERT_VISITORS = """
      INSERT INTO visitor_activity AS v (stream_id, site, first_seen, last_seen, page_views, button_clicks,
                                         form_submissions, last_page, last_position, last_page_position)
      SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[],
                           $6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::bigint[])
      """;

  /**
   * Adds a batch's per-visitor fold. Counters add up and first/last seen take the extremes, whatever the order;
   * the last page moves only forward in the position of page views ({@code last_page_position}), so a dead letter
   * retried later cannot set an older page, and a retried page view does become the last page when only other
   * kinds of event came after it. A row from before V7 has no {@code last_page_position}: its last applied event's
   * position stands in for it (the rule before V7), unless it has no page at all.
   */
  static final String UPSERT_VISITORS = INSERT_VISITORS + """
      ON CONFLICT (stream_id) DO UPDATE SET
        site = COALESCE(v.site, EXCLUDED.site),
        first_seen = LEAST(v.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(v.last_seen, EXCLUDED.last_seen),
        page_views = v.page_views + EXCLUDED.page_views,
        button_clicks = v.button_clicks + EXCLUDED.button_clicks,
        form_submissions = v.form_submissions + EXCLUDED.form_submissions,
        last_page = CASE WHEN %1$s THEN EXCLUDED.last_page ELSE v.last_page END,
        last_page_position = CASE WHEN %1$s THEN EXCLUDED.last_page_position ELSE v.last_page_position END,
        last_position = GREATEST(v.last_position, EXCLUDED.last_position)""".formatted("""
          EXCLUDED.last_page IS NOT NULL
          AND (v.last_page IS NULL
               OR EXCLUDED.last_page_position > COALESCE(v.last_page_position, v.last_position))""");

  /**
   * Adds a batch's views ($5 per visitor, page and day). A visitor is a new unique visitor of a page and day
   * exactly when its page_visitors row did not exist yet. A visitor whose first event is in the batch ($7, see
   * {@link io.flightdeck.gateway.projection.Projection#applyFirstTry}) has no row yet: its rows are inserted
   * without the conflict check. Both tables key a page by page_key ($6, see {@link PageKey}): a page id may be
   * longer than an index entry can be.
   */
  static final String UPSERT_PAGE_STATS = """
      WITH visits AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[], $6::bytea[], $7::bool[])
          AS t(site, page_id, day, stream_id, views, page_key, new_visitor)
      ),
      first_visits AS (
        INSERT INTO page_visitors (site, page_id, page_key, day, stream_id)
        SELECT site, page_id, page_key, day, stream_id FROM visits WHERE new_visitor
        RETURNING site, page_key, day
      ),
      later_visits AS (
        INSERT INTO page_visitors (site, page_id, page_key, day, stream_id)
        SELECT site, page_id, page_key, day, stream_id FROM visits WHERE NOT new_visitor
        ON CONFLICT DO NOTHING
        RETURNING site, page_key, day
      ),
      fresh AS (
        SELECT * FROM first_visits UNION ALL SELECT * FROM later_visits
      )
      INSERT INTO page_stats AS p (site, page_id, page_key, day, views, unique_visitors)
      SELECT v.site, v.page_id, v.page_key, v.day, v.views, COALESCE(f.visitors, 0)
      FROM (SELECT site, min(page_id) AS page_id, page_key, day, sum(views)::bigint AS views
            FROM visits GROUP BY site, page_key, day) v
      LEFT JOIN (SELECT site, page_key, day, count(*) AS visitors FROM fresh GROUP BY site, page_key, day) f
        USING (site, page_key, day)
      ON CONFLICT (site, day, page_key) DO UPDATE SET
        views = p.views + EXCLUDED.views,
        unique_visitors = p.unique_visitors + EXCLUDED.unique_visitors""";

  static final String INSERT_FORM_SUBMISSIONS = """
      INSERT INTO form_submissions (form_id, position, event_id, stream_id, site, fields, submitted_at)
      SELECT form_id, position, event_id, stream_id, site, fields::jsonb, submitted_at
      FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
        AS t(form_id, position, event_id, stream_id, site, fields, submitted_at)
      ON CONFLICT (form_id, position) DO NOTHING""";

  static final String UPSERT_EVENT_COUNTS = """
      INSERT INTO event_counts AS c (minute, type, count)
      SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[])
      ON CONFLICT (minute, type) DO UPDATE SET count = c.count + EXCLUDED.count""";

  // ---- queries

  static final String VISITOR = """
      SELECT stream_id, site, first_seen, last_seen, page_views, button_clicks, form_submissions, last_page,
             last_position
      FROM visitor_activity WHERE stream_id = $1""";

  /**
   * One page of a stream's events recorded up to a time, for the temporal fold: at most $4 events and about
   * {@link EventPages#MAX_PAGE_BYTES}, like every read of events. A full page ends at version $2 + $4 (the largest
   * version, should that overflow).
   */
  static final String STREAM_UNTIL = EventPages.cappedStream("stream_id = $1 AND stream_version > $2",
      "LEAST($2, 9223372036854775806 - $4) + $4 + 1", 4, "recorded_at <= $3");

  /**
   * A site's page stats over a range of days, in one of the orders of a day's rows ({@link PagesCursor.Order}).
   * The {@code *_AFTER} queries go on after a cursor: $5 its day, then (most viewed first) $6 its views, and its
   * page key. A cursor names its page by key, so the page id it stopped at is looked up: a page's id is unique
   * in a site's day, and it is the id that breaks a tie of views. Each query answers at least one row, whose
   * {@code rebuilt} is when the last rebuild of page-stats began (null: never), read in the same snapshot as the
   * rows: a cursor carries it, and one from before a rebuild is refused ({@link PagesCursor.Expired}). When no
   * row of the range follows, that row's page columns are null. {@code day >= $5} repeats what the OR says, as a
   * bound the key's index can start at: without it a page after a cursor on the last of 100 days of 20,000 pages
   * each read the 2,000,000 rows before it (0.6 s), so a walk of a long range read them again for every page.
   * Most viewed first still sorts all the rows of the day a page starts in (the key's index gives them by page key):
   * 20,000 pages in a day cost about 10 ms a page, 1,000,000 about 1.3 s (measured with EXPLAIN ANALYZE, not make
   * bench). An index on (site, day, views DESC, page_id) would make that 0.3 ms, but it cannot hold a page id over
   * about 2,700 bytes (see V5: the projection would dead-letter the view), and it made an update of 500 scattered
   * rows' views about 40% slower (15 ms to 21 ms). order=page sorts the day's rows too (by page id, not key).
   */
  private static final String PAGES_OF_RANGE = """
      SELECT page_id, page_key, day, views, unique_visitors FROM page_stats
      WHERE site = $1 AND day BETWEEN $2 AND $3
      """;

  private static final String CURSOR_PAGE_ID = "(SELECT page_id FROM page_stats WHERE site = $1 AND day = $5 "
      + "AND page_key = $%d)";

  private static final String BY_VIEWS = "day, views DESC, page_id";

  private static final String BY_PAGE = "day, page_id";

  static final String PAGES = stamped(PAGES_OF_RANGE, BY_VIEWS);

  static final String PAGES_AFTER = stamped(PAGES_OF_RANGE + """
        AND day >= $5 AND (day > $5 OR day = $5 AND (views < $6 OR views = $6 AND page_id > %s))
      """.formatted(CURSOR_PAGE_ID.formatted(7)), BY_VIEWS);

  static final String PAGES_BY_PAGE = stamped(PAGES_OF_RANGE, BY_PAGE);

  static final String PAGES_BY_PAGE_AFTER = stamped(PAGES_OF_RANGE + """
        AND day >= $5 AND (day > $5 OR day = $5 AND page_id > %s)
      """.formatted(CURSOR_PAGE_ID.formatted(6)), BY_PAGE);

  /** The rows of {@code range} in {@code order}, at most $4, each with page-stats' last rebuild; one row at least. */
  private static String stamped(String range, String order) {
    return """
        SELECT r.rebuilt, p.*
        FROM (SELECT (SELECT rebuild_started FROM projection_checkpoints WHERE name = '%s') AS rebuilt) r
        LEFT JOIN LATERAL (%sORDER BY %s LIMIT $4) p ON true
        ORDER BY %s""".formatted(PageStatsProjection.NAME, range, order, "p." + order.replace(", ", ", p."));
  }

  /**
   * A form's submissions before position $2, newest first: at most $3 and, as a page of events, up to the first at
   * which they hold about {@link EventPages#MAX_PAGE_BYTES} (a submission's fields are up to an event's data, 32 KiB,
   * so a page of 1,000 could be 32 MB, and more once decoded). {@code page_rows}: how many of the $3 there were,
   * those the bytes cut off included, so the caller knows whether any follow.
   */
  /**
   * For the rest of the transaction, a plan that must sort costs more than any that reads an index in order: a page
   * keyset-read by (key, position) is then read from the index, whatever the planner expects of the key's rows.
   */
  static final String IN_KEY_ORDER = "SET LOCAL enable_sort = off";

  static final String FORM_SUBMISSIONS = """
      SELECT position, event_id, stream_id, site, fields, submitted_at, page_rows
      FROM (SELECT sized.*, sum(size) OVER (ORDER BY position DESC ROWS UNBOUNDED PRECEDING) AS bytes,
                   count(*) OVER () AS page_rows
            FROM (SELECT position, event_id, stream_id, site, fields, submitted_at,
                         CASE WHEN pg_column_compression(fields) IS NULL THEN pg_column_size(fields)
                              ELSE octet_length(fields::text) END
                           + octet_length(stream_id) + COALESCE(octet_length(site), 0) + 100 AS size
                  FROM form_submissions WHERE form_id = $1 AND position < $2
                  ORDER BY position DESC LIMIT $3) sized) page
      WHERE bytes - size < %d
      ORDER BY position DESC""".formatted(EventPages.MAX_PAGE_BYTES);

  /** About how many bytes of JSON one answer of event counts holds at most (one minute's rows more may pass it). */
  static final int MAX_COUNTS_BYTES = 1024 * 1024;

  /**
   * Counts per minute in [$1, $2) of the $3 types with the most events in that range; every other type's are summed
   * per minute under a null type. A site may allow any custom type name, so the types in a range are the clients'
   * choice; the answer is at most (minutes x ($3 + 1)) rows whatever they chose. other_types: how many were summed.
   * Only the minutes at or after $4 are answered, and of those, whole minutes up to the first at which the rows
   * hold about {@link #MAX_COUNTS_BYTES} as JSON (a row's size: its type's bytes and about 64 for the rest): 24 hours
   * of 101 type names of 200 characters each would be about 125 MB, held once as rows, once as JSON objects and once
   * as text. The top types are those of the whole range, whatever $4. {@code rows_left}: the rows at or after $4,
   * those the bytes cut off included, so the caller knows whether any follow. One row at least, its minute null when
   * no count is left, so other_types comes with every answer.
   */
  static final String EVENT_COUNTS = """
      WITH in_range AS (
        SELECT minute, type, count FROM event_counts WHERE minute >= $1 AND minute < $2
      ),
      top AS (
        SELECT type FROM in_range GROUP BY type ORDER BY sum(count) DESC, type LIMIT $3
      ),
      counted AS (
        SELECT c.minute, t.type, sum(c.count)::bigint AS count, COALESCE(octet_length(t.type), 0) + 64 AS size
        FROM in_range c LEFT JOIN top t ON t.type = c.type
        WHERE c.minute >= $4
        GROUP BY c.minute, t.type
      ),
      sized AS (
        SELECT minute, type, count, count(*) OVER () AS rows_left,
               sum(size) OVER (ORDER BY minute RANGE UNBOUNDED PRECEDING)
                 - sum(size) OVER (PARTITION BY minute) AS bytes_before
        FROM counted
      )
      SELECT o.other_types, s.minute, s.type, s.count, s.rows_left
      FROM (SELECT (SELECT count(DISTINCT type) FROM in_range) - (SELECT count(*) FROM top) AS other_types) o
      LEFT JOIN sized s ON s.bytes_before < %d
      ORDER BY s.minute, s.type NULLS LAST""".formatted(MAX_COUNTS_BYTES);
}
