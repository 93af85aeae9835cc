package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Request headers over the limit, over HTTP/2 without TLS (h2c): the same answer as over HTTP/1.1. */
@ExtendWith(PostgresExtension.class)
class Http2HeadersIT {

  /** Over the 8 KiB the server reads, well within what its HTTP/2 codec accepts. */
  private static final String BIG = "b".repeat(9000);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_HTTP_HTTP2_CLEAR_TEXT", "true"));

  @Test
  @DisplayName("over HTTP/2 (an h2c upgrade) headers over the limit are answered 431 headers_too_large with the "
      + "contract's JSON body, and the connection goes on")
  void headersOverTheLimitOverAnUpgradedConnection() throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    URI schemas = URI.create("http://127.0.0.1:" + gateway.get().port() + "/v1/schemas");
    // the first request upgrades the connection; the ones after it are HTTP/2 streams on it
    HttpResponse<String> upgraded = client.send(HttpRequest.newBuilder(schemas).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(HttpClient.Version.HTTP_2, upgraded.version());

    HttpResponse<String> refused = client.send(HttpRequest.newBuilder(schemas).header("X-Big", BIG).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(HttpClient.Version.HTTP_2, refused.version());
    assertEquals(431, refused.statusCode(), refused.body());
    assertEquals("application/json", refused.headers().firstValue("content-type").orElse(""));
    assertEquals("headers_too_large", new JsonObject(refused.body()).getJsonObject("error").getString("code"));

    HttpResponse<String> within = client.send(HttpRequest.newBuilder(schemas).header("X-Big", "b".repeat(7000))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(HttpClient.Version.HTTP_2, within.version());
    assertEquals(200, within.statusCode(), within.body());
  }

  @Test
  @DisplayName("over HTTP/2 by prior knowledge a tracking POST whose headers are over the limit is answered 431 "
      + "headers_too_large with the JSON body and stores nothing; the connection's next POST is stored")
  void trackingPostWithHeadersOverTheLimit() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(new HttpClientOptions()
          .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
          .setDefaultHost("127.0.0.1").setDefaultPort(gateway.get().port()));
      HttpConnection[] connection = new HttpConnection[1];
      Buffer refused = client.request(post().putHeader("X-Big", BIG))
          .compose(request -> request.send(HttpTestClient.pageView("h2-big-headers", "/h2").toBuffer())
              .compose(response -> {
                connection[0] = request.connection();
                assertAnswer(response, 431);
                return response.body();
              }))
          .await(10, TimeUnit.SECONDS);
      assertEquals("headers_too_large", refused.toJsonObject().getJsonObject("error").getString("code"));

      Buffer stored = client.request(post())
          .compose(request -> request.send(HttpTestClient.pageView("h2-after-431", "/h2").toBuffer())
              .compose(response -> {
                assertSame(connection[0], request.connection(), "the same HTTP/2 connection carried the next POST");
                assertAnswer(response, 200);
                return response.body();
              }))
          .await(10, TimeUnit.SECONDS);
      assertEquals(1, stored.toJsonObject().getJsonArray("results").size(), stored.toString());
      assertEquals(0L, gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = 'h2-big-headers'"));
      assertEquals(1L, gateway.db().queryLong("SELECT count(*) FROM events WHERE stream_id = 'h2-after-431'"));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static RequestOptions post() {
    return new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/events")
        .putHeader("Content-Type", "application/json").putHeader("X-Write-Key", TestGateway.WRITE_KEY);
  }

  private static void assertAnswer(HttpClientResponse response, int status) {
    assertEquals(HttpVersion.HTTP_2, response.version());
    assertEquals(status, response.statusCode());
    assertEquals("application/json", response.getHeader("Content-Type"));
  }
}
