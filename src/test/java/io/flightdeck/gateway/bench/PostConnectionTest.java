package io.flightdeck.gateway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The load generator's HTTP/1.1 connection against a real Vert.x HTTP server and hand-written answers. */
class PostConnectionTest {

  private static final String[] HEADERS = {"Content-Type", "application/json", "X-Write-Key", "k"};

  private Vertx vertx;
  private Context loop;
  private NetClient client;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
    client = vertx.createNetClient();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("posts requests one after another on one keep-alive connection, each with its headers and body")
  void keepAlive() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer server = await(() -> vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      seen.add(req.method() + " " + req.path() + " " + req.getHeader("X-Write-Key") + " "
          + req.getHeader("Content-Type") + " " + body + " " + req.connection().hashCode());
      req.response().setStatusCode(body.toString().contains("bad") ? 400 : 200).end("{\"n\":" + seen.size() + "}");
    })).listen(0, "127.0.0.1"));
    PostConnection c = await(() -> PostConnection.open(client, server.actualPort(), "127.0.0.1"));

    PostConnection.Answer first = post(c, server.actualPort(), "{\"a\":1}");
    assertTrue(c.reusable());
    PostConnection.Answer second = post(c, server.actualPort(), "{\"bad\":true}");

    assertEquals(200, first.status());
    assertEquals("{\"n\":1}", first.body().toString());
    assertEquals(400, second.status());
    assertEquals("{\"n\":2}", second.body().toString());
    assertEquals(2, seen.size());
    assertTrue(seen.get(0).startsWith("POST /v1/events k application/json {\"a\":1} "), seen.get(0));
    // the same connection both times
    assertEquals(connectionOf(seen.get(0)), connectionOf(seen.get(1)));
  }

  private static String connectionOf(String seen) {
    return seen.substring(seen.lastIndexOf(' ') + 1);
  }

  @Test
  @DisplayName("an answer that arrives in pieces is put together; Connection: close makes the connection unusable")
  void piecesAndClose() throws Exception {
    String answer = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nCONTENT-LENGTH: 12\r\n"
        + "Connection: close\r\n\r\n{\"e\":\"full\"}";
    NetServer server = await(() -> vertx.createNetServer().connectHandler(socket -> socket.handler(request -> {
      // three writes with pauses between them: the head split in its middle, then the body
      socket.write(answer.substring(0, 20));
      vertx.setTimer(20, t -> socket.write(answer.substring(20, answer.length() - 5)));
      vertx.setTimer(40, t -> socket.write(answer.substring(answer.length() - 5)));
    })).listen(0, "127.0.0.1"));
    PostConnection c = await(() -> PostConnection.open(client, server.actualPort(), "127.0.0.1"));

    PostConnection.Answer a = post(c, server.actualPort(), "{}");

    assertEquals(503, a.status());
    assertEquals("{\"e\":\"full\"}", a.body().toString());
    assertFalse(c.reusable());
  }

  @Test
  @DisplayName("a connection that closes before the answer is complete fails the request")
  void closedMidAnswer() throws Exception {
    NetServer server = await(() -> vertx.createNetServer().connectHandler(socket -> socket.handler(request -> {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"results\"");
      vertx.setTimer(20, t -> socket.close());
    })).listen(0, "127.0.0.1"));
    PostConnection c = await(() -> PostConnection.open(client, server.actualPort(), "127.0.0.1"));

    ExecutionException e = assertThrows(ExecutionException.class, () -> post(c, server.actualPort(), "{}"));

    assertTrue(e.getCause().getMessage().contains("closed before the answer was complete"), e.getCause().toString());
    assertFalse(c.reusable());
  }

  private PostConnection.Answer post(PostConnection c, int port, String body) throws Exception {
    Buffer request = PostConnection.request(PostConnection.prefix("127.0.0.1", port, "/v1/events", HEADERS),
        Buffer.buffer(body));
    return await(() -> {
      Promise<PostConnection.Answer> answer = Promise.promise();
      c.post(request, answer::handle);
      return answer.future();
    });
  }

  /** Runs {@code action} on the event loop (where a connection lives) and waits for what it answers. */
  private <T> T await(Supplier<Future<T>> action) throws Exception {
    Promise<T> result = Promise.promise();
    loop.runOnContext(v -> action.get().onComplete(result));
    return result.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
