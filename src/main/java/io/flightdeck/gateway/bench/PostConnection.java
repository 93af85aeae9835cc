package io.flightdeck.gateway.bench;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection of the load generator: it writes a prepared POST and parses of the answer
 * only what the benchmark reads (status, {@code Content-Length}, {@code Connection: close}, the body), the way
 * wrk does. A general HTTP client spends several times the CPU per request on headers, pools and timers, and on
 * 2 shared cores that CPU is taken from the gateway and PostgreSQL under test. One request at a time (no
 * pipelining); not thread-safe: it lives on its lane's event loop.
 */
final class PostConnection {

  /** A complete answer. */
  record Answer(int status, Buffer body) {
  }

  private static final byte[] CONTENT_LENGTH = "content-length:".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONNECTION_CLOSE = "connection: close".getBytes(StandardCharsets.US_ASCII);

  private final NetSocket socket;
  private Buffer pending = Buffer.buffer();
  private Handler<AsyncResult<Answer>> waiting;
  private boolean closed;
  private boolean closeAfterAnswer;

  private PostConnection(NetSocket socket) {
    this.socket = socket;
    socket.handler(this::received);
    socket.closeHandler(v -> {
      closed = true;
      fail("connection closed before the answer was complete");
    });
    socket.exceptionHandler(e -> {
      fail(e.getClass().getSimpleName() + ": " + e.getMessage());
      socket.close();
    });
  }

  /** Opens a connection; {@code client} carries the idle timeout that ends a request the gateway never answers. */
  static Future<PostConnection> open(NetClient client, int port, String host) {
    return client.connect(port, host).map(PostConnection::new);
  }

  /**
   * What every POST of a lane starts with, up to the value of Content-Length: request line and headers as a
   * browser's client would send them ({@code headers} as name, value, name, value, ...).
   */
  static Buffer prefix(String host, int port, String path, String[] headers) {
    StringBuilder sb = new StringBuilder(256)
        .append("POST ").append(path).append(" HTTP/1.1\r\n")
        .append("Host: ").append(host).append(':').append(port).append("\r\n");
    for (int i = 0; i < headers.length; i += 2) {
      sb.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
    }
    return Buffer.buffer(sb.append("Content-Length: ").toString());
  }

  /** A whole request: the {@link #prefix} and {@code body}, with the body's length between them. */
  static Buffer request(Buffer prefix, Buffer body) {
    return prefix.copy().appendString(Integer.toString(body.length())).appendString("\r\n\r\n")
        .appendBuffer(body);
  }

  /** Usable for another request: open, no answer outstanding, and the gateway did not ask to close. */
  boolean reusable() {
    return !closed && !closeAfterAnswer && waiting == null;
  }

  /** Writes one request; {@code done} gets its answer or the connection's failure, once. */
  void post(Buffer request, Handler<AsyncResult<Answer>> done) {
    if (waiting != null) {
      throw new IllegalStateException("one request at a time");
    }
    waiting = done;
    socket.write(request);
  }

  void close() {
    socket.close();
  }

  private void received(Buffer data) {
    pending = pending.length() == 0 ? data : pending.appendBuffer(data);
    int headEnd = indexOfHeadEnd(pending);
    if (headEnd < 0) {
      return;
    }
    int bodyStart = headEnd + 4;
    int length = contentLength(pending, headEnd);
    if (length < 0) {
      fail("answer without Content-Length: " + pending.getString(0, Math.min(headEnd, 200)));
      socket.close();
      return;
    }
    if (pending.length() < bodyStart + length) {
      return;
    }
    int status = status(pending);
    closeAfterAnswer = indexOfIgnoreCase(pending, headEnd, CONNECTION_CLOSE) >= 0;
    Buffer body = pending.getBuffer(bodyStart, bodyStart + length);
    boolean extra = pending.length() > bodyStart + length;
    pending = Buffer.buffer();
    if (extra) {
      fail("bytes after the answer, without a request");
      socket.close();
      return;
    }
    Handler<AsyncResult<Answer>> done = waiting;
    waiting = null;
    if (closeAfterAnswer) {
      socket.close();
    }
    if (done != null) {
      done.handle(Future.succeededFuture(new Answer(status, body)));
    }
  }

  private void fail(String message) {
    Handler<AsyncResult<Answer>> done = waiting;
    waiting = null;
    if (done != null) {
      done.handle(Future.failedFuture(new IllegalStateException(message)));
    }
  }

  private static int indexOfHeadEnd(Buffer b) {
    for (int i = 0, n = b.length() - 3; i < n; i++) {
      if (b.getByte(i) == '\r' && b.getByte(i + 1) == '\n' && b.getByte(i + 2) == '\r' && b.getByte(i + 3) == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** "HTTP/1.1 200 OK": the three digits after the first space. */
  private static int status(Buffer b) {
    int i = 0;
    while (b.getByte(i) != ' ') {
      i++;
    }
    return (b.getByte(i + 1) - '0') * 100 + (b.getByte(i + 2) - '0') * 10 + (b.getByte(i + 3) - '0');
  }

  private static int contentLength(Buffer b, int headEnd) {
    int at = indexOfIgnoreCase(b, headEnd, CONTENT_LENGTH);
    if (at < 0) {
      return -1;
    }
    int i = at + CONTENT_LENGTH.length;
    while (b.getByte(i) == ' ') {
      i++;
    }
    int value = 0;
    for (byte c; (c = b.getByte(i)) >= '0' && c <= '9'; i++) {
      value = value * 10 + (c - '0');
    }
    return value;
  }

  /** Where {@code lowerCase} starts a header line before {@code end}, ASCII case ignored; -1 if nowhere. */
  private static int indexOfIgnoreCase(Buffer b, int end, byte[] lowerCase) {
    for (int i = 0; i + lowerCase.length <= end; i++) {
      if (i > 0 && b.getByte(i - 1) != '\n') {
        continue;
      }
      int j = 0;
      while (j < lowerCase.length && Character.toLowerCase(b.getByte(i + j)) == lowerCase[j]) {
        j++;
      }
      if (j == lowerCase.length) {
        return i;
      }
    }
    return -1;
  }
}
