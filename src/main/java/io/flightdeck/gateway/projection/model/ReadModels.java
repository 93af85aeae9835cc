package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.projection.Projection;
import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.PgEventStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/** The read side's queries, as the API answers them. Projections keep the tables current. */
public final class ReadModels {

  private final Pool pool;
  private final VisitorFold fold;

  /** {@code foldDeadlineMs}: how long a fold at a time may take in all, as one read's statement may. */
  public ReadModels(Pool pool, Vertx vertx, long foldDeadlineMs) {
    this.pool = pool;
    this.fold = new VisitorFold(pool, vertx, foldDeadlineMs);
  }

  /** The projections of this release, in the order the admin list shows them. */
  public static List<Projection> projections() {
    return List.of(new VisitorActivityProjection(), new PageStatsProjection(), new FormSubmissionsProjection(),
        new EventCountsProjection());
  }

  /** A visitor's activity as projected, or empty when the projection has not seen the stream. */
  public Future<Optional<JsonObject>> visitor(String streamId) {
    return pool.preparedQuery(ReadModelSql.VISITOR).execute(Tuple.of(streamId)).map(rows -> {
      if (rows.rowCount() == 0) {
        return Optional.<JsonObject>empty();
      }
      Row r = rows.iterator().next();
      return Optional.of(VisitorActivity.toJson(r.getString("stream_id"), r.getString("site"),
          r.getOffsetDateTime("first_seen").toInstant(), r.getOffsetDateTime("last_seen").toInstant(),
          r.getLong("page_views"), r.getLong("button_clicks"), r.getLong("form_submissions"),
          r.getString("last_page"), r.getLong("last_position")));
    }).recover(PgEventStore::unavailable);
  }

  /** A visitor's activity as the store knew it at {@code at}, see {@link VisitorFold#at}. */
  public Future<Optional<JsonObject>> visitorAt(String streamId, Instant at, BooleanSupplier clientGone) {
    return fold.at(streamId, at, clientGone);
  }

  /**
   * Views and unique visitors per page and day, days ascending, within a day in {@code order}; after the cursor
   * {@code after} (null: from the first): {@code {"pages":[...],"next"}}, {@code next} the cursor of the rows
   * that follow, null when there are none. Fails with {@link PagesCursor.Expired} when {@code after} was given
   * before a rebuild of page-stats began.
   */
  public Future<JsonObject> pages(String site, LocalDate from, LocalDate to, PagesCursor.Order order,
      PagesCursor after, int limit) {
    boolean byViews = order == PagesCursor.Order.VIEWS;
    // one row more than asked for says whether any follow: the last answer's next is null
    Tuple args = Tuple.of(site, from, to, limit + 1);
    String query = byViews ? ReadModelSql.PAGES : ReadModelSql.PAGES_BY_PAGE;
    if (after != null) {
      args.addLocalDate(after.day());
      if (byViews) {
        args.addLong(after.views());
      }
      args.addBuffer(Buffer.buffer(after.key()));
      query = byViews ? ReadModelSql.PAGES_AFTER : ReadModelSql.PAGES_BY_PAGE_AFTER;
    }
    return pool.preparedQuery(query).execute(args).map(rows -> pagesAnswer(rows, order, after, limit))
        .recover(PgEventStore::unavailable);
  }

  private static JsonObject pagesAnswer(RowSet<Row> rows, PagesCursor.Order order, PagesCursor after, int limit) {
    JsonArray pages = new JsonArray();
    Row last = null;
    long rebuilt = 0;
    boolean more = false;
    for (Row r : rows) {
      rebuilt = PagesCursor.stampOf(r.getOffsetDateTime("rebuilt"));
      if (r.getValue("page_id") == null) {
        break; // the one row of a range with nothing (more) in it
      }
      if (pages.size() == limit) {
        more = true;
        break;
      }
      pages.add(new JsonObject()
          .put("pageId", r.getString("page_id"))
          .put("day", r.getLocalDate("day").toString())
          .put("views", r.getLong("views"))
          .put("uniqueVisitors", r.getLong("unique_visitors")));
      last = r;
    }
    if (after != null) {
      after.requireCurrent(rebuilt);
    }
    String next = !more ? null : new PagesCursor(order, last.getLocalDate("day"), last.getLong("views"), rebuilt,
        last.getBuffer("page_key").getBytes()).text();
    return new JsonObject().put("pages", pages).put("next", next);
  }

