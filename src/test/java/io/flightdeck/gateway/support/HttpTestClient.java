package io.flightdeck.gateway.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** A real HTTP/1.1 client (the JDK's) for talking to a gateway the way any outside client would. */
public final class HttpTestClient {

  /** What came back: status, headers and body. */
  public record Response(int status, Map<String, List<String>> headers, String body) {
    public JsonObject json() {
      return new JsonObject(body);
    }

    public String header(String name) {
      for (Map.Entry<String, List<String>> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
          return e.getValue().get(0);
        }
      }
      return null;
    }

    /** {@code error.code} of an error body. */
    public String errorCode() {
      return json().getJsonObject("error").getString("code");
    }

    /** {@code results} of a successful ingest. */
    public JsonArray results() {
      return json().getJsonArray("results");
    }
  }

  private final String base;
  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      // generous: on a loaded 2-core CI host a JVM that must answer a connect can be starved for seconds
      .connectTimeout(Duration.ofSeconds(30))
      .build();

  public HttpTestClient(String base) {
    this.base = base;
  }

  public String base() {
    return base;
  }

  public HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
  }

  /** POSTs JSON to /v1/events with the demo write key in the header. */
  public Response postEvents(Object body) {
    return send(request("/v1/events")
        .header("Content-Type", "application/json")
        .header("X-Write-Key", TestGateway.WRITE_KEY)
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
  }

  public CompletableFuture<Response> postEventsAsync(Object body) {
    return sendAsync(request("/v1/events")
        .header("Content-Type", "application/json")
        .header("X-Write-Key", TestGateway.WRITE_KEY)
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
  }

  /** POSTs {@code {"events": [...]}}, fails the test unless it is answered 200, and answers the results. */
  public JsonArray postBatch(JsonObject... events) {
    JsonArray batch = new JsonArray();
    for (JsonObject e : events) {
      batch.add(e);
    }
    Response r = postEvents(new JsonObject().put("events", batch));
    if (r.status() != 200) {
      throw new AssertionError("expected 200 for the batch, got " + r.status() + ": " + r.body());
    }
    return r.results();
  }

  /** GET with the demo read token. */
  public Response getWithReadToken(String path) {
    return send(request(path).header("Authorization", "Bearer " + TestGateway.READ_TOKEN).GET());
  }

  /** GET with the demo admin token. */
  public Response getWithAdminToken(String path) {
    return send(request(path).header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN).GET());
  }

  /** One projection's entry in {@code GET /v1/admin/projections}. */
  public JsonObject projectionStatus(String name) {
    JsonArray list = getWithAdminToken("/v1/admin/projections").json().getJsonArray("projections");
    for (int i = 0; i < list.size(); i++) {
      if (list.getJsonObject(i).getString("name").equals(name)) {
        return list.getJsonObject(i);
      }
    }
    throw new AssertionError("no projection " + name + " in " + list.encode());
  }

  /** POST without a body, with the demo admin token. */
  public Response postWithAdminToken(String path) {
    return send(request(path).header("Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
        .POST(HttpRequest.BodyPublishers.noBody()));
  }

  public Response send(HttpRequest.Builder builder) {
    try {
      HttpResponse<String> r = client.send(builder.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.headers().map(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public CompletableFuture<Response> sendAsync(HttpRequest.Builder builder) {
    return client.sendAsync(builder.build(), HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> new Response(r.statusCode(), r.headers().map(), r.body()));
  }

  /** A valid ButtonClicked event for {@code streamId} with a fresh id. */
  public static JsonObject click(String streamId, String buttonId) {
    return new JsonObject()
        .put("id", UUID.randomUUID().toString())
        .put("type", "ButtonClicked")
        .put("streamId", streamId)
        .put("data", new JsonObject().put("buttonId", buttonId));
  }

  /** A valid FormSubmitted event for {@code streamId} with a fresh id. */
  public static JsonObject formSubmission(String streamId, String formId, JsonObject fields) {
    return new JsonObject()
        .put("id", UUID.randomUUID().toString())
        .put("type", "FormSubmitted")
        .put("streamId", streamId)
        .put("data", new JsonObject().put("formId", formId).put("formData", fields));
  }

  /** A valid PageViewed event for {@code streamId} with a fresh id. */
  public static JsonObject pageView(String streamId, String pageId) {
    return new JsonObject()
        .put("id", UUID.randomUUID().toString())
        .put("type", "PageViewed")
        .put("streamId", streamId)
        .put("data", new JsonObject().put("pageId", pageId));
  }

  /** {@code text} as UTF-8, gzip-compressed (a {@code Content-Encoding: gzip} body). */
  public static byte[] gzip(String text) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
      gz.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
