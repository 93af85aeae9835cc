package io.flightdeck.gateway.live;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.HttpServerConnection;

/** Closing a stream whose client stopped reading. */
final class Connections {

  private Connections() {
  }

  /**
   * HTTP/2: reset the stream (the connection and its other streams live on). HTTP/1.x: close the socket at once,
   * discarding what was queued for it; Vert.x's own close would first wait for the queued data to be flushed,
   * which a client that does not read never lets happen (the idle timeout would end it, a minute later). The close
   * starts at Vert.x's handler, as its idle close does, not at the pipeline's tail: there Vert.x 5 takes a close over
   * as its own graceful one.
   */
  static void closeNow(HttpServerRequest request) {
    HttpServerResponse response = request.response();
    if (request.version() == HttpVersion.HTTP_2) {
      response.reset();
    } else if (request.connection() instanceof HttpServerConnection internal) {
      internal.channelHandlerContext().close();
    } else {
      response.reset();
    }
  }
}