  /**
   * A form's submissions before position {@code before}, newest first, at most {@code limit} and about
   * {@link EventPages#MAX_PAGE_BYTES}: {@code {"submissions":[...],"next"}}, {@code next} the position to read on
   * before, null when no older submission follows.
   */
  public Future<JsonObject> formSubmissions(String formId, long before, int limit) {
    // one row more than asked for says whether any follow: the last page's next is null. The page is read in the
    // key's order (no sort): a planner expecting few rows of the form (a table without statistics, a form new since
    // the last ANALYZE) found every older submission with a bitmap scan and sorted them, 100,000 for a page of 100
    return pool.withTransaction(conn -> conn.query(ReadModelSql.IN_KEY_ORDER).execute()
            .compose(v -> conn.preparedQuery(ReadModelSql.FORM_SUBMISSIONS).execute(Tuple.of(formId, before,
                limit + 1))))
        .map(rows -> {
          JsonArray out = new JsonArray();
          long read = 0;
          for (Row r : rows) {
            read = r.getLong("page_rows");
            if (out.size() == limit) {
              break;
            }
            out.add(new JsonObject()
                .put("position", r.getLong("position"))
                .put("eventId", r.getUUID("event_id").toString())
                .put("streamId", r.getString("stream_id"))
                .put("site", r.getString("site"))
                .put("fields", r.getValue("fields"))
                .put("submittedAt", r.getOffsetDateTime("submitted_at").toInstant().toString()));
          }
          // fewer given than read: the limit or the bytes stopped the page short of a submission that follows
          Long next = out.size() < read ? out.getJsonObject(out.size() - 1).getLong("position") : null;
          return new JsonObject().put("submissions", out).put("next", next);
        })
        .recover(PgEventStore::unavailable);
  }

  /**
   * Events per minute in [from, to) of the {@code types} types with the most events in the range, and of all the
   * others summed under a null type, for the minutes after {@code after} (null: from the first), whole minutes up to
   * about {@link ReadModelSql#MAX_COUNTS_BYTES} of JSON: {@code {"counts":[{"minute","type","count"}],"otherTypes":n,
   * "next"}}, {@code next} the last minute answered when more follow, else null.
   */
  public Future<JsonObject> eventCounts(Instant from, Instant to, int types, Instant after) {
    // the minutes that begin in [from, to) are those in [the first minute at or after from, the first at or after
    // to): PostgreSQL holds microseconds and would cut a time a fraction of one past a minute down to that minute
    Instant first = after == null ? minuteAtOrAfter(from) : minuteAtOrAfter(after.plusNanos(1));
    return pool.preparedQuery(ReadModelSql.EVENT_COUNTS)
        .execute(Tuple.of(Utc.of(minuteAtOrAfter(from)), Utc.of(minuteAtOrAfter(to)), types, Utc.of(first)))
        .map(ReadModels::countsAnswer)
        .recover(PgEventStore::unavailable);
  }

  private static JsonObject countsAnswer(RowSet<Row> rows) {
    JsonArray counts = new JsonArray();
    long otherTypes = 0;
    long left = 0;
    String last = null;
    for (Row r : rows) {
      otherTypes = r.getLong("other_types");
      if (r.getValue("minute") == null) {
        break; // the one row of a range with no (more) counts
      }
      left = r.getLong("rows_left");
      last = r.getOffsetDateTime("minute").toInstant().toString();
      counts.add(new JsonObject().put("minute", last).put("type", r.getString("type"))
          .put("count", r.getLong("count")));
    }
    // fewer answered than there were: the bytes stopped the answer after a minute that others follow
    String next = counts.size() < left ? last : null;
    return new JsonObject().put("otherTypes", otherTypes).put("counts", counts).put("next", next);
  }

  private static Instant minuteAtOrAfter(Instant time) {
    Instant minute = time.truncatedTo(ChronoUnit.MINUTES);
    return minute.equals(time) ? minute : minute.plus(1, ChronoUnit.MINUTES);
  }
}
