package io.flightdeck.gateway.api;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The router's route templates ({@code /v1/streams/:streamId/events}) with the methods each answers, learned once
 * every route is added: the access log names a request by its template, and a 405 lists in {@code Allow} the
 * methods its path does answer.
 */
final class RouteTable {

  /** A route's path as a pattern, with the methods it answers (empty: all). */
  private record Template(String path, Pattern pattern, Set<HttpMethod> methods) {
  }

  private volatile List<Template> templates = List.of();

  /** Learns the router's route templates; call once every route is added. */
  void learn(Router router) {
    List<Template> out = new ArrayList<>();
    for (Route route : router.getRoutes()) {
      String path = route.getPath();
      if (path != null && !path.isEmpty()) {
        String regex = Pattern.quote(path).replaceAll(":[A-Za-z0-9_]+", "\\\\E[^/]+\\\\Q");
        if (!route.isExactPath()) {
          // Vert.x gives "/dashboard/*" as the path "/dashboard/", not exact: it matches every path under it, and
          // the path without its last slash too (the dashboard's redirect), as Vert.x's own matching does
          regex = path.endsWith("/")
              ? Pattern.quote(path.substring(0, path.length() - 1)) + "(?:/.*)?"
              : Pattern.quote(path) + ".*";
        }
        Set<HttpMethod> methods = route.methods() == null ? Set.of() : route.methods();
        out.add(new Template(path, Pattern.compile(regex), methods));
      }
    }
    templates = List.copyOf(out);
  }

  /** The template that answered the request, or {@code (unmatched)}. */
  String template(RoutingContext ctx) {
    return template(ctx.request().method(), FailureHandler.routeOf(ctx));
  }

  /** The template of a route {@code method} and {@code path} match, or {@code (unmatched)}. */
  String template(HttpMethod method, String path) {
    for (Template t : templates) {
      if ((t.methods().isEmpty() || t.methods().contains(method)) && t.pattern().matcher(path).matches()) {
        return t.path();
      }
    }
    return "(unmatched)";
  }

  /** The methods routes on this path answer, as an {@code Allow} header value ("GET, HEAD"); empty when none. */
  String allowed(RoutingContext ctx) {
    return allowed(FailureHandler.routeOf(ctx));
  }

  /** The methods routes on {@code path} answer, as an {@code Allow} header value; empty when none. */
  String allowed(String path) {
    Set<String> methods = new TreeSet<>();
    for (Template t : templates) {
      if (!t.methods().isEmpty() && t.pattern().matcher(path).matches()) {
        t.methods().forEach(m -> methods.add(m.name()));
      }
    }
    return String.join(", ", methods);
  }
}
