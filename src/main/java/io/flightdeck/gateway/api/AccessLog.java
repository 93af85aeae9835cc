package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request: method, route template, status, duration. The route template
 * ({@code /v1/streams/:streamId/events}), never the URL: URLs carry stream ids and, for browsers, access tokens;
 * and never the client address. Logged through logger {@code flightdeck.access}, which logback.xml sends through
 * a bounded asynchronous appender that drops lines rather than block an event loop.
 */
public final class AccessLog implements Handler<RoutingContext> {

  private static final Logger LOG = LoggerFactory.getLogger("flightdeck.access");

  /** A route's path as a pattern, with the methods it answers (empty: all). */
  private record Template(String path, Pattern pattern, Set<HttpMethod> methods) {
  }

  private volatile List<Template> templates = List.of();

  /** Learns the router's route templates; call once every route is added. */
  public void learn(Router router) {
    List<Template> out = new ArrayList<>();
    for (Route route : router.getRoutes()) {
      String path = route.getPath();
      if (path != null && !path.isEmpty()) {
        String regex = Pattern.quote(path).replaceAll(":[A-Za-z0-9_]+", "\\\\E[^/]+\\\\Q");
        if (path.endsWith("*")) {
          regex = Pattern.quote(path.substring(0, path.length() - 1)) + ".*";
        }
        Set<HttpMethod> methods = route.methods() == null ? Set.of() : route.methods();
        out.add(new Template(path, Pattern.compile(regex), methods));
      }
    }
    templates = List.copyOf(out);
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (LOG.isInfoEnabled()) {
      long start = System.nanoTime();
      ctx.addEndHandler(ar -> LOG.info("{} {} {} {}ms", ctx.request().method(), template(ctx),
          ctx.response().getStatusCode(), (System.nanoTime() - start) / 1_000_000));
    }
    ctx.next();
  }

  private String template(RoutingContext ctx) {
    String path = ctx.normalizedPath();
    HttpMethod method = ctx.request().method();
    for (Template t : templates) {
      if ((t.methods().isEmpty() || t.methods().contains(method)) && t.pattern().matcher(path).matches()) {
        return t.path();
      }
    }
    return "(unmatched)";
  }
}
