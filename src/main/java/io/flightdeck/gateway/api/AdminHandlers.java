package io.flightdeck.gateway.api;

import io.flightdeck.gateway.projection.DeadLetter;
import io.flightdeck.gateway.projection.ProjectionAdmin;
import io.flightdeck.gateway.projection.ProjectionAdmin.Applied;
import io.flightdeck.gateway.projection.ProjectionAdmin.FailedAgain;
import io.flightdeck.gateway.projection.ProjectionAdmin.RetryOutcome;
import io.flightdeck.gateway.projection.ProjectionAdmin.UnknownProjection;
import io.flightdeck.gateway.projection.ProjectionStatus;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.regex.Pattern;

/** {@code /v1/admin/*}: projections and their dead letters. */
public final class AdminHandlers {

  /** A dead letter's id: decimal ASCII digits without a sign or a leading zero (ids start at 1). */
  private static final Pattern DEAD_LETTER_ID = Pattern.compile("[1-9][0-9]{0,18}");

  private final ProjectionAdmin admin;
  /** The read answers' budget: a page of dead letters may be megabytes (each holds its error's whole text). */
  private final ResponseBudget answers;

  public AdminHandlers(ProjectionAdmin admin, ResponseBudget answers) {
    this.admin = admin;
    this.answers = answers;
  }

  /**
   * Goes on to an admin action that changes something (a rebuild, a dead-letter retry) only once its request body has
   * wholly arrived; no admin route reads a body, so its bytes are dropped. Until then the body deadline may answer 408
   * (or a stopping server 503), which the client takes for a failure: an action started at the request's head, as it
   * was, still ran after such an answer, and its own outcome was dropped. Once the body has ended nothing answers for
   * the action, so the one that starts then is answered with its outcome, however long it takes. A body that never
   * ends (the deadline closed its connection or reset its stream, or the client went) starts nothing.
   */
  public static void onceBodyEnded(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (request.isEnded()) {
      ctx.next();
      return;
    }
    request.end().onSuccess(v -> {
      if (!ctx.response().ended()) {
        ctx.next();
      }
    });
  }

  /** {@code GET /v1/admin/projections}. */
  public void projections(RoutingContext ctx) {
    admin.statuses()
        .onSuccess(list -> ReadHandlers.send(ctx, new JsonObject().put("projections", statuses(list))))
        .onFailure(ctx::fail);
  }

  /**
   * {@code POST /v1/admin/projections/:name/rebuild}: 202, the replay runs in the background. Runs after
   * {@link #onceBodyEnded}: nothing else answers the request meanwhile.
   */
  public void rebuild(RoutingContext ctx) {
    String name = QueryParams.path(ctx, "name");
    admin.rebuild(name).onSuccess(target -> {
      if (target.isEmpty()) {
        ctx.fail(new ApiError(404, "not_found", "no projection named " + name));
        return;
      }
      ctx.response().setStatusCode(202);
      ReadHandlers.send(ctx, new JsonObject().put("name", name).put("state", "rebuilding")
          .put("rebuildTarget", target.get()));
    }).onFailure(ctx::fail);
  }

  /**
   * {@code GET /v1/admin/dead-letters?projection=&after=&limit=}: oldest first; {@code next} pages on. An empty
   * {@code projection} is no filter, as an empty value of any parameter is its default: a script's unset variable
   * must not make every dead letter look gone.
   */
  public void deadLetters(RoutingContext ctx) {
    long after = QueryParams.number(ctx, "after", 0, 0, Long.MAX_VALUE);
    int limit = (int) QueryParams.number(ctx, "limit", ReadHandlers.DEFAULT_LIMIT, 1, ReadHandlers.MAX_LIMIT);
    String projection = QueryParams.optional(ctx, "projection");
    admin.deadLetters(after, projection, limit)
        .onSuccess(letters -> {
          JsonArray out = new JsonArray();
          letters.forEach(l -> out.add(l.toJson()));
          long next = letters.isEmpty() ? after : letters.get(letters.size() - 1).id();
          answers.send(ctx, new JsonObject().put("deadLetters", out).put("next", next));
        })
        .onFailure(ctx::fail);
  }

  /**
   * {@code POST /v1/admin/dead-letters/:id/retry}: 200 when applied (the dead letter is gone), 409 apply_failed
   * when it failed again (it stays, one attempt more), 409 unknown_projection when its projection is not part of
   * this release (it stays as it is), 404 when there is no such dead letter, 503 when the database failed rather
   * than the event (it stays as it is). Runs after {@link #onceBodyEnded}, as a rebuild does.
   */
  public void retry(RoutingContext ctx) {
    String raw = QueryParams.path(ctx, "id");
    long id;
    try {
      // the id as the list writes it: Long.parseLong alone would also take "+5", "05" and other scripts' digits
      // (Arabic-Indic, full-width) for dead letter 5, and retry it from a path that does not name it
      if (!DEAD_LETTER_ID.matcher(raw).matches()) {
        throw new NumberFormatException();
      }
      id = Long.parseLong(raw);
    } catch (NumberFormatException e) {
      throw new ApiError(404, "not_found", "no dead letter " + raw);
    }
    admin.retry(id).onSuccess(outcome -> answer(ctx, id, outcome)).onFailure(ctx::fail);
  }

  private static void answer(RoutingContext ctx, long id, RetryOutcome outcome) {
    if (outcome instanceof Applied applied) {
      ReadHandlers.send(ctx, letter(applied.deadLetter()).put("status", "applied"));
    } else if (outcome instanceof FailedAgain failed) {
      ctx.fail(new ApiError(409, "apply_failed", "the event failed again (attempt " + failed.attempts() + "): "
          + failed.error()));
    } else if (outcome instanceof UnknownProjection unknown) {
      ctx.fail(new ApiError(409, "unknown_projection", "projection " + unknown.deadLetter().projection()
          + " is not part of this release: nothing can apply the event; the dead letter stays"));
    } else {
      ctx.fail(new ApiError(404, "not_found", "no dead letter " + id));
    }
  }

  private static JsonObject letter(DeadLetter letter) {
    return new JsonObject().put("id", letter.id()).put("projection", letter.projection())
        .put("position", letter.position()).put("eventId", letter.eventId().toString());
  }

  private static JsonArray statuses(List<ProjectionStatus> list) {
    JsonArray out = new JsonArray();
    list.forEach(s -> out.add(s.toJson()));
    return out;
  }
}
