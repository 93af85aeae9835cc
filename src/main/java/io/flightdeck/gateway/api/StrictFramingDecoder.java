package io.flightdeck.gateway.api;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpVersion;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerConnection;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Vert.x's HTTP/1.x request decoder, refusing a request whose body framing is ambiguous or unknowable (RFC 9112
 * section 6), where Netty guesses: with both Content-Length and Transfer-Encoding: chunked it drops the length and
 * reads chunks; with chunked anywhere in the list (chunked, gzip) it reads chunks; with a coding but no chunked it
 * reads no body, so the body's bytes become the next request. A proxy in front that frames the same bytes the other
 * way would let a client smuggle a request past it. Such a request is failed while its head is decoded, so Vert.x
 * hands it to {@link FailureHandler#invalidRequest} (the error answered with {@code Connection: close}, then the
 * connection closed) and the decoder discards every byte after it:
 * <ul>
 *   <li>Transfer-Encoding in an HTTP/1.0 request, or with chunked not the last coding, or applied twice: 400
 *       invalid_request (RFC 9112 sections 6.1 and 6.3: the body's length cannot be determined);
 *   <li>a coding before chunked (gzip, chunked): 501 not_implemented, as no other transfer coding is decoded here
 *       (RFC 9112 section 6.1; a compressed body is sent with Content-Encoding: gzip);
 *   <li>Transfer-Encoding: chunked and Content-Length: 400 invalid_request. RFC 9112 section 6.3 allows reading it
 *       as chunked and closing after the answer; refusing it is simpler, and no honest client sends both.
 * </ul>
 * A request without Transfer-Encoding costs one header lookup. Like {@link HeaderDeadline}, only on connections
 * Vert.x hands over before their first byte (h2c off): the decoder is swapped before it has read anything. HTTP/2
 * has no Transfer-Encoding (Netty refuses the header there).
 */
final class StrictFramingDecoder extends VertxHttpRequestDecoder {

  private static final String DECODER = "httpDecoder";
  private static final String H2C_UPGRADE = "h2c";

  private StrictFramingDecoder(HttpServerOptions options) {
    super(options);
  }

  /**
   * Takes the place of Vert.x's decoder on an HTTP/1.x connection just accepted; {@code options} are the server's, so
   * the decoder keeps its limits (request line, headers, chunk size).
   */
  static void install(HttpConnection connection, HttpServerOptions options) {
    if (!(connection instanceof HttpServerConnection internal)) {
      return;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (!(pipeline.get(DECODER) instanceof VertxHttpRequestDecoder) || pipeline.get(H2C_UPGRADE) != null) {
      return;
    }
    pipeline.replace(DECODER, DECODER, new StrictFramingDecoder(options));
  }

  /** Netty asks this once per message, right after its headers are read and before it picks the body's framing. */
  @Override
  protected boolean isContentAlwaysEmpty(HttpMessage msg) {
    if (msg != null && msg.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
      checkTransferCodings(msg);
    }
    return super.isContentAlwaysEmpty(msg);
  }

  /** Netty's hook for a message with Transfer-Encoding: chunked and Content-Length; by default it drops the length. */
  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage msg) {
    throw ApiError.badRequest("invalid_request",
        "a request may not have both Content-Length and Transfer-Encoding (RFC 9112 section 6.3)");
  }

  private static void checkTransferCodings(HttpMessage msg) {
    if (!HttpVersion.HTTP_1_1.equals(msg.protocolVersion())) {
      throw ApiError.badRequest("invalid_request", "Transfer-Encoding is not HTTP/1.0: send a Content-Length");
    }
    List<String> codings = codings(msg.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING));
    int last = codings.size() - 1;
    if (last < 0 || !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(codings.get(last))) {
      throw ApiError.badRequest("invalid_request", "the last transfer coding must be chunked (RFC 9112 section 6.3)");
    }
    List<String> others = names(codings.subList(0, last));
    if (others.stream().anyMatch(HttpHeaderValues.CHUNKED::contentEqualsIgnoreCase)) {
      throw ApiError.badRequest("invalid_request", "the chunked transfer coding is applied more than once");
    }
    if (!others.isEmpty()) {
      throw new ApiError(501, "not_implemented", "Transfer-Encoding " + String.join(", ", others)
          + " is not supported: only chunked is (a gzip body is sent with Content-Encoding: gzip)");
    }
  }

  /** The elements of Transfer-Encoding's lines, in order, trimmed, without empty list elements (RFC 9110 5.6.1). */
  private static List<String> codings(List<String> lines) {
    List<String> codings = new ArrayList<>(2);
    for (String line : lines) {
      for (String element : line.split(",", -1)) {
        String coding = element.trim();
        if (!coding.isEmpty()) {
          codings.add(coding);
        }
      }
    }
    return codings;
  }

  /** The codings' names, without their parameters ({@code gzip} for {@code gzip;q=1}). */
  private static List<String> names(List<String> codings) {
    return codings.stream().map(c -> c.indexOf(';') < 0 ? c : c.substring(0, c.indexOf(';')).trim()).toList();
  }
}
