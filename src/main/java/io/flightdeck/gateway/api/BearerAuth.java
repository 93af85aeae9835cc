package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Bearer-token check for reads and admin. The token comes from {@code Authorization: Bearer} or, for browsers'
 * EventSource which cannot set headers, {@code ?access_token=}. Compared in constant time.
 */
public final class BearerAuth implements Handler<RoutingContext> {

  private final byte[] token;

  public BearerAuth(String token) {
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String presented = presented(ctx);
    if (presented != null && MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8))) {
      ctx.next();
    } else {
      ctx.response().putHeader("WWW-Authenticate", "Bearer");
      ctx.fail(new ApiError(401, "unauthorized", presented == null ? "a bearer token is required"
          : "the bearer token is not valid here"));
    }
  }

  /** The header's token, else the query's; an {@code access_token} given twice is refused even beside the header. */
  private static String presented(RoutingContext ctx) {
    String query = QueryParams.once(ctx, "access_token");
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return header.substring(7).trim();
    }
    return query;
  }
}
