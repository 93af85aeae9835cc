package io.flightdeck.gateway.live;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.HttpServerConnection;

/** The socket under a stream: keeping its unsent bytes in sight, closing it when its client stopped reading. */
final class Connections {

  /** What the kernel may hold unsent for a paced HTTP/1.x stream, about: see {@link #limitKernelUnsent}. */
  static final long KERNEL_UNSENT_BYTES = 16 * 1024;
  private static final String NOTSENT_LOWAT = "io.netty.channel.epoll.EpollChannelOption#TCP_NOTSENT_LOWAT";

  private Connections() {
  }

  /**
   * With {@code limit}, keeps what the kernel holds unsent on the stream's HTTP/1.x socket to about
   * {@link #KERNEL_UNSENT_BYTES} (TCP_NOTSENT_LOWAT, epoll transport); without, the kernel's default again. A paced
   * stream sees its client's progress only by its writes completing, and a write completes once the kernel took it:
   * left alone, the kernel's send buffer grows to megabytes and takes more only once about a third of it is free,
   * so a client taking hundreds of KB/s could show no progress for seconds. With the limit a write completes about
   * as soon as the client took as much. HTTP/2 streams share their socket, so theirs is left as it is; so is one on
   * Java's NIO transport, which has no such option.
   */
  static void limitKernelUnsent(HttpServerRequest request, boolean limit) {
    // the epoll transport's option, by name: its class is there only at run time (and only on Linux)
    if (request.version() != HttpVersion.HTTP_2 && request.connection() instanceof HttpServerConnection internal
        && ChannelOption.exists(NOTSENT_LOWAT)) {
      ChannelOption<Long> lowat = ChannelOption.valueOf(NOTSENT_LOWAT);
      Channel channel = internal.channelHandlerContext().channel();
      try {
        // 0: the system's default (net.ipv4.tcp_notsent_lowat, unlimited unless set); a NIO channel ignores it
        channel.config().setOption(lowat, limit ? KERNEL_UNSENT_BYTES : 0L);
      } catch (ChannelException e) {
        // the socket closed meanwhile: its close handler ends the stream
      }
    }
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
