package io.flightdeck.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.Map;

/**
 * Request headers over HTTP/2 (h2c) get the limit and the answer they get over HTTP/1.x: over 8 KiB, 431
 * {@code headers_too_large} with the contract's JSON body. Netty's HTTP/2 codec enforces the server's
 * SETTINGS_MAX_HEADER_LIST_SIZE itself while decoding, before any handler sees the request, and answers a bare 431
 * (a HEADERS frame with only {@code :status}, then RST_STREAM); that answer is written inside Netty's
 * {@code Http2ConnectionHandler}, which Vert.x builds, so it cannot be changed without replacing Vert.x's connection
 * handler. The codec is told to accept {@link #CODEC_LIMIT} instead, and the limit is checked here.
 *
 * <p>Headers over {@link #CODEC_LIMIT} still get the codec's bare 431, and a header block whose compressed size is
 * over 1.25 times that closes the connection with GOAWAY (Netty's frame reader), as before at a quarter the size.
 */
final class Http2HeaderLimit {

  /** The limit, as HTTP/1.x's: Vert.x's default maxHeaderSize, which the server keeps. */
  static final int LIMIT = HttpServerOptions.DEFAULT_MAX_HEADER_SIZE;
  /**
   * What Netty's HTTP/2 codec accepts (and the server advertises): room above {@link #LIMIT} for the JSON answer.
   * Headers are held per stream, so this bounds what a stream may hold twice as high as before.
   */
  static final int CODEC_LIMIT = 2 * LIMIT;
  /** RFC 9113 section 6.5.2 (and Netty): each field counts its name, its value and 32 bytes. */
  private static final int FIELD_OVERHEAD = 32;

  private Http2HeaderLimit() {
  }

  /** Sets the codec's limit on the server's HTTP/2 settings. */
  static HttpServerOptions configure(HttpServerOptions options) {
    options.getInitialSettings().setMaxHeaderListSize(CODEC_LIMIT);
    return options;
  }

  /** {@code next}, for requests whose headers are within the limit; the others are answered 431 by {@code failures}. */
  static Handler<HttpServerRequest> around(Handler<HttpServerRequest> next, FailureHandler failures) {
    return request -> {
      if (request.version() == HttpVersion.HTTP_2 && size(request) > LIMIT) {
        failures.headersTooLargeOverHttp2Counted(request);
      } else {
        next.handle(request);
      }
    };
  }

  /** The header list's size as HTTP/2 counts it, pseudo-headers ({@code :path}, ...) included. */
  private static long size(HttpServerRequest request) {
    long size = 0;
    for (Map.Entry<String, String> field : request.headers()) {
      size += field.getKey().length() + field.getValue().length() + FIELD_OVERHEAD;
    }
    return size;
  }
}
