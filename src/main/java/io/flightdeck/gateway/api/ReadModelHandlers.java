package io.flightdeck.gateway.api;

import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.ingest.FastText;
import io.flightdeck.gateway.projection.model.PagesCursor;
import io.flightdeck.gateway.projection.model.ReadModels;
import io.flightdeck.gateway.projection.model.VisitorFold;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/** The read models: visitors (also at a past time), page stats, form submissions, event counts. */
public final class ReadModelHandlers {

  private static final long MAX_PAGE_DAYS = 366;
  private static final Duration MAX_COUNTS_RANGE = Duration.ofHours(24);
  private static final Duration DEFAULT_COUNTS_RANGE = Duration.ofHours(1);
  /** The last time an answer may name: RFC 3339 and PostgreSQL's timestamps end with the year 9999. */
  private static final Instant LAST_TIME = Instant.parse("9999-12-31T23:59:59Z");
  /** Types named in an event-counts answer (the rest are summed): custom type names are the clients' choice. */
  private static final long DEFAULT_COUNT_TYPES = 20;
  private static final long MAX_COUNT_TYPES = 100;

  private final ReadModels models;
  private final ResponseBudget answers;

  public ReadModelHandlers(ReadModels models, ResponseBudget answers) {
    this.models = models;
    this.answers = answers;
  }

  /** {@code GET /v1/visitors/:streamId[?at=<RFC 3339>]}. */
  public void visitor(RoutingContext ctx) {
    String streamId = QueryParams.streamId(ctx);
    String at = time(ctx, "at");
    var answer = at == null ? models.visitor(streamId)
        : models.visitorAt(streamId, instant("at", at), () -> ctx.response().closed());
    answer.onSuccess(found -> found.ifPresentOrElse(
            visitor -> answers.send(ctx, at == null ? visitor : visitor.put("at", at)),
            () -> ctx.fail(new ApiError(404, "not_found", "no activity for visitor " + streamId
                + (at == null ? "" : " at " + at)))))
        .onFailure(failure -> ctx.fail(foldFailure(failure, at)));
  }

  /** What a failed fold at a time answers: nothing to a client gone, 400 for a stream too long to fold. */
  private static Throwable foldFailure(Throwable failure, String at) {
    if (failure instanceof VisitorFold.Abandoned) {
      return new HttpClosedException(failure.getMessage());
    }
    if (failure instanceof VisitorFold.TooLong) {
      return ApiError.badRequest("too_many_events", failure.getMessage() + " (at " + at + "): ?at= folds at most "
          + VisitorFold.MAX_EVENTS + " events; ask for an earlier time, or without at for the visitor now");
    }
    return failure;
  }

  /**
   * {@code GET /v1/pages?site=&from=&to=&limit=&order=&after=}: days as YYYY-MM-DD (UTC), both included. A missing
   * end is today, unless today is on the wrong side of the end that is given: then it is that end's day (one day).
   * {@code next} is the cursor of the rows that follow, passed back as {@code after}; null when none follow. A
   * cursor given before a rebuild of page-stats began is 409 cursor_expired: its walk would skip or repeat rows.
   */
  public void pages(RoutingContext ctx) {
    String site = QueryParams.text(ctx, "site");
    if (site == null || site.isBlank()) {
      throw ApiError.badRequest("invalid_parameter", "site is required");
    }
    Days days = days(ctx);
    int limit = (int) QueryParams.number(ctx, "limit", ReadHandlers.DEFAULT_LIMIT, 1, ReadHandlers.MAX_LIMIT);
    PagesCursor.Order order = pagesOrder(ctx);
    models.pages(site, days.from(), days.to(), order, pagesCursor(ctx, order, days), limit)
        .onSuccess(page -> answers.send(ctx, new JsonObject().put("site", site).put("from", days.from().toString())
            .put("to", days.to().toString()).put("pages", page.getJsonArray("pages"))
            .put("next", page.getString("next"))))
        .onFailure(failure -> ctx.fail(failure instanceof PagesCursor.Expired ? new ApiError(409, "cursor_expired",
            "after was given before the page stats were rebuilt (POST /v1/admin/projections/page-stats/rebuild "
                + "empties and refills them): start the walk again without after") : failure));
  }

  /** The days of {@code /v1/pages}, both included. */
  private record Days(LocalDate from, LocalDate to) {
  }

