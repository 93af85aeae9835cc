package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The floor server answers the load generator's POST as the gateway would, and nothing else. */
class FloorServerTest {

  private Vertx vertx;
  private HttpClient client;
  private int port;

  @BeforeEach
  void start() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    vertx = Vertx.vertx();
    get(vertx.deployVerticle(new FloorServer(port)).map(id -> null));
    client = vertx.createHttpClient();
  }

  @AfterEach
  void stop() throws Exception {
    get(vertx.close());
  }

  private <T> T get(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private record Answer(int status, String contentType, Buffer body) {
  }

  private Answer call(HttpMethod method, String uri, String body) throws Exception {
    return get(client.request(method, port, "127.0.0.1", uri)
        .compose(req -> body == null ? req.send() : req.send(body))
        .compose((HttpClientResponse resp) -> resp.body()
            .map(b -> new Answer(resp.statusCode(), resp.getHeader("Content-Type"), b))));
  }

  @Test
  @DisplayName("a POST to /v1/events gets the gateway's 200 for one appended event, positions going up")
  void answersLikeTheGateway() throws Exception {
    String event = EventBodies.of(1).toString();
    Answer first = call(HttpMethod.POST, "/v1/events", event);
    Answer second = call(HttpMethod.POST, "/v1/events", event);

    assertEquals(200, first.status());
    assertEquals("application/json", first.contentType());
    JsonObject result = first.body().toJsonObject().getJsonArray("results").getJsonObject(0);
    assertEquals("appended", result.getString("status"));
    assertEquals(1, result.getLong("streamVersion"));
    assertEquals(36, result.getString("id").length());
    assertEquals(result.getLong("position") + 1, second.body().toJsonObject().getJsonArray("results")
        .getJsonObject(0).getLong("position"));
  }

  @Test
  @DisplayName("it is ready at once, and knows no other path")
  void readyAndNothingElse() throws Exception {
    assertEquals(200, call(HttpMethod.GET, "/health/ready", null).status());
    assertEquals(404, call(HttpMethod.GET, "/v1/events", null).status());
    assertEquals(404, call(HttpMethod.POST, "/v1/batch", "{}").status());
  }
}
