package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest.BodyPublishers;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The floor server answers the load generator's POST as the gateway would, and nothing else. It is called with
 * the suite's outside client (the JDK's), as the gateway is in every other test. A Vert.x HttpClient called from
 * the test's thread left a keep-alive request unanswered for 10 s in CI, and in 6 of 400 repetitions with the
 * cores kept busy; with the JDK's client the same 400 repetitions under the same load all passed.
 */
class FloorServerTest {

  private Vertx vertx;
  private HttpTestClient client;

  @BeforeEach
  void start() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    vertx = Vertx.vertx();
    vertx.deployVerticle(new FloorServer(port)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    client = new HttpTestClient("http://127.0.0.1:" + port);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private Response post(String path, String body) {
    return client.send(client.request(path).POST(BodyPublishers.ofString(body)));
  }

  private Response get(String path) {
    return client.send(client.request(path).GET());
  }

  @Test
  @DisplayName("a POST to /v1/events gets the gateway's 200 for one appended event, positions going up")
  void answersLikeTheGateway() {
    String event = EventBodies.of(1).toString();
    Response first = post("/v1/events", event);
    Response second = post("/v1/events", event);

    assertEquals(200, first.status());
    assertEquals("application/json", first.header("Content-Type"));
    JsonObject result = first.results().getJsonObject(0);
    assertEquals("appended", result.getString("status"));
    assertEquals(1, result.getLong("streamVersion"));
    assertEquals(36, result.getString("id").length());
    assertEquals(result.getLong("position") + 1, second.results().getJsonObject(0).getLong("position"));
  }

  @Test
  @DisplayName("it is ready at once, and knows no other path")
  void readyAndNothingElse() {
    assertEquals(200, get("/health/ready").status());
    assertEquals(404, get("/v1/events").status());
    assertEquals(404, post("/v1/batch", "{}").status());
  }
}
