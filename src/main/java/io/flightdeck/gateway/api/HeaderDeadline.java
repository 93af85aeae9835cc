package io.flightdeck.gateway.api;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
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
 * <p>Two handlers around the connection's HTTP/1.x decoder: the one before it sees bytes arrive and starts the
 * clock when no request is under way; the one after it sees the decoded head (stops the clock) and the end of
 * the body (the next bytes belong to the next request). Both run on the connection's event loop.
 *
 * <p>Needs the connection from its first byte, which Vert.x gives only with h2c off (http.http2ClearText, the
 * default): with h2c on, an HTTP/1.x connection reaches the connection handler once its first request head is
 * decoded, so it is not watched (nor counted under http.maxConnections before that). HTTP/2 connections are left
 * to the idle timeout and their stream limit.
 */
final class HeaderDeadline {

  /** The HTTP/1.x request decoder's name in a Vert.x server connection's pipeline. */
  private static final String DECODER = "httpDecoder";
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
    pipeline.addAfter(DECODER, "fdHeadDecoded", watch.heads);
  }

  /** One connection's clock. Only ever touched on that connection's event loop. */
  private final class Watch {

    private boolean inRequest;
    private ScheduledFuture<?> clock;

    final ChannelInboundHandlerAdapter bytes = new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!inRequest && clock == null && msg instanceof ByteBuf buf && buf.isReadable()) {
          clock = ctx.executor().schedule(() -> expire(ctx), timeoutMs, TimeUnit.MILLISECONDS);
        }
        super.channelRead(ctx, msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
      }
    };

    final ChannelInboundHandlerAdapter heads = new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        // a whole request without a body is both the head and its end
        if (msg instanceof HttpRequest) {
          inRequest = true;
          stop();
        }
        if (msg instanceof LastHttpContent) {
          inRequest = false;
        }
        super.channelRead(ctx, msg);
      }
    };

    private void stop() {
      if (clock != null) {
        clock.cancel(false);
        clock = null;
      }
    }

    private void expire(ChannelHandlerContext ctx) {
      clock = null;
      if (inRequest || !ctx.channel().isActive()) {
        return;
      }
      if (!ctx.channel().config().isAutoRead()) {
        // the server stopped reading (pipelined requests wait their turn): the head cannot arrive until it
        // reads again, which is not the client's fault
        clock = ctx.executor().schedule(() -> expire(ctx), timeoutMs, TimeUnit.MILLISECONDS);
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