  /** {@code from} and {@code to} with their defaults; a range refused names the days the defaults made. */
  private static Days days(RoutingContext ctx) {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    LocalDate givenFrom = date(ctx, "from", null);
    LocalDate givenTo = date(ctx, "to", null);
    // a past to= alone must not start today, after it: the client asked for days up to then
    LocalDate from = givenFrom != null ? givenFrom : givenTo != null && givenTo.isBefore(today) ? givenTo : today;
    LocalDate to = givenTo != null ? givenTo : from.isAfter(today) ? from : today;
    if (to.isBefore(from)) {
      throw ApiError.badRequest("invalid_parameter", "from (" + from + ") must not be after to (" + to + ")");
    }
    long count = ChronoUnit.DAYS.between(from, to) + 1;
    if (count > MAX_PAGE_DAYS) {
      String defaulted = givenFrom == null || givenTo == null ? " (a missing end is today)" : "";
      throw ApiError.badRequest("invalid_parameter", "from " + from + " to " + to + " is " + count
          + " days, more than " + MAX_PAGE_DAYS + defaulted);
    }
    return new Days(from, to);
  }

  /** {@code order=views} (the default: most viewed first within a day) or {@code order=page} (by page id). */
  private static PagesCursor.Order pagesOrder(RoutingContext ctx) {
    String raw = QueryParams.optional(ctx, "order");
    if (raw == null || raw.equals("views")) {
      return PagesCursor.Order.VIEWS;
    }
    if (raw.equals("page")) {
      return PagesCursor.Order.PAGE;
    }
    throw ApiError.badRequest("invalid_parameter", "order must be views or page");
  }

  /**
   * The {@code after} of {@code /v1/pages}: an earlier answer's {@code next}; null (and 0) for the first rows. Its
   * day lies in {@code days}, as in every answer of the range: one outside them comes with other days than its walk
   * began with (a walk on the default days, today, that crossed midnight UTC), and going on would be another
   * range's rows from their start after this one's.
   */
  private static PagesCursor pagesCursor(RoutingContext ctx, PagesCursor.Order order, Days days) {
    String raw = QueryParams.optional(ctx, "after");
    if (raw == null || raw.equals("0")) {
      return null;
    }
    PagesCursor cursor = PagesCursor.parse(raw).orElseThrow(() -> ApiError.badRequest("invalid_parameter",
        "after must be the next of an earlier answer, as it was given (or 0 for the start)"));
    if (cursor.order() != order) {
      throw ApiError.badRequest("invalid_parameter", "after is the next of an answer in another order: "
          + "follow it with that answer's order");
    }
    if (cursor.day().isBefore(days.from()) || cursor.day().isAfter(days.to())) {
      throw ApiError.badRequest("invalid_parameter", "after stopped at " + cursor.day() + ", outside from "
          + days.from() + " to " + days.to() + ": follow it with the from and to of the answer that gave it "
          + "(a missing one is today's date when each request is read)");
    }
    return cursor;
  }

  /**
   * {@code GET /v1/forms/:formId/submissions?after=&limit=}: newest first. {@code next} is the cursor for the
   * following (older) page, passed back as {@code after}; null when there is nothing older. {@code after=0} is
   * the start, the newest, as 0 is the start of {@code /v1/events}: positions begin at 1, so no cursor is 0. Also
   * {@code GET /v1/forms/submissions?formId=}: a form may be named {@code .} or {@code ..} (ingest takes any id), and
   * no path can hold those as a segment, since the router removes dot segments ({@code %2E%2E} included).
   */
  public void formSubmissions(RoutingContext ctx) {
    String formId = formId(ctx);
    long cursor = QueryParams.number(ctx, "after", 0, 0, Long.MAX_VALUE);
    long after = cursor == 0 ? Long.MAX_VALUE : cursor;
    int limit = (int) QueryParams.number(ctx, "limit", ReadHandlers.DEFAULT_LIMIT, 1, ReadHandlers.MAX_LIMIT);
    models.formSubmissions(formId, after, limit)
        .onSuccess(page -> answers.send(ctx, new JsonObject().put("formId", formId)
            .put("submissions", page.getJsonArray("submissions")).put("next", page.getLong("next"))))
        .onFailure(ctx::fail);
  }

  /** The form of a submissions request: its path segment, or on the query-string route its {@code formId}. */
  private static String formId(RoutingContext ctx) {
    String inPath = QueryParams.path(ctx, "formId");
    if (inPath != null) {
      return inPath;
    }
    String inQuery = QueryParams.text(ctx, "formId");
    if (inQuery == null || inQuery.isEmpty()) {
      throw ApiError.badRequest("invalid_parameter", "formId is required");
    }
    return inQuery;
  }

