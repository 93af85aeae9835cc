package io.flightdeck.gateway.bench;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

/**
 * The HTTP floor: what one single-event POST costs on these cores when nothing at all is done with it. A server
 * built like the gateway's HTTP side (Vert.x on Netty's epoll transport, one verticle per event loop, 2 x cores
 * of them, the same heap) reads each {@code POST /v1/events} body whole and answers the gateway's 200 for one
 * appended event (same headers, an answer of the same length), without parsing, validating or storing anything.
 * The benchmark drives it with the single-event phase's load generator, connections and requests: its CPU per
 * request and the load generator's are what every POST costs before the gateway does any work of its own.
 *
 * <p>{@code java -cp flightdeck-gateway.jar io.flightdeck.gateway.bench.FloorServer PORT}; {@code GET /health/ready}
 * answers 200 once it listens.
 */
public final class FloorServer extends VerticleBase {

  /** The gateway's answer to one appended event, with an id of a real id's length; the position goes up. */
  private static final String ANSWER_HEAD = "{\"results\":[{\"id\":\"00000000-0000-4000-8000-000000000000\","
      + "\"position\":";
  private static final String ANSWER_TAIL = ",\"streamVersion\":1,\"status\":\"appended\"}]}";
  /** Positions of the length a benchmark phase's store reaches (its first million events). */
  private static final long FIRST_POSITION = 100_000;

  private final int port;
  private long position = FIRST_POSITION;

  FloorServer(int port) {
    this.port = port;
  }

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: FloorServer PORT");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    int loops = 2 * Runtime.getRuntime().availableProcessors(); // the gateway's http.instances 0
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setPreferNativeTransport(true));
    vertx.deployVerticle(() -> new FloorServer(port), new DeploymentOptions().setInstances(loops))
        .onSuccess(id -> System.out.println("floor server listening on 127.0.0.1:" + port + " ("
            + (vertx.isNativeTransportEnabled() ? "native epoll" : "java.nio") + ", " + loops + " event loops)"))
        .onFailure(e -> {
          System.err.println("floor server: " + e.getMessage());
          System.exit(1);
        });
  }

  @Override
  public Future<?> start() {
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port))
        .requestHandler(this::handle)
        .listen();
  }

  private void handle(HttpServerRequest req) {
    if (req.method() == HttpMethod.POST && "/v1/events".equals(req.path())) {
      req.body().onSuccess(body -> req.response()
          .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
          .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
          .end(answer(position++)));
    } else if (req.method() == HttpMethod.GET && "/health/ready".equals(req.path())) {
      req.response().end("{\"status\":\"ready\"}");
    } else {
      req.response().setStatusCode(404).end();
    }
  }

  static Buffer answer(long position) {
    return Buffer.buffer(ANSWER_HEAD + position + ANSWER_TAIL);
  }
}
