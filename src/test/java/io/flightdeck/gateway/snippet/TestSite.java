package io.flightdeck.gateway.snippet;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A customer's web site for the snippet's browser tests: pages the test writes, served from another origin than
 * the gateway's (another port), each installing the snippet with the one tag of docs/SNIPPET.md.
 */
final class TestSite implements AutoCloseable {

  /** Answers 204: a form submitted there (not cancelled) is sent and the browser stays on the page. */
  static final String NO_CONTENT = "/no-content";

  /**
   * A first-party proxy's path for the events (data-endpoint): answers 204, and records each POST's Cookie header
   * in {@link #collected}.
   */
  static final String COLLECT = "/collect";

  private final HttpServer server;
  private final List<String> collected = new CopyOnWriteArrayList<>();
  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  private final Map<String, String> pages = new ConcurrentHashMap<>();
  private final String gateway;

  TestSite(String gateway) {
    this.gateway = gateway;
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext("/", exchange -> {
      // GET, and POST for the forms that submit here
      exchange.getRequestBody().readAllBytes();
      String html = pages.get(exchange.getRequestURI().getPath());
      byte[] body = html == null ? new byte[0] : html.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      // favicon: nothing, and no 404 in the console; a form posted to /no-content leaves the page where it is
      String path = exchange.getRequestURI().getPath();
      if (path.equals(COLLECT) && exchange.getRequestMethod().equals("POST")) {
        collected.add(String.valueOf(exchange.getRequestHeaders().getFirst("Cookie")));
      }
      int status = html != null ? 200
          : path.equals("/favicon.ico") || path.equals(NO_CONTENT) || path.equals(COLLECT) ? 204 : 404;
      exchange.sendResponseHeaders(status, status == 204 ? -1 : body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.setExecutor(executor);
    server.start();
  }

  /** The Cookie header of each POST to {@link #COLLECT} so far ("null" for none), in order. */
  List<String> collected() {
    return collected;
  }

  String base() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Serves {@code html} at {@code path} (with any query); answers the page's URL. */
  String serve(String path, String html) {
    pages.put(path.split("\\?", 2)[0], html);
    return base() + path;
  }

  /**
   * A page with the snippet's tag. {@code head} goes before the tag (meta tags, the pre-load stub), {@code attrs}
   * into it ({@code data-flush-ms="60000"}).
   */
  String page(String path, String title, String head, String attrs, String body) {
    return serve(path, "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + title + "</title>" + head
        + "<script async src=\"" + gateway + "/fd.js\" data-write-key=\"demo-write-key\" " + attrs + "></script>"
        + "</head><body>" + body + "</body></html>");
  }

  /** A page without the snippet, to navigate to. */
  String plainPage(String path) {
    return serve(path, "<!doctype html><html><head><meta charset=\"utf-8\"><title>plain</title></head>"
        + "<body><p id=\"plain\">a page without the snippet</p></body></html>");
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
