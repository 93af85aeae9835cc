package io.flightdeck.gateway.api;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.HttpServerConnection;
import java.util.concurrent.TimeUnit;

/**
 * Answers an HTTP/1.x request whose chunked body cannot be framed (a chunk size that is not a hex number, a trailer
 * over the header limit) with the contract's JSON error, 400 or 431, then closes the connection. Vert.x closes
 * such a connection without a word: the client (an SDK posting a batch) gets a reset it cannot tell from a network
 * failure, and retries the same broken body. The request head parsed, so Vert.x's invalid-request handler (which
 * answers heads that do not parse) never sees it. Only when that request's answer has not begun and no earlier
 * pipelined one is still owed: otherwise the connection is closed as before, as an answer then would be taken for
 * another request's, once what was answered already is flushed. Sits right after the HTTP codec, where decoded
 * parts come in and whole responses go out; like {@link HeaderDeadline}, only on connections Vert.x hands over from
 * their first byte (h2c off).
 */
final class BadChunkAnswer extends ChannelDuplexHandler {

  private static final String ENCODER = "httpEncoder";
  private static final String H2C_UPGRADE = "h2c";

  /** Requests read whose final answer has not been written in full. */
  private int unanswered;
  /** The head of the oldest unanswered request's final answer has been written. */
  private boolean answering;

  static void watch(HttpConnection connection) {
    if (!(connection instanceof HttpServerConnection internal)) {
      return;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (pipeline.get(ENCODER) == null || pipeline.get(H2C_UPGRADE) != null) {
      return;
    }
    pipeline.addAfter(ENCODER, "fdBadChunk", new BadChunkAnswer());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (msg instanceof HttpRequest) {
      unanswered++;
    } else if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
      if (unanswered == 1 && !answering) {
        Throwable cause = content.decoderResult().cause();
        ReferenceCountUtil.release(msg);
        answer(ctx, cause);
        return;
      }
      // Vert.x closes the connection on this failure, and a close drops whatever was written and not yet flushed:
      // an answer given before the body was read (401, 415) to a head that arrived in the same packet as this
      // chunk is written during this read and flushed only at its end, so without this it never left
      ctx.flush();
    }
    super.channelRead(ctx, msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    // an interim answer (100 Continue) is neither the final answer's head nor its end
    boolean interim = msg instanceof HttpResponse response
        && response.status().codeClass() == HttpStatusClass.INFORMATIONAL;
    if (!interim) {
      if (msg instanceof HttpResponse) {
        answering = true;
      }
      if (msg instanceof LastHttpContent && unanswered > 0) {
        unanswered--;
        answering = false;
      }
    }
    super.write(ctx, msg, promise);
  }

  private void answer(ChannelHandlerContext ctx, Throwable cause) {
    // Netty reports a trailer over its header limit as a frame too long (TooLongHttpHeaderException)
    ApiError error = cause instanceof TooLongFrameException
        ? new ApiError(431, "headers_too_large", "the request trailers are larger than the limit")
        : ApiError.badRequest("invalid_request", "the request body's chunked framing is not valid HTTP");
    byte[] body = error.body().toBuffer().getBytes();
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(error.status()), Unpooled.wrappedBuffer(body));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
        .set(HttpHeaderNames.CONNECTION, "close")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    answering = true;
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    // a client that does not read its answer gets the close a second later anyway
    ctx.executor().schedule(() -> ctx.channel().close(), 1, TimeUnit.SECONDS);
  }
}
