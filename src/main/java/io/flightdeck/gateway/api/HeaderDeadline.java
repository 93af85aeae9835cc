package io.flightdeck.gateway.api;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.HttpServerConnection;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The request-head deadline of HTTP/1.x connections (Go's ReadHeaderTimeout, nginx's client_header_timeout):
 * once the first byte of a request arrives, its whole head (request line and headers) must follow within
 * {@code timeoutMs}, else the client gets 408 and the connection is closed. The idle timeout alone cannot do
 * this: it restarts on every byte, so a client sending its headers a byte at a time (slowloris) would hold a
 * connection, and a slot under http.maxConnections, for as long as it likes. Waiting between requests is not
 * limited here (the idle timeout does that), and a request's body has its own deadline (http.bodyReadTimeoutMs).
 *
 * <p>Two handlers around the connection's HTTP/1.x codec: the one before the decoder sees bytes arrive and starts
 * the clock when no request is under way; the one after the encoder sees the decoded head (stops the clock), the
 * end of the body (the next bytes belong to the next request) and the end of each response (a pipelined head
 * waiting behind an answer in progress is not late). Both run on the connection's event loop.
 *
 * <p>Needs the connection from its first byte, which Vert.x gives only with h2c off (http.http2ClearText, the
 * default): with h2c on, an HTTP/1.x connection reaches the connection handler once its first request head is
 * decoded, so it is not watched (nor counted under http.maxConnections before that). HTTP/2 connections are left
 * to the idle timeout and their stream limit.
 */
final class HeaderDeadline {

  /** The HTTP/1.x request decoder's name in a Vert.x server connection's pipeline. */
  private static final String DECODER = "httpDecoder";
  /** Its response encoder: a handler after it sees decoded requests coming in and whole responses going out. */
  private static final String ENCODER = "httpEncoder";
  /** The handler that looks for an h2c upgrade in a connection's first request head (http.http2ClearText on). */
  private static final String H2C_UPGRADE = "h2c";

  private final long timeoutMs;
  private final Runnable onExpiry;

  /** {@code onExpiry} runs (on the event loop) for each connection closed because its head came too late. */
  HeaderDeadline(long timeoutMs, Runnable onExpiry) {
    this.timeoutMs = timeoutMs;
    this.onExpiry = onExpiry;
  }

  /** Starts watching a connection just accepted; HTTP/2 and h2c-capable connections are left alone. */
  void watch(HttpConnection connection) {
    if (!(connection instanceof HttpServerConnection internal)) {
      return;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (pipeline.get(DECODER) == null || pipeline.get(H2C_UPGRADE) != null) {
      return;
    }
    Watch watch = new Watch();
    pipeline.addBefore(DECODER, "fdHeadBytes", watch.bytes);
    pipeline.addAfter(ENCODER, "fdHeadDecoded", watch.heads);
  }

  /** One connection's clock. Only ever touched on that connection's event loop. */
  private final class Watch {

    private boolean inRequest;
    /** Requests whose response has not been written in full yet (pipelining allows several). */
    private int unanswered;
    private ScheduledFuture<?> clock;
    /** The context of the handler before the decoder: where the clock runs and the 408 is written from. */
    private ChannelHandlerContext raw;

    final ChannelInboundHandlerAdapter bytes = new ChannelInboundHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        raw = ctx;
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!inRequest && clock == null && msg instanceof ByteBuf buf && buf.isReadable()) {
          start();
        }
        super.channelRead(ctx, msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
      }
    };

    final ChannelDuplexHandler heads = new ChannelDuplexHandler() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        // a whole request without a body is both the head and its end
        if (msg instanceof HttpRequest) {
          inRequest = true;
          unanswered++;
          stop();
        }
        if (msg instanceof LastHttpContent) {
          inRequest = false;
        }
        super.channelRead(ctx, msg);
      }

      @Override
      public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        // a response's end (or a whole response)
        if (msg instanceof LastHttpContent && unanswered > 0) {
          unanswered--;
          if (unanswered == 0 && clock != null) {
            // a pipelined head waited behind this answer: its client may have held the rest back until it read
            // the answer, so the head gets a whole deadline from now, not what is left of one begun earlier
            stop();
            start();
          }
        }
        super.write(ctx, msg, promise);
      }
    };

    private void start() {
      clock = raw.executor().schedule(this::expire, timeoutMs, TimeUnit.MILLISECONDS);
    }

    private void stop() {
      if (clock != null) {
        clock.cancel(false);
        clock = null;
      }
    }

    private void expire() {
      ChannelHandlerContext ctx = raw;
      clock = null;
      if (inRequest || !ctx.channel().isActive()) {
        return;
      }
      if (unanswered > 0 || !ctx.channel().config().isAutoRead()) {
        // the next head waits behind a request still being answered (pipelining), or the server stopped
        // reading: not the client's fault, and a 408 now would land before the pending answer
        start();
        return;
      }
      onExpiry.run();
      byte[] body = new ApiError(408, "request_timeout",
          "the request head did not arrive within " + timeoutMs + " ms").body().encode()
          .getBytes(StandardCharsets.UTF_8);
      String head = "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
          + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n";
      // written below the HTTP encoder (this handler sits before the decoder): raw bytes, then the close; a
      // client that does not read its answer gets the close a second later anyway
      ctx.writeAndFlush(Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body))
          .addListener(ChannelFutureListener.CLOSE);
      ctx.executor().schedule(() -> ctx.channel().close(), 1, TimeUnit.SECONDS);
    }
  }
}