  /**
   * {@code GET /v1/event-counts?from=&to=&types=&after=}: per minute and type in [from, to), default the last hour;
   * the {@code types} types with the most events named, the others summed under a null type. An answer holds whole
   * minutes up to about 1 MiB: {@code next} is the last minute it holds when more follow, passed back as
   * {@code after}; null when none follow.
   */
  public void eventCounts(RoutingContext ctx) {
    Instant now = Instant.now();
    String rawTo = time(ctx, "to");
    String rawFrom = time(ctx, "from");
    Instant defaultTo = now.truncatedTo(ChronoUnit.MINUTES).plus(1, ChronoUnit.MINUTES);
    Instant givenFrom = rawFrom == null ? null : instant("from", rawFrom);
    // a from= alone at or after now must not end now, before it: the hour from it, as the default is an hour
    Instant to = rawTo != null ? instant("to", rawTo)
        : givenFrom == null || givenFrom.isBefore(defaultTo) ? defaultTo
        : capped(givenFrom.plus(DEFAULT_COUNTS_RANGE));
    Instant from = givenFrom != null ? givenFrom : to.minus(DEFAULT_COUNTS_RANGE);
    if (!from.isBefore(to)) {
      throw ApiError.badRequest("invalid_parameter", "from (" + from + ") must be before to (" + to + ")");
    }
    if (Duration.between(from, to).compareTo(MAX_COUNTS_RANGE) > 0) {
      throw ApiError.badRequest("invalid_parameter", "from " + from + " to " + to + " is more than 24 hours");
    }
    int types = (int) QueryParams.number(ctx, "types", DEFAULT_COUNT_TYPES, 1, MAX_COUNT_TYPES);
    models.eventCounts(from, to, types, countsAfter(ctx, from, to))
        .onSuccess(counts -> answers.send(ctx, new JsonObject().put("from", from.toString())
            .put("to", to.toString()).put("types", types).put("otherTypes", counts.getLong("otherTypes"))
            .put("counts", counts.getJsonArray("counts")).put("next", counts.getString("next"))))
        .onFailure(ctx::fail);
  }

  /**
   * The {@code after} of {@code /v1/event-counts}: an earlier answer's {@code next}, the last minute it held; null for
   * the first minutes. It lies in [from, to), as every minute of the range: one outside comes with another range than
   * its walk began with (a walk on the default range, the last hour, that went on for a minute or more).
   */
  private static Instant countsAfter(RoutingContext ctx, Instant from, Instant to) {
    String raw = time(ctx, "after");
    if (raw == null) {
      return null;
    }
    Instant after = instant("after", raw);
    if (after.isBefore(from) || !after.isBefore(to)) {
      throw ApiError.badRequest("invalid_parameter", "after (" + after + ") is outside from " + from + " to " + to
          + ": follow next with the from and to of the answer that gave it (missing ones are the last hour when each "
          + "request is read)");
    }
    return after;
  }

  private static Instant capped(Instant time) {
    return time.isAfter(LAST_TIME) ? LAST_TIME : time;
  }

  private static LocalDate date(RoutingContext ctx, String name, LocalDate fallback) {
    String raw = QueryParams.optional(ctx, name);
    if (raw == null) {
      return fallback;
    }
    try {
      LocalDate date = LocalDate.parse(raw);
      // what java.time parses goes beyond the year 9999 (+10000-01-01) and PostgreSQL's dates; YYYY-MM-DD does not
      if (raw.length() == 10 && date.getYear() >= 1) {
        return date;
      }
    } catch (DateTimeParseException e) {
      // answered below
    }
    throw ApiError.badRequest("invalid_parameter", name + " must be a date as YYYY-MM-DD (years 0001 to 9999)");
  }

  /**
   * A time parameter (null when absent or empty) with its offset's '+' back: the query decoder reads '+' as a
   * space, as HTML forms encode one, but RFC 3986 lets a client send the '+' of {@code +01:00} as such. RFC 3339
   * has no space, so one just before the closing hh:mm is that '+'.
   */
  static String time(RoutingContext ctx, String name) {
    String raw = QueryParams.optional(ctx, name);
    int offset = raw == null ? -1 : raw.length() - 6;
    if (offset > 0 && raw.charAt(offset) == ' ' && raw.charAt(offset + 3) == ':') {
      return raw.substring(0, offset) + '+' + raw.substring(offset + 1);
    }
    return raw;
  }

  static Instant instant(String name, String raw) {
    try {
      FastText.requireFractionDigit(raw); // as ingest refuses it
      // digits past the ninth are cut, as ingest cuts them: the store compares microseconds anyway
      OffsetDateTime time = OffsetDateTime.parse(FastText.fractionToNanos(raw));
      // RFC 3339 has four-digit years; java.time also reads +10000 and beyond, which PostgreSQL cannot hold. The
      // instant too: 9999-12-31T23:59:59-18:00 is +10000-01-01T17:59:59Z, which an answer's from/to would say
      if (time.getYear() >= 1 && time.getYear() <= 9999 && Character.isDigit(raw.charAt(0))
          && Utc.of(time.toInstant()).getYear() <= 9999) {
        return time.toInstant();
      }
    } catch (DateTimeParseException e) {
      // answered below
    }
    throw ApiError.badRequest("invalid_parameter", name + " must be an RFC 3339 time, like 2026-11-22T10:15:30Z");
  }
}
