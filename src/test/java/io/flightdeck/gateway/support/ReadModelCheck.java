package io.flightdeck.gateway.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * What the read models must hold, computed straight from the events table with SQL that shares no code with the
 * projections, and the tables as they are. At a quiescent point (every checkpoint at the head) the two must be
 * equal: that is what "a read model equals a fresh rebuild from the store" means, checked independently.
 */
public final class ReadModelCheck {

  private static final String VISITORS_EXPECTED = """
      SELECT e.stream_id,
             (array_agg(e.metadata->>'site' ORDER BY e.position))[1],
             min(e.occurred_at), max(e.occurred_at),
             count(*) FILTER (WHERE e.type = 'PageViewed'),
             count(*) FILTER (WHERE e.type = 'ButtonClicked'),
             count(*) FILTER (WHERE e.type = 'FormSubmitted'),
             (array_agg(e.data->>'pageId' ORDER BY e.position DESC) FILTER (WHERE e.type = 'PageViewed'))[1],
             max(e.position),
             max(e.position) FILTER (WHERE e.type = 'PageViewed')
      FROM events e WHERE e.type IN ('PageViewed', 'ButtonClicked', 'FormSubmitted')
      GROUP BY e.stream_id ORDER BY e.stream_id""";

  private static final String VISITORS_ACTUAL = """
      SELECT stream_id, site, first_seen, last_seen, page_views, button_clicks, form_submissions, last_page,
             last_position, last_page_position
      FROM visitor_activity ORDER BY stream_id""";

  private static final String PAGES_EXPECTED = """
      SELECT COALESCE(metadata->>'site', ''), data->>'pageId', (occurred_at AT TIME ZONE 'UTC')::date,
             count(*), count(DISTINCT stream_id)
      FROM events WHERE type = 'PageViewed' GROUP BY 1, 2, 3 ORDER BY 1, 3, 2""";

  private static final String PAGES_ACTUAL = """
      SELECT site, page_id, day, views, unique_visitors FROM page_stats ORDER BY site, day, page_id""";

  /** Rows keyed otherwise than V5 keyed them in the database: the gateway's digest must be the same. */
  private static final String MISKEYED_PAGES = """
      SELECT (SELECT count(*) FROM page_stats WHERE page_key <> sha256(convert_to(page_id, 'UTF8')))
           + (SELECT count(*) FROM page_visitors WHERE page_key <> sha256(convert_to(page_id, 'UTF8')))""";

  private static final String FORMS_EXPECTED = """
      SELECT data->>'formId', position, id, stream_id, metadata->>'site', data->'formData', occurred_at
      FROM events WHERE type = 'FormSubmitted' ORDER BY 1, 2""";

  private static final String FORMS_ACTUAL = """
      SELECT form_id, position, event_id, stream_id, site, fields, submitted_at
      FROM form_submissions ORDER BY form_id, position""";

  private static final String COUNTS_EXPECTED = """
      SELECT date_trunc('minute', recorded_at), type, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2""";

  private static final String COUNTS_ACTUAL = "SELECT minute, type, count FROM event_counts ORDER BY minute, type";

  private ReadModelCheck() {
  }

  /** The position a projection's checkpoint is at. */
  public static long checkpoint(TestDatabase db, String projection) {
    return db.queryLong("SELECT position FROM projection_checkpoints WHERE name = ?", projection);
  }

  /** Waits until every projection's checkpoint has reached the store's head. */
  public static void awaitCaughtUp(TestDatabase db, Duration timeout) {
    Awaitility.await("every projection at the store head").atMost(timeout).pollInterval(Duration.ofMillis(50))
        .until(() -> db.queryLong("""
            SELECT count(*) FROM projection_checkpoints
            WHERE position < (SELECT COALESCE(max(position), 0) FROM events)""") == 0);
  }

  /** Every read model equals what the events table says it must be. */
  public static void assertMatchesStore(TestDatabase db) {
    assertEquals(db.query(VISITORS_EXPECTED), db.query(VISITORS_ACTUAL), "visitor_activity");
    assertEquals(db.query(PAGES_EXPECTED), db.query(PAGES_ACTUAL), "page_stats");
    assertPagesKeyedByDigest(db);
    assertEquals(db.query(FORMS_EXPECTED), db.query(FORMS_ACTUAL), "form_submissions");
    assertEquals(db.query(COUNTS_EXPECTED), db.query(COUNTS_ACTUAL), "event_counts");
  }

  /** Every page_stats and page_visitors row is keyed by the SHA-256 of its page id, as V5 keyed it in the database. */
  public static void assertPagesKeyedByDigest(TestDatabase db) {
    assertEquals(0L, db.queryLong(MISKEYED_PAGES), "page rows whose page_key is not the SHA-256 of their page id");
  }

  /** Every read-model table's rows, for comparing before and after a rebuild. */
  public static Map<String, List<List<Object>>> snapshot(TestDatabase db) {
    Map<String, List<List<Object>>> tables = new LinkedHashMap<>();
    tables.put("visitor_activity", db.query(VISITORS_ACTUAL));
    tables.put("page_stats", db.query(PAGES_ACTUAL));
    tables.put("page_visitors", db.query(
        "SELECT stream_id, site, day, page_id FROM page_visitors ORDER BY 1, 2, 3, 4"));
    tables.put("form_submissions", db.query(FORMS_ACTUAL));
    tables.put("event_counts", db.query(COUNTS_ACTUAL));
    return tables;
  }
}
